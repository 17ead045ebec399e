import { templateVariables } from '../../src/plan/render-hub.ts';
import { formHash, renderNode } from '../../src/plan/node.ts';
import type { RenderedNode } from '../../src/render/node.ts';
import { TemplateEngine } from '../../src/render/template.ts';
import { testForm, testHub } from './config.ts';

/** A form of three DAG levels (namespace → config map → service): Flux gets a kustomization per level. */
export const LISTS = `  namespaces:
    - id: ns
      nameTemplate: "{{ uid }}"
      spec:
        apiVersion: v1
        kind: Namespace
  configMaps:
    - id: settings
      dependIds: [ns]
      nameTemplate: settings
      targetNamespace: "{{ uid }}"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          PLAN: "{{ plan }}"
  services:
    - id: service
      dependIds: [settings]
      nameTemplate: web
      targetNamespace: "{{ uid }}"
      spec:
        apiVersion: v1
        kind: Service
        spec:
          ports:
            - port: 80
`;

/** One node of hub customers (publish repo set, branch live) with `gitops` under spec.gitops, rendered from one row. */
export function renderTestNode(gitops: string, lists = LISTS, uid = 'acme', formName = 'web'): RenderedNode {
  const hub = testHub({
    extra: { plan: 'plan' },
    spec: `  publish:\n    repo: https://git.example.com/manifests.git\n    branch: live\n  gitops:\n${gitops}`,
  });
  const form = testForm(lists, { name: formName });
  const context = {
    hub,
    form,
    formHash: formHash(form),
    engine: new TemplateEngine(templateVariables(hub)),
    root: 'nodes',
    bridgeVersion: '0.0.0-test',
  };
  return renderNode(context, { uid, active: true, values: { uid, activate: 'true', plan: 'gold' } });
}
