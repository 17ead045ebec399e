import { ConfigError } from '../errors.ts';
import type { FormSpec, ResourceList, TResource } from './form-schema.ts';
import { RESOURCE_LISTS } from './form-schema.ts';
import type { HubSpec } from './hub-schema.ts';
import { builtInApiVersionsOf, isBuiltInApiVersion, isBuiltInKindOf, staticSchemaProblems } from './k8s-schema.ts';
import { isRemoteUrl } from './repo-url.ts';
import { checkRoot } from './root.ts';
import { hasSopsBlock, plaintextSecretPath, PLAINTEXT_SECRET_MESSAGE } from './secret-manifest.ts';

/**
 * What can be known wrong before any row is read, so `lynq validate` says it and a sync
 * never reads the database for a hub that cannot publish: each form resource's kind,
 * apiVersion, name and Secret data, and its built-in kind's schema on the parts that are
 * not templates; each hub's repository, root and pull-request settings.
 */

/** A problem and the YAML path it is at (for its line). */
export type Finding = { path: Array<string | number>; message: string };

const TEMPLATE = /\{\{|\{%/;

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function listOfKind(kind: string): ResourceList | undefined {
  return (Object.entries(RESOURCE_LISTS) as Array<[ResourceList, string | undefined]>).find(
    ([, expected]) => expected === kind,
  )?.[0];
}

/** Every finding of every resource of a form. */
export function formFindings(spec: FormSpec, lists: readonly ResourceList[]): Finding[] {
  const findings: Finding[] = [];
  for (const list of lists)
    for (const [index, resource] of spec[list].entries()) findings.push(...resourceFindings(resource, list, index));
  return findings;
}

function resourceFindings(resource: TResource, list: ResourceList, index: number): Finding[] {
  const at = ['spec', list, index];
  const manifest = resource.spec;
  const findings: Finding[] = [];
  const fields = { apiVersion: manifest.apiVersion, kind: manifest.kind };
  for (const [field, value] of Object.entries(fields)) {
    if (typeof value !== 'string' || value === '')
      findings.push({ path: [...at, 'spec', field], message: `the manifest has no ${field}` });
  }
  const apiVersion =
    typeof fields.apiVersion === 'string' && !TEMPLATE.test(fields.apiVersion) ? fields.apiVersion : undefined;
  const kind =
    typeof fields.kind === 'string' && fields.kind !== '' && !TEMPLATE.test(fields.kind) ? fields.kind : undefined;
  const expected = RESOURCE_LISTS[list];
  if (kind !== undefined && expected !== undefined && kind !== expected) {
    const better = listOfKind(kind);
    findings.push({
      path: [...at, 'spec', 'kind'],
      message: `is in the ${list} list, so its kind must be ${expected}, not ${kind}${better ? ` (a ${kind} goes in ${better})` : ''}`,
    });
  } else if (kind !== undefined && apiVersion) {
    // A kind Kubernetes has, under an apiVersion that is built in or has no group domain (`app/v1`): a misspelt apiVersion, not a CRD.
    const looksBuiltIn = isBuiltInApiVersion(apiVersion) || !apiVersion.split('/')[0]!.includes('.');
    // The index of every built-in kind is read only when the pair is not one at once.
    const versions = looksBuiltIn && !isBuiltInKindOf(apiVersion, kind) ? builtInApiVersionsOf(kind) : [];
    if (versions.length > 0 && !versions.includes(apiVersion) && looksBuiltIn) {
      findings.push({ path: [...at, 'spec', 'apiVersion'], message: `${kind} is ${versions[0]}, not ${apiVersion}` });
    } else if (isBuiltInApiVersion(apiVersion) && !hasSopsBlock(manifest)) {
      const templateAt = (parts: readonly string[]): string | undefined => {
        let value: unknown = manifest;
        for (const part of parts)
          value = Array.isArray(value) ? value[Number(part)] : isMapping(value) ? value[part] : undefined;
        return typeof value === 'string' && TEMPLATE.test(value) ? value : undefined;
      };
      for (const problem of staticSchemaProblems(manifest, templateAt)) {
        findings.push({
          path: [...at, 'spec', ...pathParts(problem.path)],
          message: `${problem.message} (${kind} schema)`,
        });
      }
    }
  }
  const metadata = manifest.metadata;
  const named = isMapping(metadata) && typeof metadata.name === 'string' && metadata.name !== '';
  if (resource.nameTemplate === undefined && !named)
    findings.push({ path: at, message: 'the manifest has no name: set nameTemplate or spec.metadata.name' });
  const plaintext = plaintextSecretPath(manifest);
  if (plaintext !== undefined)
    findings.push({ path: [...at, 'spec', ...pathParts(plaintext)], message: PLAINTEXT_SECRET_MESSAGE });
  return findings;
}

/** `spec.template.spec.containers[0].name` → its parts. */
function pathParts(path: string): Array<string | number> {
  const parts: Array<string | number> = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g)) {
    if (match[2] !== undefined) parts.push(Number(match[2]));
    else if (match[3] !== undefined) parts.push(JSON.parse(`"${match[3]}"`) as string);
    else parts.push(match[1]!);
  }
  return parts;
}

export type PublishCheckOptions = {
  /** `--repo`, which stands in for `spec.publish.repo`. */
  repoOverride?: string;
  /** A missing repository is a problem (sync, history), or left for the caller to note (validate: Lynq's own files have none). */
  requireRepo?: boolean;
};

/** What a hub needs to publish at all: a repository, a root inside it, and for pull requests a forge URL, credentials and a bot branch of its own. */
export function publishFindings(hub: { name: string; spec: HubSpec }, options: PublishCheckOptions): Finding[] {
  const { publish } = hub.spec;
  const findings: Finding[] = [];
  const repo = options.repoOverride ?? publish.repo;
  if (repo === undefined && options.requireRepo !== false) {
    findings.push({
      path: ['spec', 'publish'],
      message:
        'spec.publish.repo is required: the manifests repository (a git URL, or a path relative to the hub file), or pass --repo',
    });
  }
  try {
    checkRoot(publish.root, {});
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    findings.push({ path: ['spec', 'publish', 'root'], message: error.detail });
  }
  const pullRequests = publish.mode === 'pull-request' || Object.values(publish.routing ?? {}).includes('pull-request');
  if (!pullRequests) return findings;
  const where = options.repoOverride !== undefined ? '--repo' : 'spec.publish.repo';
  if (repo !== undefined && !isRemoteUrl(repo)) {
    findings.push({
      path: ['spec', 'publish', 'repo'],
      message: `pull requests need the manifests repository as a URL on the forge (https or ssh); ${where} is the local path ${JSON.stringify(repo)}`,
    });
  }
  const platform = publish.platform;
  if (platform?.app === undefined && platform?.token === undefined && publish.auth?.token === undefined) {
    findings.push({
      path: ['spec', 'publish'],
      message:
        'pull requests need GitHub credentials: spec.publish.platform.token, spec.publish.platform.app, or spec.publish.auth.token',
    });
  }
  const bot = publish.pullRequest.branch ?? `lynq/${hub.name}`;
  if (bot === publish.branch) {
    const field = publish.pullRequest.branch === undefined ? 'spec.publish.branch' : 'spec.publish.pullRequest.branch';
    findings.push({
      path: field.split('.'),
      message: `the pull-request branch ${bot}${publish.pullRequest.branch === undefined ? ' (the default, lynq/<hub>)' : ''} is the target branch: the bridge rebuilds and force-pushes it every sync; set spec.publish.pullRequest.branch to another branch`,
    });
  }
  return findings;
}
