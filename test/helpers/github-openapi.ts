import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * GitHub's published OpenAPI description (the `@octokit/openapi` package, api.github.com,
 * not dereferenced) as a validator for the GitHub fake: every request body and query the
 * code sends, and every response the fake serves, is checked against the operation's
 * schemas, so the fake cannot drift from the real API. Loaded once per test file (each
 * runs in its own process); schemas are compiled on first use.
 */

type Json = Record<string, unknown>;
type Parameter = { name: string; in: string; required?: boolean; schema?: Json };

export type OpenApi = {
  /** Whether the description has this operation (`GET`, `/repos/{owner}/{repo}/pulls`). */
  has(method: string, template: string): boolean;
  /** Problems with a request: unknown query parameters, bad values, a body that does not fit. */
  checkRequest(method: string, template: string, query: URLSearchParams, body: unknown): string[];
  /**
   * Problems with a response. A status the description does not list for the
   * operation (429, 5xx) is checked against GitHub's `basic-error` and reported in
   * `undocumented` instead.
   */
  checkResponse(
    method: string,
    template: string,
    status: number,
    body: unknown,
  ): { problems: string[]; undocumented: boolean };
};

let loaded: OpenApi | undefined;

export function gitHubOpenApi(): OpenApi {
  loaded ??= load();
  return loaded;
}

function load(): OpenApi {
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as {
    paths: Record<string, Record<string, Json>>;
    components: Json;
  };
  // OpenAPI 3.0 is not quite JSON Schema: `nullable` becomes a null type here; formats and
  // x- keywords are ignored; the document is trusted (not meta-validated).
  nullableToJsonSchema(spec);
  const ajv = new Ajv({ strict: false, validateSchema: false, validateFormats: false, allErrors: true });
  ajv.addSchema(spec, 'github');
  const compiled = new Map<string, ValidateFunction>();
  const validator = (pointer: string): ValidateFunction => {
    let validate = compiled.get(pointer);
    if (validate === undefined) {
      validate = ajv.getSchema(`github#${pointer}`);
      if (validate === undefined) throw new Error(`no schema at ${pointer}`);
      compiled.set(pointer, validate);
    }
    return validate;
  };
  const check = (pointer: string, value: unknown, what: string): string[] => {
    const validate = validator(pointer);
    if (validate(value)) return [];
    return (validate.errors ?? [])
      .slice(0, 8)
      .map((error) => `${what}${error.instancePath || ''} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
  };
  const operation = (method: string, template: string): Json | undefined =>
    spec.paths[template]?.[method.toLowerCase()];
  const resolve = <T>(value: unknown, pointer: string): { value: T; pointer: string } => {
    const ref = (value as { $ref?: string }).$ref;
    if (ref === undefined) return { value: value as T, pointer };
    const target = ref.slice(1);
    return { value: lookup(spec, target) as T, pointer: target };
  };
  const base = (method: string, template: string) => `/paths/${escapePointer(template)}/${method.toLowerCase()}`;

  return {
    has: (method, template) => operation(method, template) !== undefined,

    checkRequest(method, template, query, body) {
      const op = operation(method, template);
      if (op === undefined) return [`${method} ${template} is not in GitHub's API description`];
      const problems: string[] = [];
      const params = ((op.parameters as unknown[]) ?? []).map((param, index) =>
        resolve<Parameter>(param, `${base(method, template)}/parameters/${index}`),
      );
      for (const [name, raw] of query) {
        const param = params.find((candidate) => candidate.value.in === 'query' && candidate.value.name === name);
        if (param === undefined) {
          problems.push(`query parameter ${name} is not in the description of ${method} ${template}`);
          continue;
        }
        if (param.value.schema === undefined) continue;
        problems.push(...check(`${param.pointer}/schema`, coerce(raw, param.value.schema), `query ${name}`));
      }
      const requestBody =
        op.requestBody === undefined
          ? undefined
          : resolve<Json>(op.requestBody, `${base(method, template)}/requestBody`);
      if (requestBody === undefined) {
        if (body !== undefined) problems.push(`${method} ${template} takes no body`);
        return problems;
      }
      const content = (requestBody.value.content as Json | undefined)?.['application/json'];
      if (body === undefined) {
        if (requestBody.value.required === true) problems.push(`${method} ${template} requires a body`);
        return problems;
      }
      if (content === undefined) return [...problems, `${method} ${template} takes no JSON body`];
      return [...problems, ...check(`${requestBody.pointer}/content/application~1json/schema`, body, 'request body')];
    },

    checkResponse(method, template, status, body) {
      const op = operation(method, template);
      if (op === undefined)
        return { problems: [`${method} ${template} is not in GitHub's API description`], undocumented: false };
      const responses = op.responses as Json;
      const entry = responses[String(status)];
      if (entry === undefined) {
        return {
          problems: body === undefined ? [] : check('/components/schemas/basic-error', body, `response ${status}`),
          undocumented: true,
        };
      }
      const response = resolve<Json>(entry, `${base(method, template)}/responses/${status}`);
      const content = (response.value.content as Json | undefined)?.['application/json'];
      if (content === undefined)
        return {
          problems:
            body === undefined ? [] : [`response ${status} of ${method} ${template} has no body in the description`],
          undocumented: false,
        };
      return {
        problems: check(`${response.pointer}/content/application~1json/schema`, body, `response ${status}`),
        undocumented: false,
      };
    },
  };
}

/** OpenAPI's `nullable: true` in JSON Schema terms: the type (or enum) also admits null. */
function nullableToJsonSchema(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) nullableToJsonSchema(item);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const schema = node as Json;
  for (const value of Object.values(schema)) nullableToJsonSchema(value);
  if (schema.nullable !== true) return;
  delete schema.nullable;
  if (typeof schema.type === 'string') {
    schema.type = [schema.type, 'null'];
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum = [...schema.enum, null];
    return;
  }
  const inner = { ...schema };
  for (const key of Object.keys(schema)) if (!['description', 'title'].includes(key)) delete schema[key];
  schema.anyOf = [inner, { type: 'null' }];
}

/** Query strings are text; the description types them. */
function coerce(raw: string, schema: Json): unknown {
  if (schema.type === 'integer' || schema.type === 'number') return Number(raw);
  if (schema.type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  if (schema.type === 'array') return raw.split(',');
  return raw;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function lookup(root: unknown, pointer: string): unknown {
  let at = root;
  for (const part of pointer.split('/').slice(1)) at = (at as Json)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return at;
}
