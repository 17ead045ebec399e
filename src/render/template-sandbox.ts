import { requireBundled } from '../config/bundled-require.ts';
import nunjucks from 'nunjucks';

/**
 * nunjucks is not a sandbox: a template can walk `''.constructor.constructor` to the
 * Function constructor and run JavaScript (read process.env, the clock, the disk). A form
 * is input, so its templates are checked here before they are compiled, on the parsed
 * syntax tree, with allow-lists rather than deny-lists wherever the tree allows:
 *
 * - only the node types an expression language needs (no macros, `call`/`caller`,
 *   include, import, extends, blocks: a leaf of a manifest needs none of them);
 * - member access by a literal name or index only, never a name computed at run time,
 *   and never a name that reaches the JavaScript object model (`constructor`, `__proto__`…);
 * - calls only of the bridge's globals (`range`, `cycler`, `joiner`) and a cycler's
 *   `next()`/`reset()`; filters only the documented ones.
 *
 * What a template may cost is bounded at run time (TemplateBudget): the tree is rewritten
 * so every loop, filter, concatenation and output passes through a guard that counts
 * iterations and sizes and checks the node's deadline.
 */

// nunjucks' parser, node classes, transformer and compiler are exported but not typed.
export type AstNode = {
  typename: string;
  lineno: number;
  colno: number;
  fields: string[];
  findAll(type: unknown, results?: AstNode[]): AstNode[];
  // biome-ignore lint/suspicious/noExplicitAny: nunjucks' AST nodes carry per-class fields that @types/nunjucks does not describe.
} & Record<string, any>;
type NodeClass = new (lineno: number, colno: number, ...args: unknown[]) => AstNode;
export const nunjucksInternals = nunjucks as unknown as {
  parser: { parse(src: string, extensions?: unknown[], opts?: unknown): AstNode };
  nodes: Record<string, NodeClass>;
  compiler: {
    Compiler: new (
      name: string | undefined,
      throwOnUndefined: boolean,
    ) => { compile(ast: AstNode): void; getCode(): string };
  };
};
const { nodes } = nunjucksInternals;
// The transformer must be the one of the nunjucks imported above: bundled, the same copy (requireBundled).
const { transform } = requireBundled('nunjucks/src/transformer.js', () => require('nunjucks/src/transformer.js')) as {
  transform(ast: AstNode, asyncFilters: string[], name?: string): AstNode;
};

/** The limits of one node's rendering (all of its leaves together). */
export const TEMPLATE_LIMITS = {
  /** Elements one `range()` may produce. */
  rangeSize: 10_000,
  /** Loop iterations over all loops of one node. */
  iterations: 100_000,
  /** Characters of any one value, and of a node's output over all its leaves. */
  valueChars: 1024 * 1024,
  nodeChars: 4 * 1024 * 1024,
  /** Wall time one node's templates may take. */
  milliseconds: 5_000,
} as const;

/** Node types a manifest leaf may use. Anything else (Macro, Caller, Include, Import, Extends, Block, Super, extensions) is refused. */
const ALLOWED_NODES = new Set([
  'Root',
  'NodeList',
  'Output',
  'TemplateData',
  'Literal',
  'Symbol',
  'Group',
  'Array',
  'Dict',
  'Pair',
  'LookupVal',
  'If',
  'InlineIf',
  'For',
  'Set',
  'Capture',
  'Switch',
  'Case',
  'FunCall',
  'Filter',
  'KeywordArgs',
  'In',
  'Is',
  'Or',
  'And',
  'Not',
  'Add',
  'Concat',
  'Sub',
  'Mul',
  'Div',
  'FloorDiv',
  'Mod',
  'Pow',
  'Neg',
  'Pos',
  'Compare',
  'CompareOperand',
]);

/** Member names that reach JavaScript's object model rather than data. `__x__` names are refused as a class. */
const FORBIDDEN_MEMBERS = new Set([
  'constructor',
  'prototype',
  '__proto__',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'valueOf',
  'toString',
  'toLocaleString',
  'call',
  'apply',
  'bind',
  'caller',
  'callee',
  'arguments',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'then',
]);

export const CALLABLE_GLOBALS = new Set(['range', 'cycler', 'joiner']);
const CALLABLE_METHODS = new Set(['next', 'reset']);
/** Names a template may not assign: they would shadow the callables above, or the loop variable. */
const RESERVED_NAMES = new Set([...CALLABLE_GLOBALS, 'loop', 'caller']);

export const GUARD_FILTER = '__lynqGuard';
export const LOOP_FILTER = '__lynqLoop';
export const BUDGET_KEY = '__lynqBudget';

function forbiddenMember(name: string): boolean {
  return FORBIDDEN_MEMBERS.has(name) || /^__.*__$/.test(name);
}

function children(node: AstNode): AstNode[] {
  const out: AstNode[] = [];
  const add = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(add);
    else if (value !== null && typeof value === 'object' && typeof (value as AstNode).typename === 'string')
      out.push(value as AstNode);
  };
  for (const field of node.fields ?? []) add(node[field]);
  if ('children' in node && !(node.fields ?? []).includes('children')) add(node.children);
  return out;
}

