import type { Hub } from '../config/load.ts';
import { defaultSecretEnv } from '../config/secrets.ts';
import type { StatusSink } from '../health/run.ts';
import type { Logger, SecretRegistry } from '../logger.ts';

/** The status table writer, loaded when a hub has spec.statusWriteback (it opens the hub's database). */
export function statusTableWriter(env: NodeJS.ProcessEnv, logger: Logger, secrets: SecretRegistry): StatusSink {
  return async (hub: Hub, nodes) => {
    const { writeStatusTable } = await import('../health/status-table.ts');
    return writeStatusTable(hub, nodes, { secretEnv: defaultSecretEnv(secrets, env), logger });
  };
}
