import { readFile } from 'node:fs/promises';
import { defaultSecretEnv } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { defaultCacheDir } from '../config/cache-dir.ts';
import { createHubLocker } from '../service/lock.ts';
import { startService } from '../service/serve.ts';
import type { CommandContext } from './io.ts';
import { repoUrlOf } from './repo-wiring.ts';
import { createDeployReporter } from '../health/deploy-report.ts';
import { createSyncDeps } from './wiring.ts';
import { rolloutHealthFrom } from './rollout-wiring.ts';
import { fileNodeMemo } from '../health/node-memo.ts';
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
export async function runServe(options: ServeCommandOptions, context: CommandContext & { signals?: NodeJS.EventEmitter }): Promise<number> {
  const { io, logger, secrets } = context;
  const signals = context.signals ?? process;
  const env = io.env;
  const secretEnv = defaultSecretEnv(secrets, env);
  const webhookToken = await readWebhookToken(env);
  secrets.add(webhookToken);
  // Made per run, so a run's signal reaches its query, git and GitHub, and credentials are read afresh.
  // Rollouts are paced by health where a cluster is configured (KUBECONFIG or in-cluster): each sync takes the free slots.
  const rolloutHealth = rolloutHealthFrom({ env, useHomeConfig: false, logger, registry: secrets, clock: Date.now, memo: fileNodeMemo(defaultCacheDir(env)) });
  const syncDeps = (signal: AbortSignal) => ({ ...createSyncDeps({ logger, dryRun: false, diff: false, out: io.out, env, secrets, signal }), rolloutHealth });
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
      listen: parseListen(options.listen),
      graceMs: options.grace * 1000,
      abortWaitMs: ABORT_WAIT_MS,
      readyFailureMs: options.readyAfter * 1000,
      debounceMs: DEBOUNCE_MS,
      maxDebounceMs: MAX_DEBOUNCE_MS,
      watchFiles: options.watch,
      readBackIntervalMs: options.readBackInterval * 1000,
      httpCloseMs: HTTP_CLOSE_MS,
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
  if (match === null || !Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--listen ${JSON.stringify(text)}: expected HOST:PORT, like 0.0.0.0:8080`);
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

async function readWebhookToken(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  // Trimmed as the _FILE form is: a Secret or a shell often adds a newline, and a token with one could never match.
  if (env.LYNQ_WEBHOOK_TOKEN !== undefined && env.LYNQ_WEBHOOK_TOKEN.trim() !== '') return checkToken(env.LYNQ_WEBHOOK_TOKEN.trim(), 'LYNQ_WEBHOOK_TOKEN');
  const file = env.LYNQ_WEBHOOK_TOKEN_FILE;
  if (file === undefined || file === '') return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ConfigError('cannot read the webhook token (LYNQ_WEBHOOK_TOKEN_FILE)', { file }, { cause });
  }
  return checkToken(text.trim(), `LYNQ_WEBHOOK_TOKEN_FILE ${file}`);
}

function checkToken(token: string, from: string): string {
  // A short token can be guessed, and the scrubber ignores values under 4 characters.
  if (token.length < 16) throw new ConfigError(`the webhook token from ${from} is shorter than 16 characters`);
  // A bearer token is one word: one with a space or a control character inside could never be sent, so no call would ever pass.
  if (/[\s\p{Cc}]/u.test(token)) throw new ConfigError(`the webhook token from ${from} has a space or control character inside: it must be one word`);
  return token;
}
