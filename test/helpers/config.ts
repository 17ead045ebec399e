import { parseForm, parseHub, type Form, type Hub } from '../../src/config/load.ts';

/** A postgresql hub in YAML, with the given extra mappings and spec additions. */
export function hubYaml(options: { name?: string; table?: string; schema?: string; extra?: Record<string, string>; spec?: string; namespace?: string } = {}): string {
  const extra = Object.entries(options.extra ?? {})
    .map(([variable, column]) => `    ${variable}: ${column}\n`)
    .join('');
  return `apiVersion: operator.lynq.sh/v1
kind: LynqHub
metadata:
  name: ${options.name ?? 'customers'}
  namespace: ${options.namespace ?? 'tenants'}
spec:
  source:
    type: postgresql
    postgresql:
      host: 127.0.0.1
      username: postgres
      database: test
      table: ${options.table ?? 'customers'}
      connectTimeoutSeconds: 5
  valueMappings:
    uid: id
    activate: active
${extra ? `  extraValueMappings:\n${extra}` : ''}${options.spec ?? ''}`;
}

export function testHub(options: Parameters<typeof hubYaml>[0] = {}): Hub {
  return parseHub('hubs/test.yaml', hubYaml(options));
}

/** A form for `hubId` with the given resource lists (YAML under spec). */
export function testForm(lists: string, options: { name?: string; hubId?: string } = {}): Form {
  return parseForm(`forms/${options.name ?? 'web'}.yaml`, formYaml(lists, options));
}

export function formYaml(lists: string, options: { name?: string; hubId?: string } = {}): string {
  return `apiVersion: operator.lynq.sh/v1
kind: LynqForm
metadata:
  name: ${options.name ?? 'web'}
spec:
  hubId: ${options.hubId ?? 'customers'}
${lists}`;
}
