import { kindScope, type KindScope } from '../config/kind-scope.ts';
import { LYNQNODE_FILE } from '../render/node.ts';
import { readPreviousNode } from './previous-node.ts';
import type { BlobReader, NodeChange, Plan, TreeListing } from './types.ts';

/** The plan checked, and the same check for a node rendered after it (by the rollout gate, for a slot). */
export type ObjectCheck = { plan: Plan; check: (node: NodeChange) => NodeChange };

/** What Kubernetes (and Argo CD, Flux) take to be the same object: apiVersion, kind, namespace and name. */
type Identified = { apiVersion: string; kind: string; namespace?: string | undefined; name: string };

/** Whether a kind is cluster-scoped: its objects are one object whatever namespace a file (an older render) gave them. */
type ClusterScoped = (object: Identified) => boolean;

function same(a: Identified, b: Identified, clusterScoped: ClusterScoped): boolean {
  return (
    a.name === b.name &&
    a.kind === b.kind &&
    a.apiVersion === b.apiVersion &&
    ((a.namespace ?? '') === (b.namespace ?? '') || clusterScoped(a))
  );
}

/**
 * Who renders each object, found by the object's name (a string the rendered node holds
 * already): a list of object, owner, object, owner, … per name. A key string per object
 * (`apiVersion/kind/namespace/name`) cost a string per object at the peak of a large first
 * sync; the names are there already.
 */
class Owners {
  private readonly byName = new Map<string, Array<Identified | string>>();

  constructor(private readonly clusterScoped: ClusterScoped) {}

  get(object: Identified): string | undefined {
    const list = this.byName.get(object.name);
    if (list === undefined) return undefined;
    for (let at = 0; at < list.length; at += 2)
      if (same(list[at] as Identified, object, this.clusterScoped)) return list[at + 1] as string;
    return undefined;
  }

  set(object: Identified, owner: string): void {
    const list = this.byName.get(object.name);
    if (list === undefined) {
      this.byName.set(object.name, [object, owner]);
      return;
    }
    for (let at = 0; at < list.length; at += 2) {
      if (same(list[at] as Identified, object, this.clusterScoped)) {
        list[at + 1] = owner;
        return;
      }
    }
    list.push(object, owner);
  }
}

/**
 * Two nodes of one hub must never render the same object: Argo CD and Flux would apply
 * both files to one object, and removing either node would delete the other's workload.
 * It happens when a form is renamed (the new nodes are added while the old ones are held
 * by the deletion guard) or when a name template uses a column that is not unique.
 * Checked among the nodes this sync rendered and the held nodes (whose LynqNodes record
 * their objects): the node that sorts later fails, naming the object and the other node,
 * and keeps what Git has. A node Git has that this sync did not need to render (unchanged
 * and sealed, or a change left unrendered for the rollout gate) is not checked against;
 * it is when it is next rendered. `check` does that for a node the rollout gate renders
 * for a slot: its objects against every node checked so far.
 */
export async function failDuplicateObjects(
  plan: Plan,
  existing: TreeListing,
  readBlobs: BlobReader,
  root: string,
  declared?: Readonly<Record<string, KindScope>>,
): Promise<ObjectCheck> {
  const owners = new Owners((object) => kindScope(object.apiVersion, object.kind, declared) === 'Cluster');
  const held = plan.nodes.filter((node) => node.status === 'held');
  const ids = held
    .map((node) => existing.get(`${root}/${node.hub}/${node.form}/${node.uid}/${LYNQNODE_FILE}`))
    .filter((id): id is string => id !== undefined);
  const texts = ids.length > 0 ? await readBlobs(ids) : new Map<string, string>();
  for (const node of held) {
    const text = texts.get(existing.get(`${root}/${node.hub}/${node.form}/${node.uid}/${LYNQNODE_FILE}`) ?? '');
    for (const object of (text === undefined ? undefined : readPreviousNode(text))?.objects ?? [])
      owners.set(object, `${node.form}/${node.uid}`);
  }
  const claim = (node: NodeChange): NodeChange => {
    if (node.node === undefined || node.status === 'failed' || node.status === 'held') return node;
    const self = `${node.form}/${node.uid}`;
    for (const resource of node.node.resources) {
      const owner = owners.get(resource);
      if (owner !== undefined && owner !== self) {
        const error = `hub ${node.hub}, form ${node.form}, uid ${JSON.stringify(node.uid)}, resource ${resource.id}: renders ${resource.kind} ${resource.namespace ? `${resource.namespace}/` : ''}${resource.name}, which node ${owner} of this hub already renders; two nodes must not render one object (rename one, or remove the other node first)`;
        return {
          ...node,
          status: 'failed',
          reasons: [],
          causes: [],
          resources: [],
          writes: new Map(),
          deletes: [],
          error,
        };
      }
    }
    for (const resource of node.node.resources) owners.set(resource, self);
    return node;
  };
  return { plan: { ...plan, nodes: plan.nodes.map(claim) }, check: claim };
}
