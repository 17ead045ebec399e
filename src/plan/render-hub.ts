import type { Form, Hub } from '../config/load.ts';
import { isLynqError, messageOf } from '../errors.ts';
import { resolveGitops } from '../gitops/engine.ts';
import { formHash, renderNode, type RenderedNode } from '../render/node.ts';
import { TemplateEngine } from '../render/template.ts';
import type { HubRow } from '../sources/rows.ts';

export type NodeFailure = { form: string; uid: string; error: string };

export type RenderedHub = {
  nodes: RenderedNode[];
  failures: NodeFailure[];
  /** uids of inactive rows, to tell "deactivated" from "deleted" on removal. */
  inactive: Set<string>;
};

/**
 * Render every active row × every form of the hub. One bad row or template fails that
 * node only. Rows sharing a uid all fail: which one is meant cannot be guessed.
 */
export function renderHub(hub: Hub, forms: readonly Form[], rows: readonly HubRow[], options: { root: string; bridgeVersion: string }): RenderedHub {
  const engine = new TemplateEngine(templateVariables(hub));
  const gitops = resolveGitops(hub);
  const active = rows.map((row, index) => ({ row, number: index + 1 })).filter(({ row }) => row.active);
  const byUid = new Map<string, number[]>();
  for (const { row, number } of active) byUid.set(row.uid, [...(byUid.get(row.uid) ?? []), number]);
  const inactive = new Set(rows.filter((row) => !row.active).map((row) => row.uid));

  const nodes: RenderedNode[] = [];
  const failures: NodeFailure[] = [];
  for (const form of forms) {
    const context = { hub, form, formHash: formHash(form), engine, root: options.root, bridgeVersion: options.bridgeVersion, gitops };
    const reported = new Set<string>();
    for (const { row } of active) {
      const numbers = byUid.get(row.uid)!;
      if (numbers.length > 1) {
        if (!reported.has(row.uid)) {
          reported.add(row.uid);
          failures.push({
            form: form.name,
            uid: row.uid,
            error: `hub ${hub.name}, form ${form.name}, uid ${JSON.stringify(row.uid)}: the uid appears in ${numbers.length} active rows (rows ${numbers.join(', ')}); every one of them fails until it is unique`,
          });
        }
        continue;
      }
      try {
        nodes.push(renderNode(context, row));
      } catch (error) {
        if (!isLynqError(error)) throw error;
        failures.push({ form: form.name, uid: row.uid, error: messageOf(error) });
      }
    }
  }
  return { nodes, failures, inactive };
}

/** The names a hub's templates may use. */
export function templateVariables(hub: Hub): string[] {
  const names = ['uid', 'activate', 'hubId', 'templateRef', ...Object.keys(hub.spec.extraValueMappings)];
  if (hub.spec.valueMappings.hostOrUrl !== undefined) names.push('hostOrUrl', 'host');
  return names;
}
