import nunjucks from 'nunjucks';
import { RenderError, type ErrorWhere } from '../errors.ts';
import { FILTERS, registerFilters } from './filters.ts';
import { addGuards, BUDGET_KEY, CALLABLE_GLOBALS, checkSandbox, compileAst, GUARD_FILTER, LOOP_FILTER, nunjucksInternals, rangeSize, TemplateBudget, type AstNode } from './template-sandbox.ts';

/** Variables a template sees: strings from the row, plus hubId and templateRef. */
export type TemplateVars = Readonly<Record<string, string>>;

/** One compiled leaf: renders to a string, or to a typed value for `| int` & co, within the node's budget. */
export type CompiledLeaf = (vars: TemplateVars, budget: TemplateBudget) => unknown;

const { parser, nodes } = nunjucksInternals;

const TYPED_LEAF = /^\s*\{\{-?\s*([\s\S]+?)\s*\|\s*(int|float|bool|fromJson)\s*-?\}\}\s*$/;
const typedConverters = new Map(['int', 'float', 'bool', 'fromJson'].map((name) => [name, FILTERS.find((filter) => filter.name === name)!.fn as (value: unknown) => unknown]));
/** The filters docs/filters.md documents (and nunjucks' `d` alias of `default`); nunjucks' other built-ins are not offered. */
const DOCUMENTED_FILTERS = new Set([...FILTERS.map((filter) => filter.name), 'd']);

/**
 * The template side of rendering. Every string leaf of a manifest is its own template;
 * each distinct template string is parsed, checked and compiled once per engine (one
 * engine per hub and run), so 10,000 nodes cost one compile per leaf of the form.
 *
 * Undefined variables are errors (Lynq's `missingkey=error`), found statically when the
 * template is compiled: a name that is neither a hub variable nor set inside the template
 * is refused, unless it is guarded by `default` or an `is defined` test, which is how
 * `{{ missing | default("x") }}` works while `{{ missing | upper }}` fails.
 *
 * Templates are sandboxed (template-sandbox.ts): checked at compile time against the
 * JavaScript escapes nunjucks allows, and bounded in time and size per node at run time.
 */
export class TemplateEngine {
  private readonly env: nunjucks.Environment;
  private readonly variables: ReadonlySet<string>;
  private readonly cache = new Map<string, CompiledLeaf | Error>();
  /** One budget per node: a node's leaves all render with the same `vars` object. */
  private readonly budgets = new WeakMap<TemplateVars, TemplateBudget>();

  /** `clock` (milliseconds) measures each node's time budget; tests that check the other limits freeze it. */
  constructor(
    variables: Iterable<string>,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });
    registerFilters(this.env);
    const budgetOf = (context: { ctx: Record<string, unknown> }): TemplateBudget => context.ctx[BUDGET_KEY] as TemplateBudget;
    this.env.addFilter(GUARD_FILTER, function (this: { ctx: Record<string, unknown> }, value: unknown) {
      budgetOf(this).value(value);
      return value;
    });
    this.env.addFilter(LOOP_FILTER, function (this: { ctx: Record<string, unknown> }, value: unknown) {
      budgetOf(this).loop(value);
      return value;
    });
    const range = (this.env as unknown as { globals: Record<string, (...args: number[]) => unknown> }).globals.range!;
    this.env.addGlobal('range', (start: number, stop?: number, step?: number) => {
      rangeSize(start, stop, step);
      return range(start, stop as number, step as number);
    });
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
    let budget = this.budgets.get(vars);
    if (budget === undefined) {
      budget = new TemplateBudget(this.clock);
      this.budgets.set(vars, budget);
    }
    try {
      return leaf(vars, budget);
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
      return (vars, budget) => convert(inner(vars, budget));
    }
    const ast = parser.parse(source, [], {});
    checkSandbox(ast, (name) => DOCUMENTED_FILTERS.has(name));
    this.checkNames(ast);
    // Compiled now from the checked tree, so a syntax error is reported once, not per node.
    const TemplateClass = nunjucks.Template as unknown as new (src: { type: 'code'; obj: unknown }, env: nunjucks.Environment, path: undefined, eager: boolean) => nunjucks.Template;
    const template = new TemplateClass({ type: 'code', obj: compileAst(addGuards(ast)) }, this.env, undefined, true);
    return (vars, budget) => {
      const output = template.render({ ...vars, [BUDGET_KEY]: budget });
      budget.output(output);
      return output;
    };
  }

  /** Undefined variables, found in the template's syntax tree. */
  private checkNames(ast: AstNode): void {
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
      if ((call.name as AstNode).typename === 'Symbol' && CALLABLE_GLOBALS.has(call.name.value)) notLookups.add(call.name as AstNode);
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
