import nunjucks from 'nunjucks';
import { RenderError, type ErrorWhere } from '../errors.ts';
import { FILTERS, registerFilters } from './filters.ts';

/** Variables a template sees: strings from the row, plus hubId and templateRef. */
export type TemplateVars = Readonly<Record<string, string>>;

/** One compiled leaf: renders to a string, or to a typed value for `| int` & co. */
export type CompiledLeaf = (vars: TemplateVars) => unknown;

// nunjucks' parser API is public (exported) but not in its type definitions.
type AstNode = { typename: string; findAll(type: unknown, results?: AstNode[]): AstNode[] } & Record<string, any>;
const { parser, nodes } = nunjucks as unknown as {
  parser: { parse(src: string, extensions?: unknown[], opts?: unknown): AstNode };
  nodes: Record<string, unknown>;
};

const TYPED_LEAF = /^\s*\{\{-?\s*([\s\S]+?)\s*\|\s*(int|float|bool|fromJson)\s*-?\}\}\s*$/;
const GLOBALS = new Set(['range', 'cycler', 'joiner']);
const typedConverters = new Map(
  ['int', 'float', 'bool', 'fromJson'].map((name) => [name, FILTERS.find((filter) => filter.name === name)!.fn as (value: unknown) => unknown]),
);

/**
 * The template side of rendering. Every string leaf of a manifest is its own template;
 * each distinct template string is parsed, checked and compiled once per engine (one
 * engine per hub and run), so 10,000 nodes cost one compile per leaf of the form.
 *
 * Undefined variables are errors (Lynq's `missingkey=error`), found statically when the
 * template is compiled: a name that is neither a hub variable nor set inside the template
 * is refused, unless it is guarded by `default` or an `is defined` test, which is how
 * `{{ missing | default("x") }}` works while `{{ missing | upper }}` fails.
 */
export class TemplateEngine {
  private readonly env: nunjucks.Environment;
  private readonly variables: ReadonlySet<string>;
  private readonly cache = new Map<string, CompiledLeaf | Error>();

  constructor(variables: Iterable<string>) {
    this.env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });
    registerFilters(this.env);
    this.variables = new Set(variables);
  }

  /** Compile a leaf; throws a RenderError (with `where`) when the template is bad. */
  compile(source: string, where: ErrorWhere): CompiledLeaf {
    let compiled = this.cache.get(source);
    if (compiled === undefined) {
      try {
        compiled = this.build(source);
      } catch (error) {
        compiled = error instanceof Error ? error : new Error(String(error));
      }
      this.cache.set(source, compiled);
    }
    if (compiled instanceof Error) throw new RenderError(`template ${JSON.stringify(source)}: ${cleanMessage(compiled)}`, where, { cause: compiled });
    return compiled;
  }

  /** Render one leaf; errors name the template and `where`. */
  render(source: string, vars: TemplateVars, where: ErrorWhere): unknown {
    const leaf = this.compile(source, where);
    try {
      return leaf(vars);
    } catch (error) {
      throw new RenderError(`template ${JSON.stringify(source)}: ${cleanMessage(error)}`, where, { cause: error });
    }
  }

  private build(source: string): CompiledLeaf {
    if (!source.includes('{{') && !source.includes('{%') && !source.includes('{#')) return () => source;
    const typed = TYPED_LEAF.exec(source);
    if (typed && !typed[1]!.includes('{{') && !typed[1]!.includes('}}')) {
      const inner = this.build(`{{ ${typed[1]} }}`);
      const convert = typedConverters.get(typed[2]!)!;
      return (vars) => convert(inner(vars));
    }
    this.checkNames(source);
    const template = nunjucks.compile(source, this.env);
    // Compile now, so a syntax error is reported once at compile time, not per node.
    (template as unknown as { compile(): void }).compile();
    return (vars) => template.render(vars as object);
  }

  private hasFilter(name: string): boolean {
    try {
      this.env.getFilter(name);
      return true;
    } catch {
      return false;
    }
  }

  /** Undefined variables and unknown filters, found in the template's syntax tree. */
  private checkNames(source: string): void {
    const ast = parser.parse(source, [], {});
    const notLookups = new Set<AstNode>();
    const guarded = new Set<AstNode>();
    const locals = new Set<string>();
    const addTargets = (target: AstNode | undefined): void => {
      if (target === undefined) return;
      if (target.typename === 'Symbol') {
        notLookups.add(target);
        locals.add(target.value as string);
      }
      for (const child of (target.children as AstNode[] | undefined) ?? []) addTargets(child);
    };
    for (const filter of ast.findAll(nodes.Filter)) {
      notLookups.add(filter.name as AstNode);
      // nunjucks looks filters up only when rendering; a typo must fail at compile time.
      if (!this.hasFilter(filter.name.value as string)) throw new Error(`unknown filter "${filter.name.value}" (see docs/filters.md)`);
      const first = (filter.args as AstNode).children[0] as AstNode | undefined;
      if (['default', 'd'].includes(filter.name.value) && first?.typename === 'Symbol') guarded.add(first);
    }
    for (const test of ast.findAll(nodes.Is)) {
      notLookups.add(test.right as AstNode);
      if ((test.left as AstNode).typename === 'Symbol') guarded.add(test.left as AstNode);
    }
    for (const set of ast.findAll(nodes.Set)) for (const target of set.targets as AstNode[]) addTargets(target);
    for (const loop of ast.findAll(nodes.For)) addTargets(loop.name as AstNode);
    for (const call of ast.findAll(nodes.FunCall)) {
      if ((call.name as AstNode).typename === 'Symbol' && GLOBALS.has(call.name.value)) notLookups.add(call.name as AstNode);
    }
    for (const symbol of ast.findAll(nodes.Symbol)) {
      if (notLookups.has(symbol) || guarded.has(symbol)) continue;
      const name = symbol.value as string;
      if (name === 'loop' || this.variables.has(name) || locals.has(name)) continue;
      const known = [...this.variables].sort().join(', ');
      throw new Error(`undefined variable ${JSON.stringify(name)} (defined: ${known}); use ${name} | default("…") if it may be missing`);
    }
  }
}

/** nunjucks prefixes messages with "(unknown path)" and a stack of "Error:" lines. */
function cleanMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .replace(/^\(unknown path\)\s*/, '')
    .replace(/\n\s*/g, ' ')
    .replace(/\s*Error: /g, ' ')
    .trim();
}
