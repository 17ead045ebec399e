import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { PgliteSource } from '../config/hub-schema.ts';
import type { Hub } from '../config/load.ts';
import { SourceError, type ErrorWhere } from '../errors.ts';
import type { SourceDeps } from './types.ts';
import { PG_OID, parseTimestampUtc } from './postgresql.ts';
import { causeText, seconds, selectStatement } from './sql.ts';
import type { RawRow, RowSource, SourceResult } from './types.ts';

type WorkerData = { moduleUrl: string; dataDir: string | undefined; seedSql: string | undefined; sql: string };
type Field = { name: string; dataTypeID: number };
type Stage = 'open' | 'seed' | 'query';
type WorkerMessage =
  | { type: 'querying' }
  | { type: 'rows'; fields: Field[]; rows: RawRow[] }
  | { type: 'error'; stage: Stage; message: string; code: unknown };

/**
 * Postgres' 128MB default is memory the WebAssembly heap touches at start-up, for a
 * database that answers one query per sync: 16MB (Postgres' own default before 9.3) halves
 * the process's peak and starts faster.
 */
const SHARED_BUFFERS = '16MB';

/**
 * PGlite runs Postgres in WebAssembly on the thread that calls it, and a running query
 * blocks that thread: neither statement_timeout nor a timer can stop it. So it runs in a
 * worker thread, which the source can terminate when the query timeout passes. The worker
 * is plain JavaScript (eval) because it must not depend on the TypeScript loader, which
 * `bin/lynq.mjs` registers for the main thread only. INT8, DATE and TIMESTAMP come back
 * as raw text; the main thread turns TIMESTAMP into a UTC Date with the pg source's parser.
 */
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const raw = (text) => text;
(async () => {
  let stage = 'open';
  let db;
  try {
    const { PGlite } = await import(workerData.moduleUrl);
    db = new PGlite({
      dataDir: workerData.dataDir,
      parsers: { ${PG_OID.INT8}: raw, ${PG_OID.DATE}: raw, ${PG_OID.TIMESTAMP}: raw },
      startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=${SHARED_BUFFERS}'],
    });
    await db.waitReady;
    if (workerData.seedSql !== undefined) {
      stage = 'seed';
      await db.exec(workerData.seedSql);
    }
    stage = 'query';
    parentPort.postMessage({ type: 'querying' });
    // Read-only, as on a server: a query that writes is refused, and the seed stays as seeded.
    await db.exec('BEGIN TRANSACTION READ ONLY');
    const result = await db.query(workerData.sql);
    await db.exec('ROLLBACK');
    const fields = result.fields.map((field) => ({ name: field.name, dataTypeID: field.dataTypeID }));
    parentPort.postMessage({ type: 'rows', fields, rows: result.rows });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    parentPort.postMessage({ type: 'error', stage, message, code: error && error.code });
  } finally {
    // Closing flushes a data directory to disk; it happens after the answer so it does not count against the timeout.
    if (db !== undefined) await db.close().catch(() => {});
  }
})();
`;

/** How long close() waits for the worker to close PGlite itself before stopping it. */
const CLOSE_GRACE_MS = 10_000;

/**
 * An embedded Postgres source for the demo and for trying hubs without a server.
 * With `dataDir`, the database lives in that folder and `seedFile` runs only when the
 * folder is new or empty; without it, the database is in memory and seeded every run.
 * Both paths are relative to the hub file's folder.
 */
export function createPgliteSource(hub: Hub, settings: PgliteSource, deps: SourceDeps): RowSource {
  const where: ErrorWhere = { hub: hub.name, file: hub.file };
  const hubDir = path.dirname(hub.file);
  const dataDir = settings.dataDir === undefined ? undefined : path.resolve(hubDir, settings.dataDir);
  const seedFile = settings.seedFile === undefined ? undefined : path.resolve(hubDir, settings.seedFile);
  const scrub = (text: string): string => deps.secretEnv.registry.scrub(text);
  let running: { worker: Worker; exited: Promise<void>; failedStage?: Stage } | undefined;

  function query(data: WorkerData): Promise<{ fields: Field[]; rows: RawRow[] }> {
    baselineWasmOnly();
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: data, execArgv: [] });
    // Not events.once: it rejects on an 'error' event, and close() must never throw.
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const current: NonNullable<typeof running> = { worker, exited };
    running = current;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const fail = (error: SourceError): void => {
        clearTimeout(timer);
        reject(error);
      };
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'querying') {
          // The clock starts with the query: opening and seeding are not the query's time.
          timer = setTimeout(() => {
            fail(new SourceError(`query timed out after ${seconds(settings.queryTimeoutSeconds)}`, where));
            void worker.terminate();
          }, settings.queryTimeoutSeconds * 1000);
        } else if (message.type === 'rows') {
          clearTimeout(timer);
          resolve(message);
        } else {
          current.failedStage = message.stage;
          fail(
            new SourceError(describeFailure(message), where, {
              cause: Object.assign(new Error(message.message), { code: message.code }),
            }),
          );
        }
      });
      worker.on('error', (cause) =>
        fail(new SourceError(`pglite stopped: ${causeText(cause, scrub)}`, where, { cause })),
      );
      // Once settled, this reject is a no-op; before that, the worker died without answering.
      worker.on('exit', (code) => fail(new SourceError(`pglite stopped before answering (exit code ${code})`, where)));
    });
  }

  function describeFailure(message: Extract<WorkerMessage, { type: 'error' }>): string {
    const text = scrub(message.message);
    if (message.stage === 'open')
      return `cannot open pglite ${dataDir === undefined ? 'in memory' : `in ${dataDir}`}: ${text}`;
    if (message.stage === 'seed') return `seed file ${seedFile ?? ''} failed: ${text}`;
    return `query failed on pglite: ${text}`;
  }

  return {
    // pglite runs in a worker of this process; a stopped sync waits for it (bounded by the query timeout).
    async readRows(signal?: AbortSignal): Promise<SourceResult> {
      signal?.throwIfAborted();
      const sql = selectStatement(settings, 'postgresql', where);
      const fresh = dataDir === undefined ? true : await prepareDataDir(dataDir, where);
      const seedSql = fresh && seedFile !== undefined ? await readSeed(seedFile, where) : undefined;
      const started = Date.now();
      deps.logger.debug(
        { hub: hub.name, source: 'pglite', dataDir: dataDir ?? 'memory', seeding: seedSql !== undefined },
        'source connecting',
      );
      let answer: { fields: Field[]; rows: RawRow[] };
      try {
        answer = await query({ moduleUrl: import.meta.resolve('@electric-sql/pglite'), dataDir, seedSql, sql });
      } catch (error) {
        // A half-seeded folder would never be seeded again (it is no longer empty): empty it so the next run starts clean.
        // It was new or empty before this run, so everything in it is what this run made.
        if (seedSql !== undefined && dataDir !== undefined && running?.failedStage === 'seed') {
          await running.exited;
          await emptyDir(dataDir).catch((cause: unknown) =>
            deps.logger.warn(
              { hub: hub.name, source: 'pglite', dataDir, err: causeText(cause, scrub) },
              'source cannot clear data directory',
            ),
          );
        }
        throw error;
      }
      if (answer.fields.length === 0)
        throw new SourceError('the query returned no result set (is it a SELECT?)', where);
      for (const field of answer.fields) {
        if (field.dataTypeID !== PG_OID.TIMESTAMP) continue;
        for (const row of answer.rows) {
          const value = row[field.name];
          if (typeof value === 'string') row[field.name] = parseTimestampUtc(value);
        }
      }
      deps.logger.debug(
        { hub: hub.name, source: 'pglite', rows: answer.rows.length, ms: Date.now() - started },
        'source rows read',
      );
      return { columns: answer.fields.map((field) => field.name), rows: answer.rows };
    },

    async close(): Promise<void> {
      const current = running;
      running = undefined;
      if (current === undefined) return;
      const stop = setTimeout(() => void current.worker.terminate(), CLOSE_GRACE_MS);
      await current.exited;
      clearTimeout(stop);
    },
  };
}

let baselineOnly = false;

/**
 * Postgres is a 9MB WebAssembly module. By default V8 compiles it twice: once quickly
 * (Liftoff) and again, in the background, optimised (TurboFan), and a worker that ends
 * waits for that second compile. For one query per sync the optimised code never pays
 * for itself: with Liftoff only, opening a database and reading it takes much less CPU
 * and memory. V8 flags are per process (a worker cannot have its own),
 * so this is set once, before the first worker; the only other WebAssembly Node runs here
 * is its HTTP parser, for which the quick compile is as good.
 */
function baselineWasmOnly(): void {
  if (baselineOnly) return;
  baselineOnly = true;
  v8.setFlagsFromString('--liftoff-only');
}

/** Make sure the data directory exists; true when it is new or empty, so it needs seeding. */
async function prepareDataDir(dataDir: string, where: ErrorWhere): Promise<boolean> {
  try {
    const entries = await readdir(dataDir);
    return entries.length === 0;
  } catch (cause) {
    if ((cause as { code?: unknown }).code !== 'ENOENT') {
      throw new SourceError(
        `cannot use pglite data directory ${dataDir}`,
        { ...where, field: 'spec.source.pglite.dataDir' },
        { cause },
      );
    }
  }
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (cause) {
    throw new SourceError(
      `cannot create pglite data directory ${dataDir}`,
      { ...where, field: 'spec.source.pglite.dataDir' },
      { cause },
    );
  }
  return true;
}

async function emptyDir(dir: string): Promise<void> {
  for (const entry of await readdir(dir)) await rm(path.join(dir, entry), { recursive: true, force: true });
}

async function readSeed(seedFile: string, where: ErrorWhere): Promise<string> {
  try {
    return await readFile(seedFile, 'utf8');
  } catch (cause) {
    throw new SourceError(
      `cannot read seed file ${seedFile}`,
      { ...where, field: 'spec.source.pglite.seedFile' },
      { cause },
    );
  }
}
