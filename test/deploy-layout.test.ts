import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
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

describe('deploy/overlays/argocd-cronjob (kubectl kustomize)', () => {
  test('the volume layout it gives the pod hands the bridge a folder of hub files and one of form files, where its arguments say', async () => {
    const { stdout } = await run('kubectl', ['kustomize', path.join(ROOT, 'deploy/overlays/argocd-cronjob')], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const docs = parseAllDocuments(stdout).map((doc) => doc.toJS() as Record<string, any>);
    const pod = docs.find((doc) => doc.kind === 'CronJob')!.spec.jobTemplate.spec.template.spec;
    const container = pod.containers[0] as { volumeMounts: Mount[]; args: string[] };
    const volumes = pod.volumes as Volume[];
    // The ConfigMaps as kustomize generated them: one key per hub or form file.
    const configMaps = new Map<string, Record<string, string>>(
      docs.filter((doc) => doc.kind === 'ConfigMap').map((doc) => [doc.metadata.name, doc.data]),
    );

    const root = await mkdtemp(path.join(os.tmpdir(), 'lynq-pod-'));
    try {
      let mounted = 0;
      for (const mount of container.volumeMounts) {
        const volume = volumes.find((candidate) => candidate.name === mount.name)!;
        if (volume.configMap === undefined) continue;
        const volumeDir = path.join(root, '.volumes', mount.name);
        await configMapVolume(volumeDir, configMaps.get(volume.configMap.name)!);
        // The kubelet mounts volume/subPath (creating it empty when the volume has no such entry).
        const source = path.join(volumeDir, mount.subPath ?? '');
        await mkdir(source, { recursive: true });
        await mkdir(path.dirname(path.join(root, mount.mountPath)), { recursive: true });
        await symlink(source, path.join(root, mount.mountPath));
        mounted++;
      }
      assert.equal(mounted, 2, 'hubs and forms');
      // The container's arguments, with its absolute paths under this pod's root.
      const args = container.args.map((arg) => (arg.startsWith('/') ? path.join(root, arg) : arg));
      assert.equal(args[0], 'sync');
      const result = await run(
        'node',
        [path.join(ROOT, 'bin/lynq.mjs'), 'validate', '--files-only', ...args.slice(1)],
        { cwd: root, env: { ...process.env, LYNQ_LOG_LEVEL: 'silent' } },
      ).catch((error: { stdout: string; stderr: string }) => error);
      assert.match(result.stdout, /^ok: 1 hubs, 1 forms, \d+ resources$/m, result.stderr);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
