import { GoTemplateError, splitActions, type Piece, type Token } from './lexer.ts';

/** Where an action's trim markers were (`{{-` and `-}}`), kept for the translation. */
export type Trim = { left: boolean; right: boolean };

export type Operand =
  | { kind: 'dot' }
  | { kind: 'variable'; name: string }
  | { kind: 'chain'; receiver: Operand; fields: string[] }
  | { kind: 'function'; name: string }
  | { kind: 'string'; value: string }
  | { kind: 'number'; text: string; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'paren'; pipeline: Pipeline };

export type Command = Operand[];
export type Pipeline = { declare: string[]; assign: boolean; commands: Command[] };

export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'output'; pipeline: Pipeline; trim: Trim; source: string }
  | { kind: 'comment'; trim: Trim }
  | BlockNode;

/** `if`/`else if`/`else`, `with`, `range`: each keyword's trim markers are kept. */
export type BlockNode = {
  kind: 'if' | 'with' | 'range';
  branches: Array<{ pipeline: Pipeline; body: Node[]; trim: Trim }>;
  elseBody: Node[] | undefined;
  elseTrim: Trim | undefined;
  endTrim: Trim;
  source: string;
};

const REFUSED_KEYWORDS: Record<string, string> = {
  define: 'nested templates (define/template/block) are not supported: each field is its own template',
  template: 'nested templates (define/template/block) are not supported: each field is its own template',
  block: 'nested templates (define/template/block) are not supported: each field is its own template',
  break: 'break and continue are not supported',
  continue: 'break and continue are not supported',
};

/**
 * How deep blocks (`if`/`with`/`range`) and parentheses may nest in one leaf. Far beyond
 * any real form; bounded so a crafted one (thousands deep) is a clear error, not a stack
 * overflow in the parser, the translation or the template engine after it.
 */
export const MAX_NESTING = 100;

/** Parse one leaf into its syntax tree; throws GoTemplateError on anything it cannot read. */
export function parseGoTemplate(source: string): Node[] {
  const pieces = splitActions(source);
  let at = 0;
  let depth = 0;

  const parseList = (
    stopAt: ReadonlySet<string>,
  ): { nodes: Node[]; stop: { word: string; piece: Extract<Piece, { kind: 'action' }> } | undefined } => {
    const nodes: Node[] = [];
    while (at < pieces.length) {
      const piece = pieces[at]!;
      at++;
      if (piece.kind === 'text') {
        nodes.push({ kind: 'text', text: piece.text });
        continue;
      }
      const trim = { left: piece.trimLeft, right: piece.trimRight };
      if (piece.comment) {
        nodes.push({ kind: 'comment', trim });
        continue;
      }
      const first = piece.tokens[0];
      if (first === undefined) throw new GoTemplateError('empty action {{ }}');
      const word = first.kind === 'identifier' ? first.name : '';
      if (REFUSED_KEYWORDS[word] !== undefined) throw new GoTemplateError(REFUSED_KEYWORDS[word]);
      if (word === 'else' || word === 'end') {
        if (!stopAt.has(word)) throw new GoTemplateError(`unexpected {{ ${word} }}`);
        return { nodes, stop: { word, piece } };
      }
      if (word === 'if' || word === 'with' || word === 'range') {
        if (++depth > MAX_NESTING) throw new GoTemplateError(`blocks nest more than ${MAX_NESTING} deep`);
        nodes.push(parseBlock(word, piece));
        depth--;
        continue;
      }
      nodes.push({ kind: 'output', pipeline: parsePipeline(piece.tokens), trim, source: piece.source });
    }
    if (stopAt.size > 0) throw new GoTemplateError('missing {{ end }}');
    return { nodes, stop: undefined };
  };

  const parseBlock = (word: 'if' | 'with' | 'range', open: Extract<Piece, { kind: 'action' }>): Node => {
    const branches: Array<{ pipeline: Pipeline; body: Node[]; trim: Trim }> = [];
    let tokens = open.tokens.slice(1);
    let trim: Trim = { left: open.trimLeft, right: open.trimRight };
    for (;;) {
      const pipeline = parsePipeline(tokens);
      if (pipeline.commands.length === 0) throw new GoTemplateError(`missing value for ${word}`);
      const { nodes, stop } = parseList(new Set(['else', 'end']));
      branches.push({ pipeline, body: nodes, trim });
      const stopTrim = { left: stop!.piece.trimLeft, right: stop!.piece.trimRight };
      if (stop!.word === 'end')
        return {
          kind: word,
          branches,
          elseBody: undefined,
          elseTrim: undefined,
          endTrim: stopTrim,
          source: open.source,
        };
      const after = stop!.piece.tokens.slice(1);
      if (after.length > 0) {
        // `{{ else if … }}` (and Go 1.23's `else with`) chain another branch.
        if (after[0]!.kind !== 'identifier' || after[0]!.name !== word || word === 'range')
          throw new GoTemplateError(`{{ else ${tokenText(after[0]!)} … }} is not supported here`);
        tokens = after.slice(1);
        trim = stopTrim;
        continue;
      }
      const rest = parseList(new Set(['end']));
      if (rest.stop!.piece.tokens.length > 1) throw new GoTemplateError('{{ end }} takes no arguments');
      return {
        kind: word,
        branches,
        elseBody: rest.nodes,
        elseTrim: stopTrim,
        endTrim: { left: rest.stop!.piece.trimLeft, right: rest.stop!.piece.trimRight },
        source: open.source,
      };
    }
  };

  return parseList(new Set()).nodes;
}

