import { loadConfig } from '../config/load.ts';
import { defaultSecretEnv } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { templateVariables } from '../plan/render-hub.ts';
import { formHash, renderNode } from '../plan/node.ts';
import { checkRoot } from '../render/paths.ts';
import { TemplateEngine } from '../render/template.ts';
import { readHubRows } from '../sources/factory.ts';
import { BRIDGE_VERSION } from '../version.ts';
import { parseNodeRef } from './arguments.ts';
import type { CommandContext } from './io.ts';
import { EXIT_OK } from './exit-codes.ts';

/** `lynq render hub/form/uid`: the node's files on stdout, as a multi-document stream. */
export async function runRender(
  node: string,
  options: { hubs: string; forms: string },
  context: CommandContext,
): Promise<number> {
  const { hub: hubName, form: formName, uid } = parseNodeRef(node);
  const config = await loadConfig({ hubsDir: options.hubs, formsDir: options.forms });
  const hub = config.hubs.get(hubName);
  if (hub === undefined) throw new ConfigError(`no hub named ${JSON.stringify(hubName)}`);
  const form = config.forms.find((candidate) => candidate.name === formName && candidate.spec.hubId === hubName);
  if (form === undefined) throw new ConfigError(`no form named ${JSON.stringify(formName)} for hub ${hubName}`);
  const rows = await readHubRows(hub, {
    secretEnv: defaultSecretEnv(context.secrets, context.io.env),
    logger: context.logger,
  });
  const matches = rows.filter((row) => row.uid === uid);
  if (matches.length === 0) throw new ConfigError(`no row with uid ${JSON.stringify(uid)}`, { hub: hubName });
  if (matches.length > 1)
    throw new ConfigError(`${matches.length} rows have uid ${JSON.stringify(uid)}`, { hub: hubName });
  const row = matches[0]!;
  if (!row.active)
    context.io.err.write(`lynq: note: row ${uid} is not active, so a sync would not publish this node\n`);
  const root = checkRoot(hub.spec.publish.root, { hub: hub.name, file: hub.file, field: 'spec.publish.root' });
  const engine = new TemplateEngine(templateVariables(hub));
  const when = form.spec.rows?.when;
  if (
    when !== undefined &&
    !engine.selects(
      when,
      { ...row.values, hubId: hub.name, templateRef: form.name },
      { hub: hub.name, form: form.name, uid },
      'spec.rows.when',
    )
  ) {
    context.io.err.write(
      `lynq: note: row ${uid} does not match the form's selector (spec.rows.when: ${when}), so a sync would not publish this node\n`,
    );
  }
  const rendered = renderNode(
    { hub, form, formHash: formHash(form), engine, root, bridgeVersion: BRIDGE_VERSION },
    row,
  );
  const docs = rendered.files.map((file) => `# Source: ${rendered.dir}/${file.name}\n${file.content}`);
  if (rendered.appFile !== undefined) docs.push(`# Source: ${rendered.appFile.path}\n${rendered.appFile.content}`);
  context.io.out.write(docs.join('---\n'));
  return EXIT_OK;
}
