import { parse } from 'yaml';
import { LynqNodeFile } from '../config/node-schema.ts';
import type { ManifestsRepo } from '../git/manifests-repo.ts';
import { ANNOTATION_FORM_HASH, LYNQNODE_FILE } from '../render/node.ts';

/** A node as Git has it: what the read-back looks for in the cluster and what it judges it by. */
export type GitNode = {
  form: string;
  uid: string;
  /** The LynqNode's name and namespace. */
  name: string;
  namespace: string;
  engine: 'argocd' | 'flux' | undefined;
  objects: Array<{ apiVersion: string; kind: string; name: string; namespace: string }>;
  resources: LynqNodeFile['spec']['resources'];
  /** The largest timeoutSeconds of its resources (Lynq's default 300). */
  timeoutSeconds: number;
  /** The form version it was rendered from (its `lynq.sh/form-hash` annotation); null: it has none (edited by hand). */
  formHash: string | null;
};

export const DEFAULT_TIMEOUT_SECONDS = 300;

/**
 * Every node of a hub at `head`: one `ls-tree` of `<root>/<hub>/` and one `cat-file
 * --batch` of the LynqNodes. A LynqNode that does not parse (edited by hand) is reported
 * back as unreadable, not guessed at.
 */
export async function readGitNodes(
  repo: ManifestsRepo,
  head: string | undefined,
  prefix: string,
  defaultNamespace: string,
  known: ReadonlyMap<string, NodeSummary> = new Map(),
): Promise<{ nodes: GitNode[]; unreadable: string[]; parsed: Map<string, NodeSummary> }> {
  const listing = await repo.listTree(head, prefix);
  const files = [...listing].filter(
    ([file]) => file.endsWith(`/${LYNQNODE_FILE}`) && file.slice(prefix.length + 1).split('/').length === 3,
  );
  files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const blobs = await repo.readBlobs(files.filter(([, id]) => !known.has(id)).map(([, id]) => id));
  const nodes: GitNode[] = [];
  const unreadable: string[] = [];
  // Every summary in use now (known or just parsed): what the memo keeps for next time.
  const summaries = new Map<string, NodeSummary>();
  for (const [file, id] of files) {
    const [form = '', uid = ''] = file.slice(prefix.length + 1).split('/');
    const remembered = known.get(id);
    if (remembered !== undefined) {
      nodes.push({ form, uid, ...remembered });
      summaries.set(id, remembered);
      continue;
    }
    let parsed: ReturnType<typeof LynqNodeFile.safeParse> | undefined;
    try {
      parsed = LynqNodeFile.safeParse(parse(blobs.get(id) ?? ''));
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || !parsed.success) {
      unreadable.push(file);
      continue;
    }
    const spec = parsed.data.spec;
    const summary: NodeSummary = {
      name: parsed.data.metadata.name,
      namespace: parsed.data.metadata.namespace ?? defaultNamespace,
      engine: spec.gitops?.engine,
      objects: spec.gitops?.objects ?? [],
      // Only what the read-back uses, so the memo stays small.
      resources: spec.resources.map(
        ({ id: resourceId, apiVersion, kind, name, namespace, file: resourceFile, level, timeoutSeconds }) => ({
          id: resourceId,
          apiVersion,
          kind,
          name,
          namespace,
          file: resourceFile,
          level,
          timeoutSeconds,
        }),
      ),
      timeoutSeconds:
        Math.max(0, ...spec.resources.map((resource) => resource.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS)) ||
        DEFAULT_TIMEOUT_SECONDS,
      formHash: parsed.data.metadata.annotations?.[ANNOTATION_FORM_HASH] ?? null,
    };
    nodes.push({ form, uid, ...summary });
    summaries.set(id, summary);
  }
  return { nodes, unreadable, parsed: summaries };
}

/** What a LynqNode says that the read-back needs, kept by blob id between runs (node-memo.ts). */
export type NodeSummary = Omit<GitNode, 'form' | 'uid'>;