function tokenText(token: Token): string {
  switch (token.kind) {
    case 'identifier':
    case 'field':
    case 'variable':
      return token.name;
    default:
      return token.kind;
  }
}

/** `[$a[, $b] :=|=] command | command …` */
export function parsePipeline(tokens: readonly Token[]): Pipeline {
  let at = 0;
  let depth = 0;
  const declare: string[] = [];
  let assign = false;
  const declEnd = tokens.findIndex((token) => token.kind === 'punct' && (token.value === ':=' || token.value === '='));
  if (
    declEnd > 0 &&
    tokens
      .slice(0, declEnd)
      .every((token) => token.kind === 'variable' || (token.kind === 'punct' && token.value === ','))
  ) {
    for (const token of tokens.slice(0, declEnd)) if (token.kind === 'variable') declare.push(token.name);
    const op = tokens[declEnd]!;
    assign = op.kind === 'punct' && op.value === '=';
    at = declEnd + 1;
  }

  const parseCommands = (stopAtParen: boolean): Command[] => {
    const commands: Command[] = [];
    let command: Command = [];
    while (at < tokens.length) {
      const token = tokens[at]!;
      if (token.kind === 'punct' && token.value === ')') {
        if (!stopAtParen) throw new GoTemplateError('unexpected ")"');
        break;
      }
      if (token.kind === 'punct' && token.value === '|') {
        if (command.length === 0) throw new GoTemplateError('missing command before "|"');
        commands.push(command);
        command = [];
        at++;
        continue;
      }
      command.push(parseOperand());
    }
    if (command.length > 0) commands.push(command);
    else if (commands.length > 0) throw new GoTemplateError('missing command after "|"');
    return commands;
  };

  const parseOperand = (): Operand => {
    const token = tokens[at]!;
    at++;
    let operand: Operand;
    switch (token.kind) {
      case 'dot':
        operand = { kind: 'dot' };
        break;
      case 'field': {
        const fields = [token.name];
        while (tokens[at]?.kind === 'field' && !tokens[at]!.gap) fields.push((tokens[at++] as { name: string }).name);
        return { kind: 'chain', receiver: { kind: 'dot' }, fields };
      }
      case 'variable':
        operand = { kind: 'variable', name: token.name };
        break;
      case 'identifier':
        return { kind: 'function', name: token.name };
      case 'string':
        return { kind: 'string', value: token.value };
      case 'number':
        return { kind: 'number', text: token.text, value: token.value };
      case 'bool':
        return { kind: 'bool', value: token.value };
      case 'nil':
        throw new GoTemplateError('nil is not supported');
      case 'char':
        throw new GoTemplateError("character constants ('a') are not supported");
      case 'punct': {
        if (token.value !== '(') throw new GoTemplateError(`unexpected "${token.value}"`);
        if (++depth > MAX_NESTING) throw new GoTemplateError(`parentheses nest more than ${MAX_NESTING} deep`);
        const commands = parseCommands(true);
        depth--;
        if (tokens[at]?.kind !== 'punct' || (tokens[at] as { value: string }).value !== ')')
          throw new GoTemplateError('missing ")"');
        at++;
        if (commands.length === 0) throw new GoTemplateError('empty ( )');
        operand = { kind: 'paren', pipeline: { declare: [], assign: false, commands } };
        break;
      }
    }
    const fields: string[] = [];
    while (tokens[at]?.kind === 'field' && !tokens[at]!.gap) fields.push((tokens[at++] as { name: string }).name);
    return fields.length > 0 ? { kind: 'chain', receiver: operand, fields } : operand;
  };

  const commands = parseCommands(false);
  if (at < tokens.length) throw new GoTemplateError('unexpected ")"');
  if (declare.length > 0 && commands.length === 0) throw new GoTemplateError('missing value after :=');
  return { declare, assign, commands };
}
