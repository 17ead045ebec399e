import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { stringify } from 'yaml';
import type { SourceType } from '../../src/config/hub-schema.ts';
import { parseHub, type Hub } from '../../src/config/load.ts';
import type { SecretEnv } from '../../src/config/secrets.ts';
import { SecretRegistry, silentLogger, type Logger } from '../../src/logger.ts';

/** The test servers: MariaDB with a password-less root, PostgreSQL with trust auth. */
export const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root' } as const;
export const POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres' } as const;

/** A database made for one test file; `exec` runs SQL in it (several statements allowed). */
export type TestDatabase = {
  name: string;
  exec(sql: string): Promise<void>;
  drop(): Promise<void>;
};

/** Unique per call, so test files running in parallel (and leftovers of killed runs) never collide. */
export function uniqueName(prefix = 'lynq_test'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export async function createMariadbDatabase(): Promise<TestDatabase> {
  const name = uniqueName();
  const admin = await mysql.createConnection({ ...MARIADB, database: 'test', multipleStatements: true });
  await admin.query(`CREATE DATABASE \`${name}\``);
  await admin.query(`USE \`${name}\``);
  return {
    name,
    async exec(sql) {
      await admin.query(sql);
    },
    async drop() {
      try {
        await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await admin.end();
      }
    },
  };
}

/**
 * A fresh PostgreSQL database (not a schema), so plain table names resolve through the
 * default `public` schema exactly as they would for a user, and `schema.table` tests can
 * create schemas freely.
 */
export async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = uniqueName();
  await withPostgresAdmin((admin) => admin.query(`CREATE DATABASE "${name}"`));
  const client = new pg.Client({ ...POSTGRES, database: name });
  await client.connect();
  return {
    name,
    async exec(sql) {
      await client.query(sql);
    },
    async drop() {
      await client.end();
      // FORCE: a source left open by a failing test must not keep the database alive.
      await withPostgresAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

async function withPostgresAdmin<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ ...POSTGRES, database: 'postgres' });
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.end();
  }
}

export type HubOptions = {
  /** The hub file's path; relative `seedFile`/`dataDir`/TLS paths are taken from its folder. */
  file?: string;
  valueMappings?: { uid: string; activate: string; hostOrUrl?: string };
  extraValueMappings?: Record<string, string>;
};

/** A Hub as the loader would make it from YAML, so schema defaults (timeouts, host) apply. */
export function hubFor(type: SourceType, settings: Record<string, unknown>, options: HubOptions = {}): Hub {
  const text = stringify({
    apiVersion: 'operator.lynq.sh/v1',
    kind: 'LynqHub',
    metadata: { name: 'test-hub' },
    spec: {
      source: { type, [type]: settings },
      valueMappings: options.valueMappings ?? { uid: 'id', activate: 'active' },
      extraValueMappings: options.extraValueMappings ?? {},
    },
  });
  return parseHub(options.file ?? path.join(os.tmpdir(), 'lynq-test', 'hubs', 'test-hub.yaml'), text);
}

/** Adapter dependencies with their own secret registry and environment, and no log output. */
export function testDeps(env: NodeJS.ProcessEnv = {}): { secretEnv: SecretEnv; logger: Logger } {
  return {
    secretEnv: { env, secretsDir: path.join(os.tmpdir(), 'lynq-test-secrets'), registry: new SecretRegistry() },
    logger: silentLogger(),
  };
}

/** A TCP port nothing listens on: bound once by the OS, then released. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
