import { ConfigError, SourceError, type ErrorWhere } from '../errors.ts';

/** The default for LYNQ_DB_TIMEOUT: the lock's and LISTEN's statements are tiny; a server that takes longer is not answering. */
export const DEFAULT_DB_TIMEOUT_MS = 10_000;

/**
 * `LYNQ_DB_TIMEOUT` (seconds, may have a fraction): how long a statement on the sync-lock
 * or LISTEN session, a heartbeat on either, or closing any database session may take. A
 * connection that stops answering (a hung server, a middlebox, a partition) is then given
 * up within this bound instead of being waited on for good. Row reads have the hub's own
 * `queryTimeoutSeconds`.
 */
export function dbTimeoutMs(env: NodeJS.ProcessEnv): number {
  const text = env.LYNQ_DB_TIMEOUT;
  if (text === undefined || text.trim() === '') return DEFAULT_DB_TIMEOUT_MS;
  const seconds = Number(text.trim());
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw new ConfigError(
      `LYNQ_DB_TIMEOUT ${JSON.stringify(text)}: expected a number of seconds between 0 and 3600, like 10`,
    );
  }
  return Math.round(seconds * 1000);
}

/**
 * `work`, or a SourceError naming `what` once `ms` have passed; `giveUp` runs then (it
 * drops the connection's socket, so nothing of the abandoned statement lingers in the
 * process).
 */
export async function bounded<T>(
  work: Promise<T>,
  options: { ms: number; what: string; where: ErrorWhere; giveUp: () => void },
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      options.giveUp();
      reject(
        new SourceError(`${options.what}: no answer within ${options.ms / 1000}s (LYNQ_DB_TIMEOUT)`, options.where),
      );
    }, options.ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Server settings a PostgreSQL session can make for itself so the server notices a client
 * that went away without a word (the server's own default is to wait two hours and more):
 * TCP keepalive probes after 30 s idle, every 10 s, 3 missed ones end the session (and free
 * its advisory lock); and a transaction left open and idle is ended.
 */
export function postgresqlSessionSettings(idleInTransactionMs: number): Array<[string, string]> {
  return [
    ['tcp_keepalives_idle', '30'],
    ['tcp_keepalives_interval', '10'],
    ['tcp_keepalives_count', '3'],
    ['idle_in_transaction_session_timeout', String(idleInTransactionMs)],
  ];
}
