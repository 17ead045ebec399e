import nunjucks from 'nunjucks';
import type { FormSpec } from './form-schema.ts';
import { RESOURCE_LIST_NAMES } from './form-schema.ts';
import type { Finding } from './static-checks.ts';

/**
 * Row selectors (`spec.rows.when`, a resource's `when`) are template expressions: the
 * template they run as, and their syntax checked at load. Names and the sandbox's rules
 * are checked against the hub's variables where the template engine is (`lynq validate`,
 * and every sync before a row renders: plan/render-hub.ts).
 */

/** The template a selector renders as: its value read as `bool` reads it (a typed leaf, so a boolean). */
export function selectorTemplate(expression: string): string {
  return `{{ (${expression}) | bool }}`;
}

const parser = (
  nunjucks as unknown as { parser: { parse(src: string, extensions?: unknown[], opts?: unknown): unknown } }
).parser;

/** Why an expression does not parse, in nunjucks' words; undefined when it does. */
export function selectorSyntaxProblem(expression: string): string | undefined {
  try {
    parser.parse(selectorTemplate(expression), [], {});
    return undefined;
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error))
      .replace(/^\(unknown path\)\s*/, '')
      .replace(/\s*\[Line \d+, Column \d+\]\s*/, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    return `the expression ${JSON.stringify(expression)} does not parse (${message}); write one expression, as in plan == "enterprise"`;
  }
}

/** Every selector of a form with where it is: spec.rows.when, then each resource's when. */
export function formSelectors(
  spec: FormSpec,
): Array<{ path: Array<string | number>; expression: string; resource?: string }> {
  const out: Array<{ path: Array<string | number>; expression: string; resource?: string }> = [];
  if (spec.rows !== undefined) out.push({ path: ['spec', 'rows', 'when'], expression: spec.rows.when });
  for (const list of RESOURCE_LIST_NAMES) {
    for (const [index, resource] of spec[list].entries()) {
      if (resource.when !== undefined)
        out.push({ path: ['spec', list, index, 'when'], expression: resource.when, resource: resource.id });
    }
  }
  return out;
}

/** Syntax problems of a form's selectors, as findings (for their lines). */
export function selectorFindings(spec: FormSpec): Finding[] {
  return formSelectors(spec).flatMap(({ path, expression }) => {
    const problem = selectorSyntaxProblem(expression);
    return problem === undefined ? [] : [{ path, message: problem }];
  });
}
