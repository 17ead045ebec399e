import { Command, CommanderError, InvalidArgumentError } from 'commander';
import {
  ConfigError,
  ForgeError,
  GitError,
  InternalError,
  isLynqError,
  KubeError,
  messageOf,
  RenderError,
  SourceError,
} from '../errors.ts';
import { createLogger, SecretRegistry } from '../logger.ts';
import { versionText } from '../version.ts';
import { logLevelOf, positiveInteger } from './arguments.ts';
import type { Io } from './io.ts';
import { EXIT_CONFIG, EXIT_INTERNAL, EXIT_NOT_PUBLISHED, EXIT_PARTIAL } from './exit-codes.ts';

// Each command's module is imported when the command runs, so a command loads only what
// it uses (`lynq history` answers in well under a second; sync pulls in databases and GitHub).

// Kept in step with docs/cli.md by test/help-readme.test.ts.
const HELP_AFTER = `
Environment:
  LYNQ_LOG_LEVEL    trace, debug, info, warn (default; info for serve), error, fatal, silent
  LYNQ_CACHE_DIR    the cache clone and the checked seals (default ~/.cache/lynq)
  LYNQ_SECRETS_DIR  where passwordRef { name, key } reads <name>/<key> (default /var/run/secrets/lynq)
  LYNQ_WEBHOOK_TOKEN       lynq serve: the bearer token of POST /hooks/sync/<hub> (without it, or the file, the hook is off)
  LYNQ_WEBHOOK_TOKEN_FILE  lynq serve: a file holding that token
  LYNQ_UI                  lynq serve: 1 turns the web view on, as --ui does
  LYNQ_UI_TOKEN            lynq serve: the web view's token (needed unless --listen is a loopback address)
  LYNQ_UI_TOKEN_FILE       lynq serve: a file holding that token
  LYNQ_METRICS_FILE        lynq sync: where to write the run's series (node_exporter textfile collector)
  LYNQ_PUSHGATEWAY_URL     lynq sync: push the run's series to this Pushgateway (job lynq-sync)
  LYNQ_KUBE_TIMEOUT  seconds one Kubernetes API request may take, reply included (default 30)
  LYNQ_DB_TIMEOUT    seconds a sync-lock or LISTEN statement, their heartbeat, or closing a database session may take (default 10)

Exit codes:
  0  all good (including nothing to change)
  1  some nodes failed or are conflicted, removals were held back, or changes are blocked
  2  usage or config error (a hub or form file, a template, a flag, an environment variable)
  3  the database, git, GitHub or the cluster failed: nothing published (or read) for that hub
  70 a bug in the bridge (an internal error, with its stack)
`;

const defaultIo = (): Io => ({
  out: process.stdout,
  err: process.stderr,
  env: process.env,
  isTty: Boolean(process.stderr.isTTY),
});

/**
 * The only place that turns errors into exit codes: 0 all good; 1 some nodes failed,
 * deletions were held back, or changes are blocked from their pull request; 2 usage or
 * config error; 3 nothing published because the source, git or the pull request failed;
 * 70 a bug in the bridge (an internal error).
 */
