import { schema as githubSchema } from '@octokit/graphql-schema';
import { buildSchema, graphql, parse, validate, type GraphQLSchema } from 'graphql';
import type { GitHubFake } from './github-fake.ts';

/**
 * GraphQL on the GitHub fake. GraphQL is not in the OpenAPI description, so requests
 * are checked against GitHub's published GraphQL schema (`@octokit/graphql-schema`)
 * instead, and executed against it: the query must validate, the variables must have the
 * schema's types, and the response has exactly the shape the schema gives, whatever the
 * test's resolvers return.
 */

let built: GraphQLSchema | undefined;

function schema(): GraphQLSchema {
  // The published SDL defines a few fields twice; GitHub serves it as is, so take it as valid.
  built ??= buildSchema(githubSchema.idl, { assumeValidSDL: true });
  return built;
}

/** Mutation and query resolvers by field name; throwing one answers as GitHub does, with `errors`. */
export type GraphqlRoot = Record<string, (args: Record<string, unknown>) => unknown>;

export function serveGraphql(fake: GitHubFake, root: GraphqlRoot): void {
  fake.on('POST', '/graphql', async (request) => {
    const { query, variables } = (request.body ?? {}) as { query?: string; variables?: Record<string, unknown> };
    if (typeof query !== 'string') {
      fake.problems.push('POST /graphql without a query');
      return { status: 400, body: { message: 'A query attribute must be specified' } };
    }
    const problems = validate(schema(), parse(query));
    if (problems.length > 0) {
      fake.problems.push(...problems.map((problem) => `graphql: ${problem.message}`));
      return { status: 200, body: { errors: problems.map((problem) => ({ message: problem.message })) } };
    }
    const result = await graphql({ schema: schema(), source: query, variableValues: variables ?? {}, rootValue: root });
    // Errors that are not a resolver's deliberate refusal (bad variables, a wrong shape) are the code's fault.
    for (const error of result.errors ?? [])
      if (error.originalError === undefined) fake.problems.push(`graphql: ${error.message}`);
    return { status: 200, body: JSON.parse(JSON.stringify(result)) as unknown };
  });
}
