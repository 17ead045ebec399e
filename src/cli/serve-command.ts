import { readFile } from 'node:fs/promises';
import { defaultSecretEnv } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { defaultCacheDir } from '../config/cache-dir.ts';
import { createHubLocker } from '../service/lock.ts';
import { startService } from '../service/serve.ts';
import { isLoopback } from '../web/auth.ts';
import type { CommandContext } from './io.ts';
import { repoUrlOf } from './repo-wiring.ts';
import { createDeployReporter } from '../health/deploy-report.ts';
import { createSyncDeps } from './wiring.ts';
import { lazyKubeClient } from './kube-wiring.ts';
import { pausedLynqNodesFrom } from './pause-wiring.ts';
import { rolloutHealthFrom } from './rollout-wiring.ts';
import { fileNodeMemo } from '../health/node-memo.ts';
import { fileStatusMemo } from '../health/status-memo.ts';
import { serviceReadBack } from '../sync/read-back.ts';
import { statusTableWriter } from './status-wiring.ts';

export type ServeCommandOptions = {
  hubs: string;
  forms: string;
  hub?: string;
  listen: string;
  grace: number;
  readyAfter: number;
  watch: boolean;
  readBackInterval: number;
  /** The read-only web view (also LYNQ_UI=1). */
  ui?: boolean;
};

/** How long serve waits for aborted syncs to unwind before it exits anyway. */
const ABORT_WAIT_MS = 10_000;
/** At shutdown, how long HTTP requests in flight may go on before their connections are closed. */
const HTTP_CLOSE_MS = 5_000;
/** After "stopped", how long anything still open (a socket a server never closed) may keep the process before it exits anyway. */
const EXIT_WAIT_MS = 2_000;
/** A burst of notifications or webhook calls is one sync once quiet for DEBOUNCE_MS, or MAX_DEBOUNCE_MS after its first. */
const DEBOUNCE_MS = 100;
const MAX_DEBOUNCE_MS = 10_000;

/**
 * `lynq serve` until SIGTERM or SIGINT (then exit 0 once running syncs ended or were
 * aborted); SIGHUP reloads the hub and form files.
 */
export async function runServe(
  options: ServeCommandOptions,
  context: CommandContext & { signals?: NodeJS.EventEmitter },
): Promise<number> {
  const { io, logger, secrets } = context;
  const signals = context.signals ?? process;
  const env = io.env;
  const secretEnv = defaultSecretEnv(secrets, env);
  const webhookToken = await readToken(
    { value: env.LYNQ_WEBHOOK_TOKEN, file: env.LYNQ_WEBHOOK_TOKEN_FILE },
    'LYNQ_WEBHOOK_TOKEN',
    'webhook token',
  );
  secrets.add(webhookToken);
  const listen = parseListen(options.listen);
  const ui = await uiSettings(options.ui === true || isOn(env.LYNQ_UI), env, listen.host);
  secrets.add(ui?.token);
  // Made per run, so a run's signal reaches its query, git and GitHub, and credentials are read afresh.
  // Rollouts are paced by health where a cluster is configured (KUBECONFIG or in-cluster): each sync takes the free slots.
  const kube = lazyKubeClient({ env, useHomeConfig: false, logger, registry: secrets });
  const rolloutHealth = rolloutHealthFrom(kube, { logger, clock: Date.now, memo: fileNodeMemo(defaultCacheDir(env)) });
  // Hubs with spec.gitops.pauseFromLynqNode read their LynqNodes' pause annotations from the same cluster before each plan.
  const pausedLynqNodes = pausedLynqNodesFrom(kube);
  const syncDeps = (signal: AbortSignal) => ({
    ...createSyncDeps({ logger, dryRun: false, diff: false, out: io.out, env, secrets, signal }),
    rolloutHealth,
    pausedLynqNodes,
  });
  // The read-back, where a cluster is configured (KUBECONFIG or in-cluster): after each sync and every --read-back-interval.
  const { openRepo, openForge } = createSyncDeps({ logger, dryRun: false, diff: false, out: io.out, env, secrets });
  const readBack = serviceReadBack({
    env,
    logger,
    registry: secrets,
    openRepo,
    statusTable: statusTableWriter(env, logger, secrets),
    clock: Date.now,
    memo: fileNodeMemo(defaultCacheDir(env)),
    reportDeploys: openForge === undefined ? undefined : createDeployReporter(openForge, logger),
  });
  const service = await startService(
    {
      hubsDir: options.hubs,
      formsDir: options.forms,
      hub: options.hub,
      listen,
      graceMs: options.grace * 1000,
      abortWaitMs: ABORT_WAIT_MS,
      readyFailureMs: options.readyAfter * 1000,
      debounceMs: DEBOUNCE_MS,
      maxDebounceMs: MAX_DEBOUNCE_MS,
      watchFiles: options.watch,
      readBackIntervalMs: options.readBackInterval * 1000,
      httpCloseMs: HTTP_CLOSE_MS,
      ui,
    },
    {
      logger,
      syncDeps,
      locker: createHubLocker({ secretEnv, logger, cacheDir: defaultCacheDir(env) }),
      sourceDeps: { secretEnv, logger },
      // A hub without a repository fails its own sync with the ConfigError; for ordering it is its own key.
      repoKey: (hub) => {
        try {
          return repoUrlOf(hub, undefined);
        } catch {
          return `hub:${hub.name}`;
        }
      },
      webhookToken,
      readBack,
      openRepo,
      statusMemo: (hub) => fileStatusMemo(defaultCacheDir(env)).latest!(hub),
    },
  );
  io.err.write(`lynq serve: listening on http://${service.address.address}:${service.address.port}\n`);

  const onHup = (): void => void service.reload();
  signals.on('SIGHUP', onHup);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      signals.off('SIGTERM', onTerm);
      signals.off('SIGINT', onInt);
      logger.info({ signal }, 'stopping: no new syncs; waiting for running ones');
      resolve();
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    signals.on('SIGTERM', onTerm);
    signals.on('SIGINT', onInt);
  });
  signals.off('SIGHUP', onHup);
  const ended = await service.stop();
  if (!ended) logger.error({}, 'some syncs did not end after being aborted; exiting anyway');
  logger.info({ clean: ended }, 'stopped');
  // Everything serve started is stopped or bounded; should anything still hold the process (a connection a
  // peer never closed), it exits anyway, saying what was left. Only for real signals: a test's in-process serve is not ours to end.
  if (context.signals === undefined) {
    setTimeout(() => {
      logger.warn({ open: process.getActiveResourcesInfo() }, 'still open after stopping; exiting anyway');
      process.exit(process.exitCode ?? 0);
    }, EXIT_WAIT_MS).unref();
  }
  return 0;
}