export async function main(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  let code = 0;
  let level: string;
  try {
    // A service logs a line per sync by default; a command run by hand only what needs a reader.
    level = logLevelOf(io.env, argv[0] === 'serve' ? 'info' : 'warn');
  } catch (error) {
    io.err.write(`lynq: ${messageOf(error)}\n`);
    return EXIT_CONFIG;
  }
  const secrets = new SecretRegistry();
  const logger = createLogger({ level, registry: secrets, destination: io.log });
  const context = { io, logger, secrets };
  const program = new Command('lynq')
    .description('Database rows rendered into per-node Kubernetes manifests in Git (Lynq through GitOps).')
    .version(versionText())
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out.write(text), writeErr: (text) => io.err.write(text) })
    .showHelpAfterError()
    .addHelpText('after', HELP_AFTER);

  const dirs = (command: Command): Command =>
    command
      .option('--hubs <dir>', 'folder of LynqHub files', 'hubs')
      .option('--forms <dir>', 'folder of LynqForm files', 'forms');

  dirs(program.command('sync').description('sync every hub (or one) once: render, commit, push'))
    .option('--hub <name>', 'only this hub')
    .option('--repo <url-or-path>', 'manifests repository, instead of spec.publish.repo')
    .option('--dry-run', 'print the plan per node and write nothing')
    .option('--diff', 'with --dry-run: print the diff too (without --dry-run it is a usage error)')
    .option('--allow-deletions', 'remove nodes even beyond the deletion guard')
    .option(
      '--kubeconfig <file>',
      'read health back from this cluster after publishing (else KUBECONFIG, or in-cluster)',
    )
    .option('--context <name>', 'the kubeconfig context to use')
    .option(
      '--wait-lock <seconds>',
      'when another process is syncing a hub, wait up to this long for it (default: skip that hub)',
      parseSeconds,
    )
    .option(
      '--metrics-file <file>',
      "write the run's series for node_exporter's textfile collector (else LYNQ_METRICS_FILE)",
    )
    .action(async (options, command: Command) => {
      // A sync that publishes prints no diff; saying nothing about a --diff it ignores would mislead.
      if (options.diff && !options.dryRun)
        command.error(
          'error: --diff shows what a dry run would change: use it with --dry-run (lynq sync --dry-run --diff)',
          { exitCode: EXIT_CONFIG },
        );
      code = await (await import('./sync-command.ts')).runSync(
        {
          ...options,
          dryRun: Boolean(options.dryRun),
          diff: Boolean(options.diff),
          allowDeletions: Boolean(options.allowDeletions),
        },
        context,
      );
    });

  dirs(
    program
      .command('serve')
      .description(
        'run every hub on its schedule, on PostgreSQL notifications and a webhook; /healthz, /readyz, /metrics',
      ),
  )
    .option('--hub <name>', 'only this hub')
    .option('--listen <host:port>', 'where the HTTP side listens', '0.0.0.0:8080')
    .option(
      '--grace <seconds>',
      'on SIGTERM, how long a running sync may finish before it is aborted',
      parseSeconds,
      30,
    )
    .option('--ready-after <seconds>', '/readyz fails once a hub has been failing this long', parseSeconds, 600)
    .option('--no-watch', 'reload the hub and form files only on SIGHUP, not when they change')
    .option(
      '--read-back-interval <seconds>',
      'read hubs with an engine back from the cluster this often between syncs (and after each sync)',
      parsePositiveSeconds,
      60,
    )
    .option(
      '--ui',
      'serve the read-only web view (fleet, hubs, forms, nodes) on the same address; a token is needed unless it is loopback',
    )
    .action(async (options) => {
      code = await (await import('./serve-command.ts')).runServe(options, context);
    });

  dirs(
    program
      .command('validate')
      .description(
        'check every hub and form file, compile every template, check every DAG, and what a sync here needs (secrets, a local repository)',
      ),
  )
    .option('--repo <url-or-path>', 'check as a sync with this --repo would')
    .option(
      '--files-only',
      "check the files alone, not this machine's secrets and local repository (for CI that checks files without the runtime environment)",
    )
    .option('--connect', "also read each hub's rows once and check the mapped columns and uids (nothing is written)")
    .action(async (options) => {
      code = await (await import('./validate-command.ts')).runValidate(options, context);
    });

  dirs(
    program
      .command('render')
      .description("print one node's manifests, from its database row")
      .argument('<node>', 'hub/form/uid'),
  ).action(async (node: string, options) => {
    code = await (await import('./render-command.ts')).runRender(node, options, context);
  });

  dirs(
    program
      .command('bootstrap')
      .description('print the parent object to apply once per hub, so Argo CD or Flux picks up every node'),
  )
    .option('--hub <name>', 'only this hub')
    .option('--cluster <name>', "only this cluster's root Kustomization (Flux with flux.layout per-cluster)")
    .action(async (options) => {
      code = await (await import('./bootstrap-command.ts')).runBootstrap(options, io);
    });

  dirs(
    program
      .command('history')
      .description('every change to one node in the manifests repository: when, commit, author, why, pull request')
      .argument('<node>', 'hub/form/uid'),
  )
    .option('--repo <url-or-path>', 'manifests repository, instead of spec.publish.repo')
    .option('--patch', "show each change's diff")
    .option('--json', 'print JSON, for scripts')
    .option('--limit <n>', 'only the newest n changes', positiveInteger)
    .action(async (node: string, options) => {
      const history = await import('./history-command.ts');
      code = await history.runHistory(
        node,
        { ...options, patch: Boolean(options.patch), json: Boolean(options.json) },
        context,
      );
    });

  program
    .command('import')
    .description("translate Lynq's own hub and form files (Go templates) into the bridge's, and say what differs")
    .argument('<paths...>', 'Lynq YAML files, or folders of them')
    .option('--out <dir>', 'write hubs/ and forms/ here (else print the files on stdout)')
    .action(async (paths: string[], options) => {
      code = await (await import('./import-command.ts')).runImport(paths, options, io);
    });

  dirs(
    program
      .command('status')
      .description("read every node's health back from Argo CD or Flux; write LynqNode status and status tables"),
  )
    .option('--hub <name>', 'only this hub')
    .option('--kubeconfig <file>', 'the cluster (else KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', 'the kubeconfig context to use')
    .option('--json', 'print JSON, for scripts')
    .option('--problems', 'only the nodes that are not Ready')
    .action(async (options) => {
      code = await (await import('./status-command.ts')).runStatus(
        { ...options, json: Boolean(options.json), problems: Boolean(options.problems) },
        context,
      );
    });

  // One command with an action, so `lynq rollout --help` shows every flag (and docs/cli.md's synopsis says the same).
  dirs(
    program
      .command('rollout')
      .description(
        'health-gated rollouts (spec.rollout): status per form (exit 1 while halted), or resume <hub>/<form>',
      )
      .argument('<action>', 'status or resume')
      .argument('[target]', 'hub/form, for resume'),
  )
    .option('--hub <name>', 'only this hub (status)')
    .option('--kubeconfig <file>', 'the cluster (else KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', 'the kubeconfig context to use')
    .option('--json', 'print JSON, for scripts (status)')
    .action(async (action: string, target: string | undefined, options) => {
      const commands = await import('./rollout-command.ts');
      if (action === 'status' && target === undefined)
        code = await commands.runRolloutStatus({ ...options, json: Boolean(options.json) }, context);
      else if (action === 'resume' && target !== undefined)
        code = await commands.runRolloutResume(target, { ...options, json: false }, context);
      else if (action === 'resume')
        throw new ConfigError(
          'rollout resume needs the form to resume, as <hub>/<form> (lynq rollout status lists the halted ones)',
        );
      else
        throw new ConfigError(
          `lynq rollout takes "status" or "resume <hub>/<form>", not ${JSON.stringify([action, target].filter((part) => part !== undefined).join(' '))}`,
        );
    });

  program
    .command('demo')
    .description('sync the demo hub (embedded Postgres) into a local manifests repository (npm start)')
    .option('--dir <dir>', 'where the demo keeps its database and repository', '.lynq/demo')
    .action(async (options) => {
      code = await (await import('./demo-command.ts')).runDemo(options, context);
    });

  const misplaced = optionsBeforeCommand(argv, program);
  if (misplaced !== undefined) {
    io.err.write(`lynq: options go after the command: lynq ${misplaced.join(' ')}\n`);
    return EXIT_CONFIG;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_CONFIG;
    if (isLynqError(error) && !(error instanceof InternalError)) {
      io.err.write(`lynq: ${error.message}\n`);
      // One rule for every command: a node that cannot render is 1, the database, git, the forge or the cluster failing is 3, the rest is config (2).
      if (error instanceof RenderError) return EXIT_PARTIAL;
      if (
        error instanceof SourceError ||
        error instanceof GitError ||
        error instanceof ForgeError ||
        error instanceof KubeError
      )
        return EXIT_NOT_PUBLISHED;
      return EXIT_CONFIG;
    }
    // A bug: say so, with the stack, under its own exit code so scripts never take it for a config error.
    const cause = error instanceof InternalError && error.cause instanceof Error ? error.cause : error;
    io.err.write(
      `lynq: internal error (a bug in the bridge, please report it): ${messageOf(error)}\n${cause instanceof Error ? (cause.stack ?? '') : ''}\n`,
    );
    return EXIT_INTERNAL;
  }
}

/**
 * `lynq --hubs x validate`: a command's options given before the command. The arguments in
 * the order that works, or undefined when the command line does not look like that.
 */
function optionsBeforeCommand(argv: readonly string[], program: Command): string[] | undefined {
  if (argv.length === 0 || !argv[0]!.startsWith('-') || ['-h', '--help', '-V', '--version'].includes(argv[0]!))
    return undefined;
  const commands = new Set(program.commands.map((command) => command.name()));
  const at = argv.findIndex((arg) => commands.has(arg));
  if (at < 0) return undefined;
  return [argv[at]!, ...argv.slice(0, at), ...argv.slice(at + 1)];
}

function parsePositiveSeconds(value: string): number {
  const seconds = parseSeconds(value);
  if (seconds < 1) throw new InvalidArgumentError('expected a number of seconds (1 or more)');
  return seconds;
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0)
    throw new InvalidArgumentError('expected a number of seconds (0 or more)');
  return seconds;
}
