import { blockedName, FUNCTION_FILTERS, REFUSED_FUNCTIONS } from './functions.ts';
import { GoTemplateError, UnknownGoFunctionError } from './lexer.ts';
import {
  parseGoTemplate,
  type BlockNode,
  type Command,
  type Node,
  type Operand,
  type Pipeline,
  type Trim,
} from './parser.ts';

export { GoTemplateError, UnknownGoFunctionError } from './lexer.ts';

/**
 * Lynq's Go text/template + Sprig, translated into the bridge's own (nunjucks) templates.
 * The output only ever names row variables, locals it declares itself (`_name`), `loop`,
 * literals and the documented filters: no function calls, no member lookups that reach a
 * built-in prototype. Anything that does not map cleanly is refused with a reason.
 */
export function translateGoTemplate(source: string): string {
  if (!source.includes('{{')) return escapeText(source);
  const translator = new Translator();
  return translator.nodes(parseGoTemplate(source), { dot: undefined, vars: new Map() });
}

const GO_FUNCTIONS = new Set([
  ...Object.keys(FUNCTION_FILTERS),
  ...Object.keys(REFUSED_FUNCTIONS),
  'and',
  'or',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'index',
  'print',
  'printf',
  'list',
  'dict',
  'add1',
  'if',
  'with',
  'range',
]);

/**
 * True when the text has a Go-style action: a `.field`, `$var`, `{{ end }}`, a comment, or a
 * prefix call (`{{ default "x" … }}`, `{{ ternary … }}`), none of which the bridge's own
 * syntax can have.
 */
