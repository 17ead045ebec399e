/**
 * The small family of errors the bridge raises. Each is created where a library's error
 * is caught (with `cause`), carries the coordinates a user needs to find the problem,
 * and is told apart by class, never by message text.
 */

/** Where an error happened: any of these that are known are put into the message. */
export type ErrorWhere = {
  file?: string;
  line?: number;
  field?: string;
  hub?: string;
  form?: string;
  uid?: string;
  resource?: string;
};

abstract class LynqError extends Error {
  readonly where: ErrorWhere;
  /** The message without the coordinates prefix, for tables that show them in columns. */
  readonly detail: string;

  constructor(detail: string, where: ErrorWhere = {}, options?: { cause?: unknown }) {
    super(`${formatWhere(where)}${detail}`, options);
    this.name = new.target.name;
    this.where = where;
    this.detail = detail;
  }
}

/** A hub or form file, a settings file or a command line that cannot be used as written. */
export class ConfigError extends LynqError {}
/** The database could not be reached or queried, or its rows do not fit the hub. */
export class SourceError extends LynqError {}
/** One node could not be rendered: a template, a filter, a name or a manifest is bad. */
export class RenderError extends LynqError {}
/** A git command failed: clone, fetch, commit or push. */
export class GitError extends LynqError {}
/** A pull-request platform (GitHub) refused or failed a request. */
export class ForgeError extends LynqError {}
/** A bug in the bridge: something it must never do happened. Its own exit code (70), never a config error. */
export class InternalError extends LynqError {}
/**
 * The Kubernetes API could not be read or refused a request (unreachable, 401, 403, a
 * 5xx). The message names the server and what was refused, never the credentials.
 */
export class KubeError extends LynqError {
  constructor(
    detail: string,
    where: ErrorWhere & { server?: string; status?: number } = {},
    options?: { cause?: unknown },
  ) {
    const { server, status, ...rest } = where;
    super(server === undefined ? detail : `${detail} (server ${server})`, rest, options);
    this.server = server;
    this.status = status;
  }
  readonly server: string | undefined;
  /** The HTTP status the API answered with; undefined when it could not be reached. */
  readonly status: number | undefined;
}

export function formatWhere(where: ErrorWhere): string {
  const parts: string[] = [];
  if (where.file !== undefined) parts.push(where.line !== undefined ? `${where.file}:${where.line}` : where.file);
  if (where.hub !== undefined) parts.push(`hub ${where.hub}`);
  if (where.form !== undefined) parts.push(`form ${where.form}`);
  if (where.uid !== undefined) parts.push(`uid ${JSON.stringify(where.uid)}`);
  if (where.resource !== undefined) parts.push(`resource ${where.resource}`);
  if (where.field !== undefined) parts.push(`field ${where.field}`);
  return parts.length > 0 ? `${parts.join(', ')}: ` : '';
}

/** Several config problems as one error, each on its own line as the CLI prints them (`lynq: …`); `problemsOf` gives them back. */
export function combineProblems(problems: readonly ConfigError[]): ConfigError {
  if (problems.length === 1) return problems[0]!;
  return new ConfigError(
    problems.map((problem) => problem.message).join('\nlynq: '),
    {},
    { cause: new AggregateError(problems) },
  );
}

/** The problems a `combineProblems` error holds, or the error itself. */
export function problemsOf(error: ConfigError): ConfigError[] {
  return error.cause instanceof AggregateError ? (error.cause.errors as ConfigError[]) : [error];
}

export function isLynqError(error: unknown): error is LynqError {
  return error instanceof LynqError;
}

/** The message of anything thrown, for places that must report without rethrowing. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
