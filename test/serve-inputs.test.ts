import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createPostgresDatabase, type TestDatabase } from './helpers/db.ts';
import { makeBareRepo } from './helpers/git.ts';
import { stopLynq } from './helpers/serve.ts';
import { NEVER, serve, world } from './helpers/serve-world.ts';

const TOKEN = 'webhook-token-0123456789abcdef';

/** One raw HTTP/1.1 request (the target exactly as given); the status code of the reply. */
async function rawStatus(url: string, target: string, headers = ''): Promise<number> {
  const { hostname, port, host } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.write(`POST ${target} HTTP/1.1\r\nHost: ${host}\r\n${headers}Content-Length: 0\r\nConnection: close\r\n\r\n`);
  await new Promise((resolve) => socket.once('close', resolve));
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

describe('lynq serve: what clients and the environment hand it', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createPostgresDatabase();
    await db.exec("CREATE TABLE customers (id text, active boolean); INSERT INTO customers VALUES ('acme', true);");
  });
  after(async () => {
    await db.drop();
  });

  test('LYNQ_WEBHOOK_TOKEN with a trailing newline works (trimmed, as the _FILE form is); malformed targets and %-encoding are 400 with a short log line', async () => {
    const remote = await makeBareRepo();
    const w = await world([
      { name: 'shop', type: 'postgresql', database: db.name, repo: remote.dir, interval: NEVER, table: 'customers' },
    ]);
    const proc = serve(w, { LYNQ_WEBHOOK_TOKEN: `${TOKEN}\n` });
    try {
      const url = await proc.url();
      await proc.waitForLog((logs) => logs.some((line) => line.msg === 'sync finished'), 'the first sync');
      const hook = await fetch(`${url}/hooks/sync/shop`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(hook.status, 202);
      const auth = `Authorization: Bearer ${TOKEN}\r\n`;
      const before = proc.stderr().length;
      for (const target of [
        '/hooks/sync/%E0%A4%A',
        '/hooks/sync/sh%op',
        '/%ZZ',
        `/hooks/sync/${'%C0'.repeat(2700)}`,
        'http://127.0.0.1/hooks/sync/shop',
        '*',
        '//double/slash',
      ]) {
        assert.equal(await rawStatus(url, target, auth), 400, target.slice(0, 40));
      }
      assert.equal(
        await rawStatus(url, '/hooks/sync/shop', auth),
        202,
        'the same connection rules still let a good call through',
      );
      await proc.waitForLog(
        (logs) => logs.filter((line) => line.msg === 'http request refused: malformed request target').length === 7,
        'seven refusals logged',
      );
      const logged = proc.stderr().slice(before);
      assert.ok(logged.length < 3000, `short log lines, not the targets (${logged.length} bytes)`);
      assert.doesNotMatch(logged, /%C0%C0|internal error|http request failed/);
    } finally {
      await stopLynq(proc);
      await w.cleanup();
      await remote.cleanup();
    }
  });

  test('a webhook token with a space inside is refused at start (exit 2), naming the variable', async () => {
    const remote = await makeBareRepo();
    const w = await world([
      { name: 'shop', type: 'postgresql', database: db.name, repo: remote.dir, interval: NEVER, table: 'customers' },
    ]);
    const proc = serve(w, { LYNQ_WEBHOOK_TOKEN: 'webhook-token 0123456789abcdef' });
    try {
      assert.equal(await proc.exited, 2);
      assert.match(proc.stderr(), /the webhook token from LYNQ_WEBHOOK_TOKEN has a space or control character inside/);
    } finally {
      await stopLynq(proc);
      await w.cleanup();
      await remote.cleanup();
    }
  });
});
