import type { Logger, SecretRegistry } from '../logger.ts';

/** Where a command writes and what it reads from its environment; tests hand in their own. */
export type Io = { out: NodeJS.WritableStream; err: NodeJS.WritableStream; env: NodeJS.ProcessEnv; isTty: boolean };

/** What every command gets from main: its io, the logger, and the registry the logger scrubs (one per invocation). */
export type CommandContext = { io: Io; logger: Logger; secrets: SecretRegistry };