/**
 * Refuse, with the reason, anything outside the sandbox. `isFilter` says whether a
 * filter name is one the bridge documents.
 */
export function checkSandbox(ast: AstNode, isFilter: (name: string) => boolean): void {
  const visit = (node: AstNode): void => {
    const at = `line ${node.lineno + 1}, column ${node.colno + 1}`;
    if (!ALLOWED_NODES.has(node.typename))
      throw new Error(
        `${describe(node.typename)} is not allowed in a template (${at}); templates may use expressions, filters, if, for and set`,
      );
    // Inner nodes first, so `''.constructor.constructor(…)()` is refused for its member, not its call.
    for (const child of children(node)) visit(child);
    switch (node.typename) {
      case 'LookupVal': {
        const key = node.val as AstNode;
        if (key.typename !== 'Literal' || (typeof key.value !== 'string' && typeof key.value !== 'number')) {
          throw new Error(
            `member access with a computed key is not allowed (${at}); use a literal name, as in x.name or x["name"] or x[0]`,
          );
        }
        if (typeof key.value === 'string' && forbiddenMember(key.value))
          throw new Error(`member ${JSON.stringify(key.value)} is not allowed in a template (${at})`);
        break;
      }
      case 'Pair': {
        const key = node.key as AstNode;
        if (key.typename === 'Literal' && typeof key.value === 'string' && forbiddenMember(key.value))
          throw new Error(`key ${JSON.stringify(key.value)} is not allowed in a template (${at})`);
        break;
      }
      case 'Filter':
        if (!isFilter(node.name.value as string))
          throw new Error(`unknown filter "${node.name.value}" (see docs/filters.md)`);
        break;
      case 'FunCall':
        checkCall(node, at);
        break;
      case 'Set':
        for (const target of node.targets as AstNode[]) checkAssigned(target, at);
        break;
      case 'For':
        for (const target of [node.name as AstNode, ...children(node.name as AstNode)])
          if (target.typename === 'Symbol') checkAssigned(target, at);
        break;
      case 'Symbol':
        if ((node.value as string).startsWith('__'))
          throw new Error(`name ${JSON.stringify(node.value)} is not allowed in a template (${at})`);
        break;
      default:
    }
  };
  visit(ast);
}

function checkAssigned(target: AstNode, at: string): void {
  if (target.typename === 'Symbol' && RESERVED_NAMES.has(target.value as string))
    throw new Error(`${JSON.stringify(target.value)} is a reserved name and cannot be assigned (${at})`);
}

function checkCall(node: AstNode, at: string): void {
  const callee = node.name as AstNode;
  if (callee.typename === 'Symbol' && CALLABLE_GLOBALS.has(callee.value as string)) {
    if (callee.value === 'range') checkLiteralRange(node, at);
    return;
  }
  if (
    callee.typename === 'LookupVal' &&
    (callee.val as AstNode).typename === 'Literal' &&
    CALLABLE_METHODS.has((callee.val as AstNode).value as string)
  )
    return;
  throw new Error(
    `only range(), cycler(), joiner() and a cycler's next()/reset() can be called in a template (${at}); use filters for everything else`,
  );
}

/** A range whose bounds are written in the template is judged now, so `lynq validate` reports it. */
function checkLiteralRange(node: AstNode, at: string): void {
  const args = (node.args as AstNode).children as AstNode[];
  if (args.length === 0 || !args.every((arg) => arg.typename === 'Literal' && typeof arg.value === 'number')) return;
  const values = args.map((arg) => arg.value as number);
  rangeSize(values[0]!, values[1], values[2], at);
}

/** Size of `range(start, stop, step)` as nunjucks counts it; throws past the limit. */
export function rangeSize(start: number, stop: number | undefined, step: number | undefined, at?: string): number {
  const [from, to] = stop === undefined ? [0, start] : [start, stop];
  const by = step ?? 1;
  if (![from, to, by].every(Number.isFinite) || by === 0)
    throw new Error(
      `range(${[start, stop, step].filter((v) => v !== undefined).join(', ')}) is not a finite range${at ? ` (${at})` : ''}`,
    );
  const size = Math.max(0, Math.ceil((to - from) / by));
  if (size > TEMPLATE_LIMITS.rangeSize)
    throw new Error(
      `range of ${size} elements is over the limit of ${TEMPLATE_LIMITS.rangeSize}${at ? ` (${at})` : ''}`,
    );
  return size;
}

function describe(typename: string): string {
  const tags: Record<string, string> = {
    Macro: '{% macro %}',
    Caller: '{% call %} (caller)',
    Include: '{% include %}',
    Import: '{% import %}',
    FromImport: '{% from … import %}',
    Extends: '{% extends %}',
    Block: '{% block %}',
    Super: 'super()',
    CallExtension: 'an extension tag',
    CallExtensionAsync: 'an extension tag',
  };
  return tags[typename] ?? `a ${typename} node`;
}

/** Wrap `node` in a call of one of the guard filters. */
function guarded(filter: string, node: AstNode): AstNode {
  const args = new nodes.NodeList!(node.lineno, node.colno, [node]);
  return new nodes.Filter!(node.lineno, node.colno, new nodes.Symbol!(node.lineno, node.colno, filter), args);
}

