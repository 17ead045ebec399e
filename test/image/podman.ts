// The real image, built and run with podman: what test/image/image.test.ts needs from it.
// Every container it starts is named, so a failing test removes it (removeContainer).
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function podman(
  args: readonly string[],
  options: { timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run('podman', args, { maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 120_000 });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; code?: number | string; message: string };
    throw new Error(
      `podman ${args.join(' ')} failed (${failed.code}):\n${failed.stderr ?? ''}${failed.stdout ?? ''}`.trimEnd(),
    );
  }
}

/** podman, with the exit code instead of a throw (a sync's exit code is what is tested). */
export function podmanExit(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('podman', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export async function removeContainer(name: string): Promise<void> {
  await run('podman', ['rm', '--force', '--time', '0', '--ignore', name]).catch(() => undefined);
}

/** The CA bundle this machine trusts (npm's cafile, else Debian's), for the build's npm ci only. */
async function hostCaBundle(): Promise<string> {
  const { stdout } = await run('npm', ['config', 'get', 'cafile']).catch(() => ({ stdout: '' }));
  const configured = stdout.trim();
  return configured !== '' && configured !== 'null' && configured !== 'undefined'
    ? configured
    : '/etc/ssl/certs/ca-certificates.crt';
}

export type Build = { image: string; version: string; revision: string; source: string; seconds: number; log: string };

/**
 * `podman build` of docker/Dockerfile as it is, on the local base (--pull=never). The host's
 * CA bundle reaches the RUN steps' npm through a mounted npmrc (this machine's registry
 * traffic goes through a TLS proxy); a build mount is never part of a layer.
 */
export async function buildImage(image: string): Promise<Build> {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const revision = (await run('git', ['rev-parse', 'HEAD'], { cwd: ROOT })).stdout.trim();
  const source = 'https://github.com/lynq-sh/lynq-gitops-bridge';
  const npmDir = await mkdtemp(path.join(os.tmpdir(), 'lynq-image-npmrc-'));
  try {
    await writeFile(path.join(npmDir, 'npmrc'), 'cafile=/run/lynq-host-ca.pem\n');
    const started = process.hrtime.bigint();
    const { stdout, stderr } = await podman(
      [
        'build',
        '--pull=never',
        '--network=host',
        '--file',
        'docker/Dockerfile',
        '--tag',
        image,
        '--build-arg',
        `VERSION=${pkg.version}`,
        '--build-arg',
        `REVISION=${revision}`,
        '--build-arg',
        `SOURCE=${source}`,
        '--volume',
        `${await hostCaBundle()}:/run/lynq-host-ca.pem:ro`,
        '--volume',
        `${path.join(npmDir, 'npmrc')}:/root/.npmrc:ro`,
        ROOT,
      ],
      { timeoutMs: 15 * 60_000 },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { image, version: pkg.version, revision, source, seconds, log: stdout + stderr };
  } finally {
    await rm(npmDir, { recursive: true, force: true });
  }
}

/** The image's size and where its bytes go: each layer, then the large folders inside it. */
export async function sizeReport(image: string): Promise<{ total: number; text: string }> {
  const inspect = JSON.parse((await podman(['image', 'inspect', image])).stdout) as Array<{ Size: number }>;
  const total = inspect[0]!.Size;
  const history = JSON.parse((await podman(['history', '--format', 'json', image])).stdout) as Array<{
    size: number;
    CreatedBy: string;
  }>;
  const layers = history
    .filter((layer) => layer.size > 0)
    .map(
      (layer) =>
        `  ${mb(layer.size).padStart(9)}  ${layer.CreatedBy.replace(/^\/bin\/sh -c (#\(nop\) )?/, '')
          .replace(/\s+/g, ' ')
          .slice(0, 110)}`,
    );
  // Each folder counted whole (one du each): an indented one is part of the one above it.
  const folders = [
    '/usr/local/bin/node',
    '/usr/local/lib/node_modules/npm',
    '/opt/lynq',
    '  /opt/lynq/dist',
    '  /opt/lynq/node_modules',
    '    /opt/lynq/node_modules/@kubernetes/client-node',
    '    /opt/lynq/node_modules/kubernetes-models',
    '    /opt/lynq/node_modules/@kubernetes-models',
    '/usr/lib/git-core',
    '/usr/share/perl',
    '/usr/lib/x86_64-linux-gnu',
    '  /usr/lib/x86_64-linux-gnu/perl',
    '/usr/bin',
    '/usr/share',
    '/var/lib/dpkg',
  ];
  const script = folders.map((folder) => `du -sk ${folder.trim()} | cut -f1`).join('; ');
  const kib = (
    await podman(['run', '--rm', '--pull=never', '--user', '0', '--entrypoint', 'sh', image, '-c', script])
  ).stdout
    .trim()
    .split('\n');
  const inside = folders.map((folder, index) => `  ${mb(Number(kib[index]) * 1024).padStart(9)}  ${folder}`);
  const text = [`image ${image}: ${mb(total)}`, 'layers (podman history):', ...layers, 'inside (du):', ...inside].join(
    '\n',
  );
  return { total, text };
}

export const mb = (bytes: number): string => `${(bytes / 1_000_000).toFixed(1)} MB`;
