// A pod of deploy/ (kubectl kustomize), run by podman as the kubelet would run it: the
// same user, read-only root filesystem, dropped capabilities, environment, arguments and
// mounts, each volume a host folder: filled by the test (ConfigMap, Secret), owned by the
// pod's user (claim), or empty and writable by all (emptyDir). What the manifests say is
// what runs: nothing is restated here.
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './podman.ts';

const run = promisify(execFile);

export type Container = {
  args: string[];
  env: Array<{ name: string; value: string }>;
  securityContext: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
};
export type PodSpec = {
  securityContext: { runAsUser: number; runAsGroup: number; runAsNonRoot?: boolean };
  terminationGracePeriodSeconds?: number;
  containers: Container[];
  volumes: Array<{
    name: string;
    configMap?: { name: string };
    secret?: { secretName: string };
    emptyDir?: object;
    persistentVolumeClaim?: { claimName: string };
  }>;
};

/** The pod template of the one CronJob or Deployment `kubectl kustomize <dir>` gives. */
export async function podOf(dir: string, kind: 'CronJob' | 'Deployment'): Promise<PodSpec> {
  const { stdout } = await run('kubectl', ['kustomize', path.join(ROOT, dir)], { maxBuffer: 16 * 1024 * 1024 });
  const docs = parseAllDocuments(stdout).map((doc) => doc.toJS() as { kind: string; spec: Record<string, any> });
  const found = docs.filter((doc) => doc.kind === kind);
  if (found.length !== 1) throw new Error(`${dir}: expected one ${kind}, found ${found.length}`);
  return kind === 'CronJob' ? found[0]!.spec.jobTemplate.spec.template.spec : found[0]!.spec.template.spec;
}

/** Host folders standing in for the pod's volumes, by volume name: files for ConfigMaps and Secrets, an empty folder for a claim. */
export type Volumes = { byName: Map<string, string>; root: string; cleanup(): Promise<void> };

export async function hostVolumes(pod: PodSpec, files: Record<string, Record<string, string>>): Promise<Volumes> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'lynq-pod-volumes-'));
  const byName = new Map<string, string>();
  const { runAsUser: uid, runAsGroup: gid } = pod.securityContext;
  for (const volume of pod.volumes) {
    const dir = path.join(root, volume.name);
    await mkdir(dir);
    if (volume.emptyDir !== undefined) {
      // As the kubelet makes an emptyDir: writable by every user (a podman tmpfs over a folder the image has keeps that folder's owner and mode).
      await chmod(dir, 0o777);
      byName.set(volume.name, dir);
      continue;
    }
    // A generated ConfigMap's name carries kustomize's content hash (lynq-hubs-<hash>).
    const source = volume.configMap?.name.replace(/-[a-z0-9]{10}$/, '') ?? volume.secret?.secretName;
    if (source !== undefined) {
      const given = files[source];
      if (given === undefined) throw new Error(`no files given for the volume ${volume.name} (${source})`);
      for (const [name, text] of Object.entries(given)) await writeFile(path.join(dir, name), text);
    } else {
      // A claim: owned by the pod's group as fsGroup makes it; the test owns nothing else in it.
      await chown(dir, uid, gid);
    }
    byName.set(volume.name, dir);
  }
  return { byName, root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** `podman run` options for the pod's first container (the image and its arguments go after them). */
export function runOptions(pod: PodSpec, volumes: Volumes): string[] {
  const container = pod.containers[0]!;
  const options = [
    '--user',
    `${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`,
    '--network=host',
    '--pull=never',
  ];
  if (container.securityContext.readOnlyRootFilesystem) options.push('--read-only', '--read-only-tmpfs=false');
  if (container.securityContext.capabilities?.drop?.includes('ALL')) options.push('--cap-drop=all');
  if (container.securityContext.allowPrivilegeEscalation === false) options.push('--security-opt=no-new-privileges');
  for (const { name, value } of container.env) options.push('--env', `${name}=${value}`);
  for (const mount of container.volumeMounts) {
    options.push('--volume', `${volumes.byName.get(mount.name)!}:${mount.mountPath}:${mount.readOnly ? 'ro' : 'rw'}`);
  }
  return options;
}

/** A bare repository on the host, mounted into the container at `mountPath`, writable by the pod's user (it stands for the remote). */
export async function bareRemote(pod: PodSpec): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lynq-image-remote-'));
  await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', dir]);
  await run('chown', ['-R', `${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`, dir]);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** git, as root on the host, in a repository the container's user owns. */
export async function hostGit(dir: string, args: readonly string[]): Promise<string> {
  return (await run('git', ['-c', `safe.directory=${dir}`, '-C', dir, ...args])).stdout;
}
