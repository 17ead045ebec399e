import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { describe, test } from 'node:test';
import { setUp } from './helpers/teardown.ts';

/**
 * Runs a module in a fresh process and resolves with its exit code and output, or rejects
 * when the process is still alive after `limitMs`: something it started was never closed.
 */
function runAlone(source: string, limitMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', source], {
      cwd: new URL('..', import.meta.url),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk));
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `still running ${limitMs / 1000} s after its setup failed: something it started was left open\n${out}`,
        ),
      );
    }, limitMs);
    child.on('close', (code) => {
      clearTimeout(limit);
      resolve({ code, out });
    });
  });
}

describe('a test setup that fails closes what it started', () => {
  test('setUp closes the earlier steps, last first, and rethrows the failing step', async () => {
    const closed: string[] = [];
    let server: http.Server | undefined;
    await assert.rejects(
      setUp(async (teardown) => {
        server = teardown.add(http.createServer(), (it) => new Promise((resolve) => it.close(resolve)));
        await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
        teardown.add('first', (name) => closed.push(name));
        teardown.add('second', (name) => closed.push(name));
        throw new Error('the third step failed');
      }),
      /the third step failed/,
    );
    assert.deepEqual(closed, ['second', 'first']);
    assert.equal(server?.listening, false);
  });

  test('a read-back world whose fixture path is wrong (after its database, repository and fake API have started) fails, and its process exits by itself', async () => {
    const { code, out } = await runAlone(`
      import { healthyArgoWorld } from './test/helpers/health-world.ts';
      const form = '  configMaps:\\n    - id: settings\\n      nameTemplate: "{{ uid }}-settings"\\n      spec:\\n        apiVersion: v1\\n        kind: ConfigMap\\n        data: { plan: "{{ plan }}" }\\n';
      await healthyArgoWorld(form, [['acme', 'gold']], 'no-such-application.yaml').then(
        () => console.log('set up'),
        (error) => { console.log(error.message); process.exitCode = 3; },
      );
    `);
    assert.equal(code, 3, out);
    assert.match(out, /ENOENT.*no-such-application\.yaml/);
  });
});
