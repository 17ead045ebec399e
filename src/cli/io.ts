/** Where a command writes and what it reads from its environment; tests hand in their own. */
export type Io = { out: NodeJS.WritableStream; err: NodeJS.WritableStream; env: NodeJS.ProcessEnv; isTty: boolean };