/** `HOST:PORT`, `:PORT` or `PORT`; IPv6 as `[::]:PORT`. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):?(\d+)$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (match === null || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`--listen ${JSON.stringify(text)}: expected HOST:PORT, like 0.0.0.0:8080`);
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

/**
 * The web view's settings, or none when it is off. On an address other than loopback it
 * needs a token (LYNQ_UI_TOKEN or LYNQ_UI_TOKEN_FILE): serve refuses to start without one
 * rather than show the fleet to the network.
 */
async function uiSettings(
  on: boolean,
  env: NodeJS.ProcessEnv,
  host: string,
): Promise<{ token: string | undefined } | undefined> {
  if (!on) return undefined;
  const token = await readToken(
    { value: env.LYNQ_UI_TOKEN, file: env.LYNQ_UI_TOKEN_FILE },
    'LYNQ_UI_TOKEN',
    'web view token',
  );
  if (token === undefined && !isLoopback(host)) {
    throw new ConfigError(
      `--ui on ${host} (not a loopback address) needs a token: set LYNQ_UI_TOKEN (or LYNQ_UI_TOKEN_FILE) to 16 characters or more, or listen on 127.0.0.1 (--listen 127.0.0.1:8080)`,
    );
  }
  return { token };
}

/** `1`, `true`, `yes`, `on` in any case. */
function isOn(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

/** A token from the variable `name` (its value), or from the file `name_FILE` names; undefined when neither is set. */
async function readToken(
  from: { value: string | undefined; file: string | undefined },
  name: string,
  what: string,
): Promise<string | undefined> {
  // Trimmed as the _FILE form is: a Secret or a shell often adds a newline, and a token with one could never match.
  const { value, file } = from;
  if (value !== undefined && value.trim() !== '') return checkToken(value.trim(), what, name);
  if (file === undefined || file === '') return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read the ${what} (${name}_FILE)`, { file }, { cause });
  }
  return checkToken(text.trim(), what, `${name}_FILE ${file}`);
}

function checkToken(token: string, what: string, from: string): string {
  // A short token can be guessed, and the scrubber ignores values under 4 characters.
  if (token.length < 16) throw new ConfigError(`the ${what} from ${from} is shorter than 16 characters`);
  // A bearer token is one word: one with a space or a control character inside could never be sent, so no call would ever pass.
  if (/[\s\p{Cc}]/u.test(token))
    throw new ConfigError(`the ${what} from ${from} has a space or control character inside: it must be one word`);
  return token;
}