/** Lists and dicts too: `{% set d = [d, d] %}` in a loop doubles a value without a filter or an operator. */
const GUARDED_VALUES = new Set(['Filter', 'Concat', 'Add', 'Mul', 'FunCall', 'Array', 'Dict']);

/** Route every value that can grow, and every loop, through the budget guards. Mutates and returns `node`. */
export function addGuards(node: AstNode): AstNode {
  const rewrite = (child: AstNode, parent: AstNode): AstNode => {
    addGuards(child);
    if (parent.typename === 'For' && child === parent.arr) return guarded(LOOP_FILTER, child);
    // `for k, v in …` names its targets with an Array node: names, not a value.
    if (parent.typename === 'For' && child === parent.name) return child;
    if (
      GUARDED_VALUES.has(child.typename) &&
      !(child.typename === 'Filter' && [GUARD_FILTER, LOOP_FILTER].includes(child.name.value))
    )
      return guarded(GUARD_FILTER, child);
    if (parent.typename === 'Output' && child.typename !== 'TemplateData') return guarded(GUARD_FILTER, child);
    return child;
  };
  const fields = [...(node.fields ?? [])];
  if ('children' in node && !fields.includes('children')) fields.push('children');
  for (const field of fields) {
    const value = node[field];
    if (Array.isArray(value)) node[field] = value.map((item: unknown) => (isNode(item) ? rewrite(item, node) : item));
    else if (isNode(value) && ['Filter', 'FunCall'].includes(node.typename) && field === 'name') addGuards(value);
    else if (isNode(value)) node[field] = rewrite(value, node);
  }
  return node;
}

function isNode(value: unknown): value is AstNode {
  return value !== null && typeof value === 'object' && typeof (value as AstNode).typename === 'string';
}

/** Compile a checked and guarded tree to the render function nunjucks' Template takes as `{ type: 'code' }`. */
export function compileAst(ast: AstNode): Record<string, unknown> {
  const compiler = new nunjucksInternals.compiler.Compiler(undefined, false);
  compiler.compile(transform(ast, []));
  return new Function(compiler.getCode())() as Record<string, unknown>; // eslint-disable-line no-new-func
}

/** What one node's templates have spent; one per node, shared by its leaves. */
export class TemplateBudget {
  private iterations = 0;
  private chars = 0;
  private readonly deadline: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.deadline = now() + TEMPLATE_LIMITS.milliseconds;
  }

  /** A value just computed: its size (a list's or map's counted through its contents), and the clock. */
  value(value: unknown): void {
    const length = deepSize(value, TEMPLATE_LIMITS.valueChars);
    if (length > TEMPLATE_LIMITS.valueChars)
      throw new Error(
        `a value of ${length > TEMPLATE_LIMITS.valueChars ? 'more than ' : ''}${TEMPLATE_LIMITS.valueChars} characters is over the limit of ${TEMPLATE_LIMITS.valueChars}`,
      );
    this.clock();
  }

  /** A loop about to run over `value`. */
  loop(value: unknown): void {
    this.iterations += sizeOf(value);
    if (this.iterations > TEMPLATE_LIMITS.iterations)
      throw new Error(`the templates of this node ran more than ${TEMPLATE_LIMITS.iterations} loop iterations`);
    this.clock();
  }

  /** A leaf's rendered output. */
  output(value: unknown): void {
    this.chars += sizeOf(value);
    if (this.chars > TEMPLATE_LIMITS.nodeChars)
      throw new Error(`the templates of this node rendered more than ${TEMPLATE_LIMITS.nodeChars} characters`);
  }

  private clock(): void {
    if (this.now() > this.deadline)
      throw new Error(`the templates of this node took longer than ${TEMPLATE_LIMITS.milliseconds / 1000} s`);
  }
}

/**
 * About the characters of a value written out as JSON: a string by its length (with its
 * quotes inside a list or map), one per number, boolean or null, keys by length, one per
 * list or map. The walk stops as soon as it
 * passes `cap`, so a value that shares itself (`[d, d]` doubled in a loop, 2^n items but n
 * objects) costs at most `cap` steps to judge rather than its exponential size.
 */
export function deepSize(value: unknown, cap: number): number {
  if (typeof value === 'string' || value instanceof String) return value.length;
  let total = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0 && total <= cap) {
    const item = pending.pop();
    // Quotes included, so every step counts: a list of empty strings is not free to walk.
    if (typeof item === 'string' || item instanceof String) total += item.length + 2;
    else if (Array.isArray(item)) {
      total += 1;
      for (const element of item) pending.push(element);
    } else if (item !== null && typeof item === 'object') {
      total += 1;
      for (const [key, element] of Object.entries(item)) {
        total += key.length;
        pending.push(element);
      }
    } else total += 1;
  }
  return total;
}

function sizeOf(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (value instanceof String) return value.length;
  if (Array.isArray(value)) return value.length;
  if (value !== null && typeof value === 'object') return Object.keys(value).length;
  return 0;
}
