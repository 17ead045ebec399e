import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * The part of GitLab's REST API v4 the bridge uses, as a validator for the GitLab fake,
 * from two files in test/fixtures/gitlab-api (its README says where each comes from and
 * what the check covers):
 * - openapi_v2-excerpt.json, GitLab's published OpenAPI description of the merge-request
 *   operations: for those, the query parameters (names, types, enums) and the answer's
 *   status are checked against what GitLab publishes;
 * - rest-v4.json, transcribed from GitLab's REST documentation: every operation's bodies
 *   and answers, and the query of the operations the published excerpt lacks.
 * So the fake cannot drift from what GitLab documents.
 */

type Json = Record<string, unknown>;
type Operation = { doc: string; query?: Json; body?: Json; responses: Record<string, Json> };
type Description = { basePath: string; operations: Record<string, Operation>; schemas: Json };
type PublishedParameter = { in: string; name: string; type?: string; enum?: unknown[]; items?: { type?: string } };
type Published = {
  paths: Record<string, Record<string, { parameters: PublishedParameter[]; responses: Record<string, unknown> }>>;
};

export type GitLabApi = {
  basePath: string;
  has(method: string, template: string): boolean;
  /** Whether GitLab's published OpenAPI excerpt describes the operation (its query and statuses are checked against it). */
  published(method: string, template: string): boolean;
  checkRequest(method: string, template: string, query: URLSearchParams, body: unknown): string[];
  checkResponse(method: string, template: string, status: number, body: unknown): string[];
};

let loaded: GitLabApi | undefined;

export function gitLabApi(): GitLabApi {
  loaded ??= load();
  return loaded;
}

function load(): GitLabApi {
  const description = JSON.parse(
    readFileSync(new URL('../fixtures/gitlab-api/rest-v4.json', import.meta.url), 'utf8'),
  ) as Description;
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
    return (validate.errors ?? [])
      .slice(0, 8)
      .map((error) => `${what}${error.instancePath || ''} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
  };
  const operation = (method: string, template: string) => description.operations[`${method} ${template}`];
  const excerpt = JSON.parse(
    readFileSync(new URL('../fixtures/gitlab-api/openapi_v2-excerpt.json', import.meta.url), 'utf8'),
  ) as Published;
  const published = (method: string, template: string) =>
    excerpt.paths[`${description.basePath}${template}`]?.[method.toLowerCase()];

  return {
    basePath: description.basePath,
    has: (method, template) => operation(method, template) !== undefined,
    published: (method, template) => published(method, template) !== undefined,

    checkRequest(method, template, query, body) {
      const op = operation(method, template);
      if (op === undefined) return [`${method} ${template} is not in the GitLab API description`];
      const problems: string[] = [];
      const described = published(method, template);
      if (described !== undefined) {
        problems.push(...checkPublishedQuery(described.parameters, query));
      } else {
        const properties = (op.query?.properties ?? {}) as Record<string, Json>;
        const values: Json = {};
        for (const [name, raw] of query) values[name] = coerce(raw, properties[name]);
        if (op.query === undefined && [...query].length > 0)
          problems.push(`${method} ${template} takes no query parameters`);
        else if (op.query !== undefined)
          problems.push(...check(`${method} ${template} query`, op.query, values, 'query'));
      }
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
      const described = published(method, template);
      if (
        described !== undefined &&
        described.responses[String(status)] === undefined &&
        status !== 429 &&
        status < 500
      ) {
        return [`${method} ${template} does not answer ${status} in GitLab's published description`];
      }
      const schema = op.responses[String(status)];
      // 429 and 5xx can come from any endpoint; GitLab's error body is the same everywhere.
      const fallback = status === 429 || status >= 500 ? { $ref: '#/schemas/error' } : undefined;
      const chosen = schema ?? fallback;
      if (chosen === undefined) return [`${method} ${template} does not answer ${status} in the description`];
      if (body === undefined) return [];
      return check(
        `${method} ${template} ${schema === undefined ? 'error' : status}`,
        chosen,
        body,
        `response ${status}`,
      );
    },
  };
}

/** A query against a published operation's parameters: each name listed, each value of its type and enum. */
function checkPublishedQuery(parameters: readonly PublishedParameter[], query: URLSearchParams): string[] {
  const problems: string[] = [];
  for (const [name, raw] of query) {
    const parameter = parameters.find((candidate) => candidate.in === 'query' && candidate.name === name);
    if (parameter === undefined) {
      problems.push(`query parameter ${name} is not in GitLab's published description`);
      continue;
    }
    const values = parameter.type === 'array' ? raw.split(',') : [raw];
    const type = parameter.type === 'array' ? parameter.items?.type : parameter.type;
    for (const value of values) {
      if (type === 'integer' && !/^-?\d+$/.test(value)) problems.push(`query ${name}=${value} is not an integer`);
      if (type === 'boolean' && value !== 'true' && value !== 'false')
        problems.push(`query ${name}=${value} is not a boolean`);
      if (parameter.enum !== undefined && !parameter.enum.includes(value))
        problems.push(`query ${name}=${value} is not one of ${parameter.enum.join(', ')}`);
    }
  }
  return problems;
}

/** Query strings are text; the description types them. */
function coerce(raw: string, schema: Json | undefined): unknown {
  const type = schema?.type;
  const types = Array.isArray(type) ? type : [type];
  if (types.includes('integer') && /^-?\d+$/.test(raw)) return Number(raw);
  if (types.includes('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}
