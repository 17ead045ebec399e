import { selectorTemplate } from '../config/row-selector.ts';
import { TYPED_LEAF } from '../config/typed-leaf.ts';
import nunjucks from 'nunjucks';
import { RenderError, type ErrorWhere } from '../errors.ts';
import { FILTERS, registerFilters } from './filters.ts';
import {
  addGuards,
  BUDGET_KEY,
  CALLABLE_GLOBALS,
  checkSandbox,
  compileAst,
  GUARD_FILTER,
  LOOP_FILTER,
  nunjucksInternals,
  rangeSize,
  TemplateBudget,
  type AstNode,
} from './template-sandbox.ts';

/** Variables a template sees: strings from the row, plus hubId and templateRef. */
export type TemplateVars = Readonly<Record<string, string>>;

/**
 * What every leaf of one node renders with: the node's budget, and the context nunjucks
 * is given (the node's variables and its budget), built once per node rather than per
 * leaf. nunjucks copies a context before rendering into it, so leaves cannot share state.
 */
export type NodeScope = { readonly budget: TemplateBudget; readonly context: Readonly<Record<string, unknown>> };

/** One compiled leaf: renders to a string, or to a typed value for `| int` & co, within the node's budget. */
export type CompiledLeaf = (scope: NodeScope) => unknown;

/**
 * A leaf looked up once and rendered for many nodes (a form's leaves are the same for
 * every row): its compiled template, or why it does not compile, reported per node as
 * `compile` would report it. `constant`: no template syntax, the leaf is its own text.
 */
export type PreparedLeaf = {
  readonly source: string;
  readonly compiled: CompiledLeaf | Error;
  readonly constant: boolean;
};

const { parser, nodes } = nunjucksInternals;

