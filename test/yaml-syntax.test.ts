import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseForm } from '../src/config/load.ts';
import { ConfigError } from '../src/errors.ts';

/** The one problem a broken form file gives: its line and its message. */
function problem(text: string): { line: number | undefined; message: string } {
  try {
    parseForm('forms/web.yaml', text);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return { line: error.where.line, message: error.detail };
  }
  assert.fail('the form loaded');
}

const HEAD =
  'apiVersion: operator.lynq.sh/v1\nkind: LynqForm\nmetadata:\n  name: web\nspec:\n  hubId: customers\n  configMaps:\n    - id: a\n      nameTemplate: "{{ uid }}"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n';

describe('a YAML syntax error in words, at the line of the mistake', () => {
  test('a key one space out of line', () => {
    const found = problem(`${HEAD}        data:\n          A: b\n         B: c\n`);
    assert.equal(found.line, 15);
    assert.match(
      found.message,
      /^not valid YAML: this line's indentation \(9 spaces\) does not line up with the lines around it: .* \(the parser: All mapping items must start at the same column\)$/,
    );
  });

  test('a quote never closed is named where it opened, not where the parser gave up', () => {
    const found = problem(`${HEAD}        data:\n          A: "b\n          B: c\n          C: d\n`);
    assert.equal(found.line, 14);
    assert.match(found.message, /a quote opened on this line is never closed/);
  });

  test('a tab in the indentation', () => {
    const found = problem(`${HEAD}        data:\n\t  A: b\n`);
    assert.equal(found.line, 14);
    assert.match(found.message, /a tab in the indentation: YAML indents with spaces only/);
  });

  test('a list item where a key belongs', () => {
    const found = problem(`${HEAD}        data:\n          A: b\n      - id: b\n`);
    assert.match(found.message, /a list item \("- …"\) where YAML expected a key/);
  });
});
