import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../src/cli/main.ts';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { closedPort, createPostgresDatabase } from './helpers/db.ts';
import { captureStream, tempFiles } from './helpers/files.ts';
import { makeBareRepo } from './helpers/git.ts';
import { parsePrometheusText } from './helpers/serve.ts';
import { sampleValue } from './helpers/serve-world.ts';
import { setUp, type Teardown } from './helpers/teardown.ts';

const FORM = formYaml(
  '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { PLAN: "{{ plan }}" }\n',
);

/**
 * A Pushgateway as its API is documented (github.com/prometheus/pushgateway, "API"):
 * `PUT /metrics/job/<job>{/<label>/<value>}` with the text format replaces that group and
 * answers 200. Anything else is answered 404 and kept, for the test to fail on.
 */
async function startPushgateway(): Promise<{
  url: string;
  pushes: Array<{ path: string; type: string; body: string }>;
  unexpected: string[];
  close(): Promise<void>;
}> {
  const pushes: Array<{ path: string; type: string; body: string }> = [];
  const unexpected: string[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk));
    request.on('end', () => {
      if (request.method === 'PUT' && /^\/metrics\/job\/[^/]+(\/[^/]+\/[^/]+)*$/.test(request.url ?? '')) {
        pushes.push({ path: request.url!, type: request.headers['content-type'] ?? '', body });
        response.writeHead(200).end();
        return;
      }
      unexpected.push(`${request.method} ${request.url}`);
      response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    pushes,
    unexpected,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("a lynq sync run's metrics: a textfile for node_exporter, a Pushgateway", () => {
  let teardown: Teardown;
  let dirs: string[];
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let gateway: Awaited<ReturnType<typeof startPushgateway>>;
  before(async () => {
    ({ teardown, dirs, dir, env, gateway } = await setUp(async (started) => {
      const db = started.add(await createPostgresDatabase(), (it) => it.drop());
      await db.exec(
        "CREATE TABLE customers (id text, active boolean, plan text); INSERT INTO customers VALUES ('acme', true, 'gold'), ('globex', true, 'silver');",
      );
      const bare = started.add(await makeBareRepo(), (it) => it.cleanup());
      const files = started.add(
        await tempFiles({
          'hubs/customers.yaml': hubYaml({
            database: db.name,
            extra: { plan: 'plan' },
            spec: `  publish:\n    repo: ${bare.dir}\n`,
          }),
          'forms/web.yaml': FORM,
        }),
        (it) => it.cleanup(),
      );
      const gateway = started.add(await startPushgateway(), (it) => it.close());
      return {
        teardown: started,
        dirs: ['--hubs', path.join(files.dir, 'hubs'), '--forms', path.join(files.dir, 'forms')],
        dir: files.dir,
        env: { LYNQ_CACHE_DIR: path.join(files.dir, 'cache'), HOME: files.dir },
        gateway,
      };
    }));
  });
  after(() => teardown?.run());

  test('--metrics-file and LYNQ_PUSHGATEWAY_URL get the same series as serve, without process metrics', async () => {
    const file = path.join(dir, 'lynq.prom');
    const result = await lynq(['sync', ...dirs, '--metrics-file', file], { ...env, LYNQ_PUSHGATEWAY_URL: gateway.url });
    assert.equal(result.code, 0, result.out + result.err);
    const text = await readFile(file, 'utf8');
    const families = parsePrometheusText(text);
    assert.equal(sampleValue(families, 'lynq_syncs_total', { hub: 'customers', outcome: 'published' }), 1);
    assert.equal(sampleValue(families, 'lynq_commits_total', { hub: 'customers' }), 1);
    assert.equal(sampleValue(families, 'lynq_nodes', { hub: 'customers', state: 'added' }), 2);
    assert.ok(!text.includes('lynq_process_'), 'no process metrics in a one-shot run');
    assert.deepEqual(gateway.unexpected, []);
    assert.equal(gateway.pushes.length, 1);
    assert.equal(gateway.pushes[0]!.path, '/metrics/job/lynq-sync/hubs/all');
    assert.match(gateway.pushes[0]!.type, /^text\/plain/);
    assert.equal(
      sampleValue(parsePrometheusText(gateway.pushes[0]!.body), 'lynq_syncs_total', {
        hub: 'customers',
        outcome: 'published',
      }),
      1,
    );
  });

  test('a Pushgateway that cannot be reached is logged; the sync still exits as it ended', async () => {
    const [out, err, log] = [captureStream(), captureStream(), captureStream()];
    const io = {
      out,
      err,
      log,
      isTty: false,
      env: { ...env, LYNQ_LOG_LEVEL: 'error', LYNQ_PUSHGATEWAY_URL: `http://127.0.0.1:${await closedPort()}` },
    };
    const code = await main(['sync', ...dirs, '--hub', 'customers'], io);
    assert.equal(code, 0, out.text() + err.text());
    assert.match(log.text(), /"msg":"metrics not pushed"/);
  });
});