const typedConverters = new Map(
  ['int', 'float', 'bool', 'fromJson'].map((name) => [
    name,
    FILTERS.find((filter) => filter.name === name)!.fn as (value: unknown) => unknown,
  ]),
);
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
  private readonly cache = new Map<string, PreparedLeaf>();
  /** One budget (and nunjucks context) per node: a node's leaves all render with the same `vars` object. */
  private readonly scopes = new WeakMap<TemplateVars, NodeScope>();

  /** `clock` (milliseconds) measures each node's time budget; tests that check the other limits freeze it. */
  constructor(
    variables: Iterable<string>,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });
    registerFilters(this.env);
    const budgetOf = (context: { ctx: Record<string, unknown> }): TemplateBudget =>
      context.ctx[BUDGET_KEY] as TemplateBudget;
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

  /**
   * Whether a row selector (`spec.rows.when`, a resource's `when`) holds for a node's
   * variables: its value read as `bool` reads it. Throws a RenderError naming `where` and
   * `field` when it does not compile or its value is not a boolean (`"enterprise"`).
   */
  selects(expression: string, vars: TemplateVars, where: ErrorWhere, field: string): boolean {
    const leaf = this.checkSelector(expression, { ...where, field });
    try {
      return this.renderPrepared(leaf, vars, where, field) === true;
    } catch (error) {
      if (!(error instanceof RenderError)) throw error;
      throw selectorError(expression, error.cause ?? error, { ...where, field });
    }
  }

  /** A row selector compiled against the hub's variables; throws a RenderError naming the expression and `where` when it is bad. */
  checkSelector(expression: string, where: ErrorWhere): PreparedLeaf {
    const leaf = this.prepare(selectorTemplate(expression));
    if (leaf.compiled instanceof Error) throw selectorError(expression, leaf.compiled, where);
    return leaf;
  }

  /** Compile a leaf; throws a RenderError (with `where`) when the template is bad. */
  compile(source: string, where: ErrorWhere): CompiledLeaf {
    const { compiled } = this.prepare(source);
    if (compiled instanceof Error) throw compileError(source, compiled, where);
    return compiled;
  }

  /** Look a leaf up (parsed, checked and compiled on first use); a bad template is an Error here, thrown only when a node renders it. */
  prepare(source: string): PreparedLeaf {
    let prepared = this.cache.get(source);
    if (prepared === undefined) {
      let compiled: CompiledLeaf | Error;
      try {
        compiled = this.build(source);
      } catch (error) {
        compiled = error instanceof Error ? error : new Error(String(error));
      }
      prepared = { source, compiled, constant: isConstant(source) };
      this.cache.set(source, prepared);
    }
    return prepared;
  }

  /** Render one leaf; errors name the template and `where`. */
  render(source: string, vars: TemplateVars, where: ErrorWhere): unknown {
    return this.renderPrepared(this.prepare(source), vars, where);
  }

  /**
   * Render a prepared leaf, as `render` would. `field` is added to `where` only for an
   * error: a node has dozens of leaves, and their coordinates are needed only when one fails.
   */
  renderPrepared(leaf: PreparedLeaf, vars: TemplateVars, where: ErrorWhere, field?: string): unknown {
    const { compiled } = leaf;
    if (compiled instanceof Error)
      throw compileError(leaf.source, compiled, field === undefined ? where : { ...where, field });
    let scope = this.scopes.get(vars);
    if (scope === undefined) {
      const budget = new TemplateBudget(this.clock);
      scope = { budget, context: { ...vars, [BUDGET_KEY]: budget } };
      this.scopes.set(vars, scope);
    }
    try {
      return compiled(scope);
    } catch (error) {
      throw new RenderError(
        `template ${JSON.stringify(leaf.source)}: ${cleanMessage(error)}`,
        field === undefined ? where : { ...where, field },
        { cause: error },
      );
    }
  }

  private build(source: string): CompiledLeaf {
    if (isConstant(source)) return () => source;
    const typed = TYPED_LEAF.exec(source);
    if (typed && !typed[1]!.includes('{{') && !typed[1]!.includes('}}')) {
      const inner = this.build(`{{ ${typed[1]} }}`);
      const convert = typedConverters.get(typed[2]!)!;
      return (scope) => convert(inner(scope));
    }
    const ast = parser.parse(source, [], {});
    checkSandbox(ast, (name) => DOCUMENTED_FILTERS.has(name));
    this.checkNames(ast);
    // Compiled now from the checked tree, so a syntax error is reported once, not per node.
    const TemplateClass = nunjucks.Template as unknown as new (
      src: { type: 'code'; obj: unknown },
      env: nunjucks.Environment,
      path: undefined,
      eager: boolean,
    ) => nunjucks.Template;
    const template = new TemplateClass({ type: 'code', obj: compileAst(addGuards(ast)) }, this.env, undefined, true);
    return (scope) => {
      const output = template.render(scope.context);
      scope.budget.output(output);
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
      if ((call.name as AstNode).typename === 'Symbol' && CALLABLE_GLOBALS.has(call.name.value))
        notLookups.add(call.name as AstNode);
    }
    for (const symbol of ast.findAll(nodes.Symbol)) {
      if (notLookups.has(symbol) || guarded.has(symbol)) continue;
      const name = symbol.value as string;
      if (name === 'loop' || this.variables.has(name) || locals.has(name)) continue;
      const known = [...this.variables].sort().join(', ');
      throw new Error(
        `undefined variable ${JSON.stringify(name)} (defined: ${known}); use ${name} | default("…") if it may be missing`,
      );
    }
  }
}

/** No template syntax: the leaf renders to its own text. */
function isConstant(source: string): boolean {
  return !source.includes('{{') && !source.includes('{%') && !source.includes('{#');
}

/** A selector's error shows the expression as written, not the template it runs as. */
function selectorError(expression: string, cause: unknown, where: ErrorWhere): RenderError {
  return new RenderError(`selector ${JSON.stringify(expression)}: ${cleanMessage(cause)}`, where, { cause });
}

function compileError(source: string, error: Error, where: ErrorWhere): RenderError {
  // The engine's parser recurses per nesting level: a template thousands deep runs out of stack. Say what that means.
  const why = isStackOverflow(error)
    ? 'blocks or parentheses nest too deep to compile: nest them less (a hundred levels is plenty)'
    : cleanMessage(error);
  return new RenderError(`template ${JSON.stringify(source)}: ${why}`, where, { cause: error });
}

function isStackOverflow(error: unknown): boolean {
  if (error instanceof RangeError) return true;
  // nunjucks wraps what its parser throws in an Error of its own, keeping the message.
  return error instanceof Error && /Maximum call stack size exceeded/.test(error.message);
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
