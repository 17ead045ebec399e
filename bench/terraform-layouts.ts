/**
 * The two ways bench/terraform.ts lays the same job out for Terraform, and the state file
 * each one's first apply leaves (written by the bench when that apply would take hours):
 *
 * - `for_each`: one root module, one `terraform_data` block per resource of the form, each
 *   with `for_each` over the exported rows;
 * - `module`: one `module` block per tenant row (as the seed's author laid it out), every
 *   block calling the same local module that holds one `terraform_data` per resource.
 *
 * Both read the rows from the same `nodes.json` (`{ uid: { resourceId: manifest as JSON } }`)
 * and give each `terraform_data` the manifest decoded as its `input`, so the two differ in
 * layout only.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { fail } from './common.ts';

export const LAYOUTS = ['for_each', 'module'] as const;
export type Layout = (typeof LAYOUTS)[number];

/** A layout's configuration files, by path relative to its Terraform folder. */
export function layoutFiles(layout: Layout, resourceIds: string[], uids: string[]): Record<string, string> {
  return layout === 'for_each'
    ? { 'main.tf': forEachRoot(resourceIds) }
    : { 'main.tf': moduleRoot(uids), 'tenant/main.tf': tenantModule(resourceIds) };
}

/** The address Terraform names when a one-row change modifies that row's Deployment (`web`): the only resource whose manifest it touches. */
export function deploymentAddress(layout: Layout, uid: string): string {
  return layout === 'for_each' ? `terraform_data.web["${uid}"]` : `module.${moduleName(uid)}.terraform_data.web`;
}

/** A tenant's module block name: an HCL identifier (the bench's uids, `c000042`, are already word characters). */
function moduleName(uid: string): string {
  return `tenant_${uid.replace(/\W/g, '_')}`;
}

/**
 * The root module: per resource of the form, one `terraform_data` block with `for_each` over
 * the exported rows, its input the manifest decoded. The collection is a map of JSON strings:
 * Terraform's time per instance grew with the size of the value for_each iterates over, and
 * the same manifests as nested objects (one object value of every row's manifests) made a
 * no-change plan of 100 rows (500 resources) cost 10.0–11.7 s of CPU instead of 2.0–2.4
 * (bench/README.md, "Terraform"): the form here is the faster one for Terraform.
 */
function forEachRoot(resourceIds: string[]): string {
  const blocks = resourceIds.map(
    (id) =>
      `resource "terraform_data" "${id}" {\n  for_each = local.nodes\n  input    = jsondecode(each.value["${id}"])\n}\n`,
  );
  return `# Written by bench/terraform.ts: one terraform_data per row and resource of forms/demo-web.yaml.
locals {
  nodes = tomap(jsondecode(file("\${path.module}/nodes.json")))
}

${blocks.join('\n')}`;
}

/** The root module of the per-tenant layout: one module block per row, each handed that row's manifests (JSON text, decoded in the module). */
function moduleRoot(uids: string[]): string {
  const blocks = uids.map(
    (uid) => `module "${moduleName(uid)}" {\n  source    = "./tenant"\n  manifests = local.nodes["${uid}"]\n}\n`,
  );
  return `# Written by bench/terraform.ts: one module block per tenant row, each one terraform_data per resource of forms/demo-web.yaml.
locals {
  nodes = jsondecode(file("\${path.module}/nodes.json"))
}

${blocks.join('\n')}`;
}

/** The tenant module: one `terraform_data` per resource of the form, its input the manifest decoded. */
function tenantModule(resourceIds: string[]): string {
  const blocks = resourceIds.map(
    (id) => `resource "terraform_data" "${id}" {\n  input = jsondecode(var.manifests["${id}"])\n}\n`,
  );
  return `# Written by bench/terraform.ts: one tenant's resources.
variable "manifests" {
  type = map(string)
}

${blocks.join('\n')}`;
}

/**
 * A JSON value's type as Terraform's state records a dynamic attribute's (cty's JSON type
 * encoding): what `jsondecode` gives, so objects are object types and arrays tuples, and
 * `null` is `dynamic`.
 */
function ctyType(value: unknown): unknown {
  if (value === null) return 'dynamic';
  if (Array.isArray(value)) return ['tuple', value.map(ctyType)];
  if (typeof value === 'object') {
    const attributes: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort())
      attributes[key] = ctyType((value as Record<string, unknown>)[key]);
    return ['object', attributes];
  }
  if (typeof value === 'boolean') return 'bool';
  return typeof value === 'number' ? 'number' : 'string';
}

const PROVIDER = JSON.stringify('provider["terraform.io/builtin/terraform"]');

/** One instance of a terraform_data as the first apply records it: `input` and `output` the decoded manifest with its type, `id` a fresh UUID. */
function instance(manifest: string, indexKey: string | undefined): string {
  const value = JSON.parse(manifest) as unknown;
  const typed = JSON.stringify({ value, type: ctyType(value) });
  const key = indexKey === undefined ? '' : `"index_key":${JSON.stringify(indexKey)},`;
  return `{${key}"schema_version":0,"attributes":{"id":"${randomUUID()}","input":${typed},"output":${typed},"triggers_replace":null},"sensitive_attributes":[]}`;
}

/**
 * terraform.tfstate as the layout's first `terraform apply` leaves it (format 4, checked
 * against such an apply of each layout): `for_each`, per block one instance per row keyed by
 * uid; `module`, per tenant module one resource per block with a single unkeyed instance.
 * Written piece by piece: at 10,000 rows it is larger than one string can be. Proven, not
 * trusted: the no-change plan fails the bench unless Terraform finds every instance present
 * and unchanged, and so does a one-row apply that changes anything but that row's Deployment.
 */
export async function writeState(options: {
  layout: Layout;
  file: string;
  nodes: Record<string, Record<string, string>>;
  resourceIds: string[];
  version: string;
}): Promise<void> {
  const out = createWriteStream(options.file);
  const write = async (text: string): Promise<void> => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const terraformVersion = /v(\d+\.\d+\.\d+)/.exec(options.version)?.[1] ?? fail(`no version in "${options.version}"`);
  await write(
    `{"version":4,"terraform_version":${JSON.stringify(terraformVersion)},"serial":1,"lineage":"${randomUUID()}","outputs":{},"resources":[`,
  );
  let firstResource = true;
  const resource = async (
    module: string | undefined,
    id: string,
    instances: AsyncIterable<string> | string[],
  ): Promise<void> => {
    const inModule = module === undefined ? '' : `"module":${JSON.stringify(module)},`;
    await write(
      `${firstResource ? '' : ','}{${inModule}"mode":"managed","type":"terraform_data","name":${JSON.stringify(id)},"provider":${PROVIDER},"instances":[`,
    );
    firstResource = false;
    let firstInstance = true;
    for await (const text of instances) {
      await write(`${firstInstance ? '' : ','}${text}`);
      firstInstance = false;
    }
    await write(']}');
  };
  const uids = Object.keys(options.nodes);
  if (options.layout === 'for_each') {
    for (const id of options.resourceIds) {
      await resource(
        undefined,
        id,
        (async function* () {
          for (const uid of uids) yield instance(options.nodes[uid]![id]!, uid);
        })(),
      );
    }
  } else {
    for (const uid of uids) {
      for (const id of options.resourceIds)
        await resource(`module.${moduleName(uid)}`, id, [instance(options.nodes[uid]![id]!, undefined)]);
    }
  }
  await write('],"check_results":null}\n');
  out.end();
  await once(out, 'finish');
}
