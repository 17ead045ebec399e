import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

type Mount = { name: string; mountPath: string; subPath?: string };
type Volume = { name: string; configMap?: { name: string } };

/**
 * A ConfigMap volume as the kubelet writes it: every key a file in a timestamped folder,
 * `..data` pointing at that folder, and one symlink per key at the top.
 */
async function configMapVolume(dir: string, files: Record<string, string>): Promise<void> {
  const stamp = '..2026_01_01_00_00_00.000000001';
  await mkdir(path.join(dir, stamp), { recursive: true });
  await symlink(stamp, path.join(dir, '..data'));
  for (const [key, text] of Object.entries(files)) {
    await writeFile(path.join(dir, stamp, key), text);
    await symlink(path.join('..data', key), path.join(dir, key));
  }
}

async function folderAsConfigMap(folder: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(path.join(ROOT, folder), { withFileTypes: true })) {
    if (entry.isFile()) files[entry.name] = await readFile(path.join(ROOT, folder, entry.name), 'utf8');
  }
  return files;
}

describe('docker/cronjob.yaml', () => {
  test('the volume layout it describes gives the bridge a folder of hub files and one of form files', async () => {
    const docs = parseAllDocuments(await readFile(path.join(ROOT, 'docker/cronjob.yaml'), 'utf8')).map((doc) => doc.toJS() as Record<string, any>);
    const pod = docs.find((doc) => doc.kind === 'CronJob')!.spec.jobTemplate.spec.template.spec;
    const container = pod.containers[0] as { volumeMounts: Mount[]; args: string[] };
    const volumes = pod.volumes as Volume[];
    const workdir = /^WORKDIR (\S+)$/gm;
    const dockerfile = await readFile(path.join(ROOT, 'docker/Dockerfile'), 'utf8');
    const workdirs = [...dockerfile.matchAll(workdir)].map((match) => match[1]!);
    const cwd = workdirs.at(-1)!;
    // The ConfigMaps made as the manifest's comment says: one key per file of hubs/ and forms/.
    const contents: Record<string, Record<string, string>> = { 'lynq-hubs': await folderAsConfigMap('hubs'), 'lynq-forms': await folderAsConfigMap('forms') };

    const root = await mkdtemp(path.join(os.tmpdir(), 'lynq-pod-'));
    try {
      for (const mount of container.volumeMounts) {
        const volume = volumes.find((candidate) => candidate.name === mount.name)!;
        if (volume.configMap === undefined) continue;
        const volumeDir = path.join(root, '.volumes', mount.name);
        await configMapVolume(volumeDir, contents[volume.configMap.name]!);
        // The kubelet mounts volume/subPath (creating it empty when the volume has no such entry).
        const source = path.join(volumeDir, mount.subPath ?? '');
        await mkdir(source, { recursive: true });
        await mkdir(path.dirname(path.join(root, mount.mountPath)), { recursive: true });
        await symlink(source, path.join(root, mount.mountPath));
      }
      const result = await run('node', [path.join(ROOT, 'bin/lynq.mjs'), 'validate', '--files-only'], { cwd: path.join(root, cwd), env: { ...process.env, LYNQ_LOG_LEVEL: 'silent' } }).catch(
        (error: { stdout: string; stderr: string }) => error,
      );
      assert.match(result.stdout, /^ok: 3 hubs, 4 forms, \d+ resources$/m, result.stderr);
      assert.deepEqual(container.args, ['sync'], 'the container syncs with the default folders, hubs and forms under its WORKDIR');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