export function looksLikeGoTemplate(source: string): boolean {
  for (const match of source.matchAll(/\{\{-?\s*([\s\S]*?)\s*-?\}\}/g)) {
    const body = match[1]!;
    if (/^\/\*/.test(body) || /^(end|else)\b/.test(body)) return true;
    const code = body.replace(/"(?:[^"\\]|\\.)*"|`[^`]*`/g, '""');
    if (/(^|[\s(|,])[.$](?![0-9])/.test(code)) return true;
    for (const call of code.matchAll(/(?:^|[(|]\s*)([A-Za-z_]\w*)\s+["'\w(.$-]/g))
      if (GO_FUNCTIONS.has(call[1]!)) return true;
  }
  return false;
}

/** What `.` means here: undefined at the top (the row), else a nunjucks expression. */
type Scope = { dot: string | undefined; vars: Map<string, string> };
/** A nunjucks expression and how tightly it binds: atoms take `.x` and `| f`, filter chains only `| f`. */
type Expr = { text: string; kind: 'atom' | 'filter' };

const atom = (text: string): Expr => ({ kind: 'atom', text });

class Translator {
  private counter = 0;

  nodes(nodes: readonly Node[], scope: Scope): string {
    let out = '';
    for (const [i, node] of nodes.entries()) {
      if (node.kind === 'text') {
        // A `{` just before an action would make `{{{`: print it as a literal instead.
        const next = nodes[i + 1];
        out +=
          next !== undefined && next.kind !== 'text' && node.text.endsWith('{')
            ? `${escapeText(node.text.slice(0, -1))}{{ "{" }}`
            : escapeText(node.text);
      } else if (node.kind === 'comment') {
        if (node.trim.left || node.trim.right) out += tag('{{', '""', '}}', node.trim);
      } else if (node.kind === 'output') {
        out += this.output(node.pipeline, node.trim, scope);
      } else {
        out += this.block(node, scope);
      }
    }
    return out;
  }

  private output(pipeline: Pipeline, trim: Trim, scope: Scope): string {
    if (pipeline.declare.length === 0) return tag('{{', this.pipeline(pipeline, scope).text, '}}', trim);
    if (pipeline.declare.length > 1) throw new GoTemplateError('only range declares two variables');
    const name = pipeline.declare[0]!;
    if (pipeline.assign && !scope.vars.has(name))
      throw new GoTemplateError(`$${name} is assigned before it is declared`);
    // nunjucks scopes a `set` inside a loop to the loop: an assignment there would not outlive it.
    if (pipeline.assign && scope.vars.get(`$inLoop`) === 'yes')
      throw new GoTemplateError(`assigning $${name} inside range is not supported`);
    const local = this.declare(name, scope);
    return tag('{%', `set ${local} = ${this.pipeline(pipeline, scope).text}`, '%}', trim);
  }

  private declare(name: string, scope: Scope): string {
    if (name === '') throw new GoTemplateError('$ cannot be declared');
    const problem = blockedName(name);
    if (problem !== undefined) throw new GoTemplateError(problem);
    const local = `_${name}`;
    scope.vars.set(name, local);
    return local;
  }

  private block(node: BlockNode, scope: Scope): string {
    const inner: Scope = { dot: scope.dot, vars: new Map(scope.vars) };
    if (node.kind === 'range') return this.range(node, scope, inner);
    let out = '';
    node.branches.forEach((branch, i) => {
      const branchScope: Scope = { dot: scope.dot, vars: new Map(inner.vars) };
      let condition: string;
      let prefix = '';
      if (branch.pipeline.declare.length > 0 || node.kind === 'with') {
        if (i > 0)
          throw new GoTemplateError(`{{ else ${node.kind} … }} with a value is not supported; nest the blocks`);
        if (branch.pipeline.declare.length > 1 || branch.pipeline.assign)
          throw new GoTemplateError(`${node.kind} declares at most one variable`);
        const value = this.pipeline({ ...branch.pipeline, declare: [] }, scope).text;
        const local =
          branch.pipeline.declare[0] !== undefined
            ? this.declare(branch.pipeline.declare[0], branchScope)
            : `_with${++this.counter}`;
        prefix = tag('{%', `set ${local} = ${value}`, '%}', { left: branch.trim.left, right: false });
        condition = local;
        if (node.kind === 'with') branchScope.dot = local;
      } else {
        condition = this.pipeline(branch.pipeline, scope).text;
      }
      const keyword = i === 0 ? 'if' : 'elif';
      out +=
        prefix +
        tag(
          '{%',
          `${keyword} ${condition}`,
          '%}',
          prefix === '' ? branch.trim : { left: false, right: branch.trim.right },
        );
      out += this.nodes(branch.body, branchScope);
    });
    if (node.elseBody !== undefined)
      out +=
        tag('{%', 'else', '%}', node.elseTrim!) +
        this.nodes(node.elseBody, { dot: scope.dot, vars: new Map(inner.vars) });
    return out + tag('{%', 'endif', '%}', node.endTrim);
  }

  private range(node: BlockNode, scope: Scope, inner: Scope): string {
    const branch = node.branches[0]!;
    const { declare, assign } = branch.pipeline;
    if (assign) throw new GoTemplateError('range declares its variables with :=');
    const value = this.pipeline({ ...branch.pipeline, declare: [] }, scope);
    if (declare.length === 2 && !isList(branch.pipeline)) {
      throw new GoTemplateError(
        'range with an index ($i, $v) is supported over list and splitList only (over a map, Go would give keys)',
      );
    }
    const element = declare.length > 0 ? this.declare(declare[declare.length - 1]!, inner) : `_item${++this.counter}`;
    inner.dot = element;
    inner.vars.set('$inLoop', 'yes');
    let out = tag('{%', `for ${element} in ${value.text}`, '%}', branch.trim);
    if (declare.length === 2) out += `{% set ${this.declare(declare[0]!, inner)} = loop.index0 %}`;
    out += this.nodes(branch.body, inner);
    if (node.elseBody !== undefined)
      out +=
        tag('{%', 'else', '%}', node.elseTrim!) +
        this.nodes(node.elseBody, { dot: scope.dot, vars: new Map(scope.vars) });
    return out + tag('{%', 'endfor', '%}', node.endTrim);
  }

  pipeline(pipeline: Pipeline, scope: Scope): Expr {
    let value: Expr | undefined;
    for (const command of pipeline.commands) value = this.command(command, value, scope);
    return value!;
  }

  private command(command: Command, piped: Expr | undefined, scope: Scope): Expr {
    const first = command[0]!;
    if (first.kind !== 'function') {
      if (command.length > 1)
        throw new GoTemplateError('only a function takes arguments (a value followed by more values)');
      if (piped !== undefined) throw new GoTemplateError('only a function can take a piped value');
      return this.operand(first, scope);
    }
    // `index . "key"` names a row variable: the row itself is never a value.
    const isRow = (operand: Operand): boolean =>
      (operand.kind === 'dot' && scope.dot === undefined) || (operand.kind === 'variable' && operand.name === '');
    const args = command
      .slice(1)
      .map((operand, i) =>
        first.name === 'index' && i === 0 && isRow(operand) ? atom('') : this.operand(operand, scope),
      );
    if (piped !== undefined) args.push(piped);
    return this.call(first.name, args, command.slice(1), scope);
  }

  private call(name: string, args: Expr[], operands: Operand[], scope: Scope): Expr {
    const count = (min: number, max = min): void => {
      if (args.length < min || args.length > max)
        throw new GoTemplateError(
          `${name} takes ${min === max ? min : `${min} or more`} argument${min === 1 && max === 1 ? '' : 's'}, got ${args.length}`,
        );
    };
    const paren = (e: Expr): string => (e.kind === 'atom' ? e.text : `(${e.text})`);
    switch (name) {
      case 'and':
      case 'or':
        count(1, Infinity);
        return atom(`(${args.map(paren).join(` ${name} `)})`);
      case 'not':
        count(1);
        return atom(`(not ${paren(args[0]!)})`);
      case 'eq':
        count(2, Infinity);
        return atom(
          `(${args
            .slice(1)
            .map((arg) => `${paren(args[0]!)} === ${paren(arg)}`)
            .join(' or ')})`,
        );
      case 'ne':
      case 'lt':
      case 'le':
      case 'gt':
      case 'ge': {
        count(2);
        const op = { ne: '!==', lt: '<', le: '<=', gt: '>', ge: '>=' }[name];
        return atom(`(${paren(args[0]!)} ${op} ${paren(args[1]!)})`);
      }
      case 'list':
        return atom(`[${args.map((arg) => arg.text).join(', ')}]`);
      case 'dict':
        // A filter has one subject: Sprig's `dict "k" v "k2" v2` becomes `["k", v, "k2", v2] | dict`.
        return { kind: 'filter', text: `[${args.map((arg) => arg.text).join(', ')}] | dict` };
      case 'add1':
        count(1);
        return { kind: 'filter', text: `${paren(args[0]!)} | add(1)` };
      case 'print':
        count(1, Infinity);
        return concat(args.map((arg, i) => ({ text: paren(arg), string: isStringOperand(operands[i]) })));
      case 'printf':
        return this.printf(args, operands);
      case 'index':
        return this.index(args, operands, scope);
    }
    const mapping = FUNCTION_FILTERS[name];
    if (mapping !== undefined) {
      count(mapping.arity, mapping.variadic ? Infinity : mapping.arity);
      const subject = args[mapping.subject]!;
      const rest = args.filter((_, i) => i !== mapping.subject).map((arg) => arg.text);
      return {
        kind: 'filter',
        text: `${subject.kind === 'atom' || subject.kind === 'filter' ? subject.text : `(${subject.text})`} | ${mapping.filter}${rest.length > 0 ? `(${rest.join(', ')})` : ''}`,
      };
    }
    const reason = REFUSED_FUNCTIONS[name];
    if (reason !== undefined) throw new GoTemplateError(`${name} ${reason}`);
    throw new UnknownGoFunctionError(
      `function ${JSON.stringify(name)} is not available here (the filters are listed in docs/filters.md; a variable is written .${name})`,
    );
  }

  private printf(args: Expr[], operands: Operand[]): Expr {
    const format = operands[0];
    if (format?.kind !== 'string') throw new GoTemplateError('printf needs a literal format string first');
    const values = args.slice(1);
    const parts: Array<{ text: string; string: boolean }> = [];
    let used = 0;
    let literal = '';
    const flush = (): void => {
      if (literal !== '') parts.push({ text: stringLiteral(literal), string: true });
      literal = '';
    };
    for (let i = 0; i < format.value.length; i++) {
      const char = format.value[i]!;
      if (char !== '%') {
        literal += char;
        continue;
      }
      const verb = format.value[++i];
      if (verb === '%') {
        literal += '%';
        continue;
      }
      if (verb !== 's' && verb !== 'v' && verb !== 'q')
        throw new GoTemplateError(
          `printf verb %${verb ?? ''} is not supported (row values are text: use %s, %v or %q)`,
        );
      const value = values[used++];
      if (value === undefined) throw new GoTemplateError('printf has more verbs than values');
      flush();
      const text = value.kind === 'atom' ? value.text : `(${value.text})`;
      parts.push({ text: verb === 'q' ? `(${text} | quote)` : text, string: true });
    }
    if (used < values.length) throw new GoTemplateError('printf has more values than verbs');
    flush();
    return concat(parts);
  }

  private index(args: Expr[], operands: Operand[], scope: Scope): Expr {
    if (args.length < 2) throw new GoTemplateError('index takes a value and at least one key');
    const receiver = operands[0];
    let keys = operands.slice(1);
    let text: string;
    if (
      (receiver?.kind === 'dot' && scope.dot === undefined) ||
      (receiver?.kind === 'variable' && receiver.name === '')
    ) {
      // index . "key": a row variable by name.
      const key = keys[0]!;
      if (key.kind !== 'string') throw new GoTemplateError('index . takes a literal variable name');
      text = variableName(key.value);
      keys = keys.slice(1);
    } else {
      text = args[0]!.kind === 'atom' ? args[0]!.text : `(${args[0]!.text})`;
    }
    for (const key of keys) {
      if (key.kind === 'number' && Number.isSafeInteger(key.value) && key.value >= 0) text += `[${key.value}]`;
      else if (key.kind === 'string') {
        const problem = blockedName(key.value);
        if (problem !== undefined) throw new GoTemplateError(problem);
        text += `.${key.value}`;
      } else throw new GoTemplateError('index takes literal keys only (a string or a non-negative integer)');
    }
    return atom(text);
  }

  private operand(operand: Operand, scope: Scope): Expr {
    switch (operand.kind) {
      case 'dot':
        if (scope.dot === undefined)
          throw new GoTemplateError('{{ . }} (the whole row) is not supported: name the variable, e.g. .uid');
        return atom(scope.dot);
      case 'variable':
        if (operand.name === '')
          throw new GoTemplateError('$ (the whole row) is not supported: name the variable, e.g. $.uid');
        if (!scope.vars.has(operand.name)) throw new GoTemplateError(`undefined variable $${operand.name}`);
        return atom(scope.vars.get(operand.name)!);
      case 'chain': {
        const { receiver, fields } = operand;
        let text: string;
        let rest = fields;
        if (
          (receiver.kind === 'dot' && scope.dot === undefined) ||
          (receiver.kind === 'variable' && receiver.name === '')
        ) {
          text = variableName(fields[0]!);
          rest = fields.slice(1);
        } else {
          const base = this.operand(receiver, scope);
          text = base.kind === 'atom' ? base.text : `(${base.text})`;
        }
        for (const field of rest) {
          const problem = blockedName(field);
          if (problem !== undefined) throw new GoTemplateError(problem);
          text += `.${field}`;
        }
        return atom(text);
      }
      case 'function':
        return this.call(operand.name, [], [], scope);
      case 'string':
        return atom(stringLiteral(operand.value));
      case 'number':
        return atom(String(operand.value));
      case 'bool':
        return atom(String(operand.value));
      case 'paren': {
        const inner = this.pipeline(operand.pipeline, scope);
        return inner.kind === 'atom' ? inner : atom(`(${inner.text})`);
      }
    }
  }
}

/** A row variable named by `.name`: refused when it names a property every object has. */
function variableName(name: string): string {
  if (
    name.startsWith('__') ||
    Object.getOwnPropertyNames(Object.prototype).includes(name) ||
    !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)
  ) {
    throw new GoTemplateError(
      `the name ${JSON.stringify(name)} is not allowed: it is a property of JavaScript's built-in objects, not row data`,
    );
  }
  return name;
}

function isStringOperand(operand: Operand | undefined): boolean {
  return operand !== undefined && operand.kind !== 'number' && operand.kind !== 'bool';
}

/** Go's print: operands side by side, with a space only between two that are not strings. */
function concat(parts: Array<{ text: string; string: boolean }>): Expr {
  if (parts.length === 0) return atom('""');
  const pieces: string[] = [];
  parts.forEach((part, i) => {
    if (i > 0 && !part.string && !parts[i - 1]!.string) pieces.push('" "');
    pieces.push(part.text);
  });
  return atom(pieces.length === 1 ? `(${pieces[0]} ~ "")` : `(${pieces.join(' ~ ')})`);
}

function isList(pipeline: Pipeline): boolean {
  const last = pipeline.commands[pipeline.commands.length - 1]!;
  const first = last[0];
  return first?.kind === 'function' && (first.name === 'list' || first.name === 'splitList');
}

/** A nunjucks string literal; nunjucks reads \n, \t, \r, \" and \\. */
export function stringLiteral(value: string): string {
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(value))
    throw new GoTemplateError('control characters in a string literal are not supported');
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

/** Text outside actions: `{%` and `{#` would open a nunjucks tag, so they are printed as literals. */
function escapeText(text: string): string {
  return text.replace(/\{([%#])/g, '{{ "{$1" }}');
}

function tag(open: string, body: string, close: string, trim: Trim): string {
  return `${open}${trim.left ? '-' : ''} ${body} ${trim.right ? '-' : ''}${close}`;
}
