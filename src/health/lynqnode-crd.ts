import { KubeError } from '../errors.ts';
import { checkLynqNodeCrd, LYNQNODE_CRD_NAME } from '../gitops/lynq-operator-clash.ts';
import type { KubeClient } from '../kube/client.ts';
import { CUSTOM_RESOURCE_DEFINITION } from '../kube/resources.ts';

/**
 * What the cluster's LynqNode CRD says about living next to the Lynq operator:
 * `ours` and `absent` need no word; `clash` is the operator's CRD (or one the bridge cannot
 * read), with checkLynqNodeCrd's message; `not-checked` is a 403 (the check is advisory, so
 * an account without the grant still gets its status); `cluster-failed` is any other
 * failure, classified as every other cluster read is.
 */
export type LynqNodeCrdCheck =
  | { outcome: 'ours' | 'absent' }
  | { outcome: 'clash'; message: string }
  | { outcome: 'not-checked'; message: string }
  | { outcome: 'cluster-failed'; message: string };

/** The RBAC grant the check needs, named in the 403 note (deploy/base/rbac.yaml, deploy/rbac-namespaced/rbac-crd-check.yaml). */
export const CRD_GRANT = `get on customresourcedefinitions.apiextensions.k8s.io ${LYNQNODE_CRD_NAME}`;

/** One GET of lynqnodes.operator.lynq.sh, judged by checkLynqNodeCrd. */
export async function checkClusterLynqNodeCrd(kube: KubeClient): Promise<LynqNodeCrdCheck> {
  let crd: unknown;
  try {
    crd = await kube.findClusterScoped(CUSTOM_RESOURCE_DEFINITION, LYNQNODE_CRD_NAME);
  } catch (error) {
    if (!(error instanceof KubeError)) throw error;
    // The KubeError's text is the API's own Status message (scrubbed): it names the user and the verb refused, never a credential.
    if (error.status === 403)
      return { outcome: 'not-checked', message: `${error.message}; the check needs ${CRD_GRANT}` };
    return { outcome: 'cluster-failed', message: error.message };
  }
  if (crd === undefined) return { outcome: 'absent' };
  const verdict = checkLynqNodeCrd(crd);
  return verdict.ours ? { outcome: 'ours' } : { outcome: 'clash', message: verdict.message };
}
