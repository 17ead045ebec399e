import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * The part of GitLab's REST API v4 the bridge uses, as transcribed from GitLab's
 * documentation into test/fixtures/gitlab-api/rest-v4.json (its README says where each
 * operation comes from and what the check covers), as a validator for the GitLab fake:
 * every query and body the code sends, and every answer the fake serves, is checked
 * against it, so the fake cannot drift from what GitLab documents.
 */

type Json = Record<string, unknown>;
type Operation = { doc: string; query?: Json; body?: Json; responses: Record<string, Json> };
type Description = { basePath: string; operations: Record<string, Operation>; schemas: Json };

export type GitLabApi = {
  basePath: string;
  has(method: string, template: string): boolean;
  checkRequest(method: string, template: string, query: URLSearchParams, body: unknown): string[];
  checkResponse(method: string, template: string, status: number, body: unknown): string[];
};

let loaded: GitLabApi | undefined;

export function gitLabApi(): GitLabApi {
  loaded ??= load();
  return loaded;
}

function load(): GitLabApi {
  const description = JSON.parse(readFileSync(new URL('../fixtures/gitlab-api/rest-v4.json', import.meta.url), 'utf8')) as Description;
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'gitlab', schemas: description.schemas }, 'gitlab');
  const compiled = new Map<string, ValidateFunction>();
  const validator = (key: string, schema: Json): ValidateFunction => {
    let validate = compiled.get(key);
    if (validate === undefined) {
      // Local references (#/schemas/…) point into the shared document.
      validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/schemas/', '"gitlab#/schemas/')));
      compiled.set(key, validate);
    }
    return validate;
  };
  const check = (key: string, schema: Json, value: unknown, what: string): string[] => {
    const validate = validator(key, schema);
    if (validate(value)) return [];
    return (validate.errors ?? []).slice(0, 8).map((error) => `${what}${error.instancePath || ''} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
  };
  const operation = (method: string, template: string) => description.operations[`${method} ${template}`];

  return {
    basePath: description.basePath,
    has: (method, template) => operation(method, template) !== undefined,

    checkRequest(method, template, query, body) {
      const op = operation(method, template);
      if (op === undefined) return [`${method} ${template} is not in the GitLab API description`];
      const problems: string[] = [];
      const properties = (op.query?.properties ?? {}) as Record<string, Json>;
      const values: Json = {};
      for (const [name, raw] of query) values[name] = coerce(raw, properties[name]);
      if (op.query === undefined && [...query].length > 0) problems.push(`${method} ${template} takes no query parameters`);
      else if (op.query !== undefined) problems.push(...check(`${method} ${template} query`, op.query, values, 'query'));
      if (op.body === undefined) {
        if (body !== undefined) problems.push(`${method} ${template} takes no body`);
      } else if (body === undefined) {
        problems.push(`${method} ${template} needs a JSON body`);
      } else {
        problems.push(...check(`${method} ${template} body`, op.body, body, 'request body'));
      }
      return problems;
    },

    checkResponse(method, template, status, body) {
      const op = operation(method, template);
      if (op === undefined) return [`${method} ${template} is not in the GitLab API description`];
      const schema = op.responses[String(status)];
      // 429 and 5xx can come from any endpoint; GitLab's error body is the same everywhere.
      const fallback = status === 429 || status >= 500 ? { $ref: '#/schemas/error' } : undefined;
      const chosen = schema ?? fallback;
      if (chosen === undefined) return [`${method} ${template} does not answer ${status} in the description`];
      if (body === undefined) return [];
      return check(`${method} ${template} ${schema === undefined ? 'error' : status}`, chosen, body, `response ${status}`);
    },
  };
}

/** Query strings are text; the description types them. */
function coerce(raw: string, schema: Json | undefined): unknown {
  const type = schema?.type;
  const types = Array.isArray(type) ? type : [type];
  if (types.includes('integer') && /^-?\d+$/.test(raw)) return Number(raw);
  if (types.includes('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}
