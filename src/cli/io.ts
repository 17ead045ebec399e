import type { Logger, SecretRegistry } from '../logger.ts';

/**
 * Where a command writes and what it reads from its environment; tests hand in their own.
 * `log`: where the structured log lines go (stderr, fd 2, when not given); a bench reads
 * counts from them (how many nodes a sync rendered) without reaching into the sync.
 */
export type Io = {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  isTty: boolean;
  log?: NodeJS.WritableStream;
};

/** What every command gets from main: its io, the logger, and the registry the logger scrubs (one per invocation). */
export type CommandContext = { io: Io; logger: Logger; secrets: SecretRegistry };
