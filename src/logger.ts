import { pino, type Logger as PinoLogger } from 'pino';

/**
 * Structured logs: constant messages, fields for the variable parts (`hub`, `form`,
 * `uid`), JSON lines on stderr so stdout stays for command output. Secrets (tokens,
 * passwords, keys) are registered once, where they are read, and scrubbed from every
 * field and message after that, whoever logs them.
 */
export type Logger = PinoLogger;

const REDACTED = '[redacted]';

/**
 * The secrets one invocation (a command, or a long-running service) has read. Bounded: a
 * service that reads rotated credentials for months keeps the newest ones, never all.
 */
export class SecretRegistry {
  private readonly secrets = new Set<string>();

  constructor(private readonly limit = 1024) {}

  /** Remember a secret value; very short values are not scrubbed (they would mangle logs). */
  add(value: string | undefined): void {
    if (value === undefined || value.length < 4) return;
    // Re-adding moves a value to the newest end, so the oldest unused one goes first.
    this.secrets.delete(value);
    this.secrets.add(value);
    if (this.secrets.size > this.limit) this.secrets.delete(this.secrets.values().next().value as string);
  }

  get size(): number {
    return this.secrets.size;
  }

  scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return out;
  }

  scrubDeep(value: unknown): unknown {
    if (this.secrets.size === 0) return value;
    if (typeof value === 'string') return this.scrub(value);
    if (Array.isArray(value)) return value.map((item) => this.scrubDeep(item));
    if (value instanceof Error) return this.scrub(value.stack ?? value.message);
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) out[key] = this.scrubDeep(item);
      return out;
    }
    return value;
  }
}

export type LoggerOptions = {
  level?: string;
  registry?: SecretRegistry;
  /** Where lines go; stderr (fd 2) unless a test captures them. */
  destination?: NodeJS.WritableStream;
};

export function createLogger(options: LoggerOptions = {}): Logger {
  const registry = options.registry ?? new SecretRegistry();
  // An empty variable (easy to get from a Kubernetes env entry) means the default.
  const level = options.level ?? (process.env.LYNQ_LOG_LEVEL || 'info');
  const destination = options.destination ?? pino.destination({ fd: 2, sync: true });
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => registry.scrubDeep(object) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((arg) => (typeof arg === 'string' ? registry.scrub(arg) : arg));
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
