import { parseForm, parseHub, type Form, type Hub } from '../../src/config/load.ts';

export type HubYamlOptions = {
  name?: string;
  namespace?: string;
  database?: string;
  /** Written only when given (PostgreSQL's default port otherwise). */
  port?: number;
  table?: string;
  schema?: string;
  connectTimeoutSeconds?: number;
  extra?: Record<string, string>;
  /** YAML lines appended under spec. */
  spec?: string;
};

/** A postgresql hub in YAML, with the given extra mappings and spec additions. */
export function hubYaml(options: HubYamlOptions = {}): string {
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
${options.port === undefined ? '' : `      port: ${options.port}\n`}      username: postgres
      database: ${options.database ?? 'test'}
      table: ${options.table ?? 'customers'}
      connectTimeoutSeconds: ${options.connectTimeoutSeconds ?? 5}
  valueMappings:
    uid: id
    activate: active
${extra ? `  extraValueMappings:\n${extra}` : ''}${options.spec ?? ''}`;
}

export function testHub(options: HubYamlOptions = {}): Hub {
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
