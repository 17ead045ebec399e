import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createPostgresDatabase, type TestDatabase } from './helpers/db.ts';
import { makeBareRepo } from './helpers/git.ts';
import { stopLynq } from './helpers/serve.ts';
import { NEVER, serve, world } from './helpers/serve-world.ts';

const TOKEN = 'webhook-token-0123456789abcdef';

/** A raw client connection to serve that sends `text` and then nothing more, reading nothing. */
async function stalledClient(url: string, text: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => undefined);
  socket.write(text);
  socket.pause();
  return socket;
}

describe('lynq serve: shutdown with slow clients, webhooks while stopping, a port in use', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createPostgresDatabase();
    await db.exec("CREATE TABLE customers (id text, active boolean); INSERT INTO customers VALUES ('acme', true);");
  });
  after(async () => {
    await db.drop();
  });

  test('SIGTERM with clients stalled mid-headers and mid-body: serve closes their connections after a short deadline and exits 0', async () => {
    const remote = await makeBareRepo();
    const w = await world([
      { name: 'shop', type: 'postgresql', database: db.name, repo: remote.dir, interval: NEVER, table: 'customers' },
    ]);
    const proc = serve(w, { LYNQ_WEBHOOK_TOKEN: TOKEN });
    const sockets: net.Socket[] = [];
    try {
      const url = await proc.url();
      await proc.waitForLog((logs) => logs.some((line) => line.msg === 'sync finished'), 'the first sync');
      const { host } = new URL(url);
      sockets.push(await stalledClient(url, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `));
      sockets.push(
        await stalledClient(
          url,
          `POST /hooks/sync/shop HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 100000\r\n\r\n{"partial":`,
        ),
      );
      // A client that asks and never reads: its replies pile up unread.
      sockets.push(await stalledClient(url, `GET /metrics HTTP/1.1\r\nHost: ${host}\r\n\r\n`.repeat(50)));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const closed = sockets.map((socket) => new Promise((resolve) => socket.once('close', resolve)));
      // stopLynq kills the process (exit null) if it has not exited within its bound.
      assert.equal(await stopLynq(proc, 45_000), 0, `serve exited on its own\n${proc.stderr().slice(-2000)}`);
      assert.ok(proc.logs.some((line) => line.msg === 'stopped'));
      // Read what they were sent: each connection then ends (serve closed it).
      for (const socket of sockets) socket.resume();
      await Promise.all(closed);
    } finally {
      for (const socket of sockets) socket.destroy();
      await stopLynq(proc);
      await w.cleanup();
      await remote.cleanup();
    }
  });

  test('a webhook during shutdown gets 503 (not a 202 that never runs); /readyz says shutting down', async () => {
    const remote = await makeBareRepo();
    // Each sync reads for 3 s, so SIGTERM finds one running and serve waits for it (its grace).
    const query = 'SELECT c.id, c.active FROM customers c, pg_sleep(3)';
    const w = await world([
      { name: 'shop', type: 'postgresql', database: db.name, repo: remote.dir, interval: NEVER, query },
    ]);
    const proc = serve(w, { LYNQ_WEBHOOK_TOKEN: TOKEN }, ['--grace', '60']);
    try {
      const url = await proc.url();
      await proc.waitForLog((logs) => logs.some((line) => line.msg === 'sync started'), 'the first sync to start');
      proc.child.kill('SIGTERM');
      await proc.waitForLog(
        (logs) => logs.some((line) => line.msg === 'stopping: no new syncs; waiting for running ones'),
        'serve to start stopping',
      );
      const hook = await fetch(`${url}/hooks/sync/shop`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(hook.status, 503);
      assert.equal(hook.headers.get('retry-after'), '30');
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 503);
      assert.match(await ready.text(), /shutting down/);
      // The running sync ends (its grace), then serve exits on the SIGTERM above.
      assert.equal(await proc.exited, 0);
      assert.equal(proc.logs.filter((line) => line.msg === 'sync started').length, 1, 'no sync started after SIGTERM');
      assert.ok(!proc.logs.some((line) => line.msg === 'sync requested by webhook'));
    } finally {
      await stopLynq(proc);
      await w.cleanup();
      await remote.cleanup();
    }
  });

  test('a port already in use: one clean line naming it, exit 2, no sync started', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const remote = await makeBareRepo();
    const w = await world([
      { name: 'shop', type: 'postgresql', database: db.name, repo: remote.dir, interval: NEVER, table: 'customers' },
    ]);
    const proc = serve(w, {}, ['--listen', `127.0.0.1:${port}`]);
    try {
      const code = await proc.exited;
      assert.equal(code, 2, proc.stderr());
      assert.match(proc.stderr(), new RegExp(`^lynq: port 127\\.0\\.0\\.1:${port} is in use \\(--listen\\)$`, 'm'));
      assert.doesNotMatch(proc.stderr(), /internal error|\n\s+at /);
      assert.equal(proc.logs.filter((line) => line.msg === 'sync started').length, 0);
    } finally {
      await stopLynq(proc);
      await new Promise((resolve) => taken.close(resolve));
      await w.cleanup();
      await remote.cleanup();
    }
  });
});
