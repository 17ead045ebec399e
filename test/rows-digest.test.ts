/**
 * The digest a hub state keeps of what its inputs were computed from (src/plan/rows-digest.ts):
 * a sync whose digest is the kept one takes the state's inputs instead of hashing every row,
 * so the digest must change with anything prepareHub reads, and the state must give back
 * exactly the inputs prepareHub would.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hubStateHead, hubStateText, parseHubState, stateInputs } from '../src/plan/hub-state.ts';
import { prepareHub } from '../src/plan/render-hub.ts';
import { rowsDigest } from '../src/plan/rows-digest.ts';
import type { HubRow } from '../src/sources/rows.ts';
import { testForm, testHub } from './helpers/config.ts';

const FORM =
  '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { plan: "{{ plan }}" }\n';
const hub = testHub({ extra: { plan: 'plan' } });
const form = testForm(FORM, { hubId: 'customers' });
const row = (uid: string, plan: string, extra: Partial<HubRow> = {}): HubRow => ({
  uid,
  active: true,
  values: { activate: 'true', plan, uid },
  ...extra,
});
const rows: HubRow[] = [row('acme', 'gold'), row('globex', 'silver'), row('initech', 'bronze', { active: false })];
const digestOf = (r: readonly HubRow[], h = hub, f = [form], version = '0.5.0') => rowsDigest(h, f, r, version).digest;

describe('rows digest', () => {
  it('is the same for the same rows, hub, forms and bridge version', () => {
    assert.equal(digestOf(rows), digestOf(rows.map((r) => ({ ...r, values: { ...r.values } }))));
  });

  it('changes with anything prepareHub reads', () => {
    const base = digestOf(rows);
    const changed: Array<[string, string]> = [
      ['a value', digestOf([row('acme', 'platinum'), rows[1]!, rows[2]!])],
      ['a uid', digestOf([row('acme2', 'gold'), rows[1]!, rows[2]!])],
      ['active', digestOf([rows[0]!, rows[1]!, { ...rows[2]!, active: true }])],
      ['paused', digestOf([{ ...rows[0]!, paused: true }, rows[1]!, rows[2]!])],
      ['a problem', digestOf([{ ...rows[0]!, problem: 'column plan is not UTF-8' }, rows[1]!, rows[2]!])],
      ['the order of the rows (a repeated uid fails by row number)', digestOf([rows[1]!, rows[0]!, rows[2]!])],
      ['a row more', digestOf([...rows, row('umbrella', 'gold')])],
      ['a row less', digestOf(rows.slice(0, 2))],
      ['the bridge version', digestOf(rows, hub, [form], '0.5.1')],
      ['the hub namespace', digestOf(rows, testHub({ extra: { plan: 'plan' }, namespace: 'elsewhere' }))],
      ['the hub spec', digestOf(rows, testHub({ extra: { plan: 'plan', tier: 'plan' } }))],
      ['the form', digestOf(rows, hub, [testForm(FORM.replace('-settings', '-config'), { hubId: 'customers' })])],
      ['a form more', digestOf(rows, hub, [form, testForm(FORM, { hubId: 'customers', name: 'other' })])],
      [
        'the values split otherwise across uid and values',
        digestOf([{ ...rows[0]!, uid: 'acm', values: { ...rows[0]!.values, uid: 'eacme' } }, rows[1]!, rows[2]!]),
      ],
    ];
    for (const [what, digest] of changed) assert.notEqual(digest, base, what);
    assert.equal(new Set(changed.map(([, digest]) => digest)).size, changed.length);
  });

  it('prepareHub hashes the texts it was handed as it hashes the rows itself', () => {
    const options = { root: 'nodes', bridgeVersion: '0.5.0' };
    const { texts } = rowsDigest(hub, [form], rows, '0.5.0');
    assert.deepEqual(
      prepareHub(hub, [form], rows, { ...options, rowTexts: texts }).inputs,
      prepareHub(hub, [form], rows, options).inputs,
    );
  });
});

describe('hub state with its digest', () => {
  it("gives back the digest, the folders and every node's input", () => {
    const inputs = prepareHub(hub, [form], rows, { root: 'nodes', bridgeVersion: '0.5.0' }).inputs;
    const digest = digestOf(rows);
    const text = hubStateText(inputs, ['a'.repeat(40), undefined], digest);
    assert.deepEqual(hubStateHead(text), { digest, folders: ['a'.repeat(40), undefined] });
    const state = parseHubState(text)!;
    assert.deepEqual(stateInputs(state), inputs);
    assert.equal(hubStateText(stateInputs(state), state.folders, state.digest), text, 'the same text again');
  });

  it('a state of the version before (no digest line) is not one: the next sync checks node by node', () => {
    const old = `lynq hub state 1\nnodes ${'a'.repeat(40)}\napps -\nweb/acme ${'b'.repeat(64)}\n`;
    assert.equal(hubStateHead(old), undefined);
    assert.equal(parseHubState(old), undefined);
  });

  it('a torn state is not one', () => {
    const inputs = prepareHub(hub, [form], rows, { root: 'nodes', bridgeVersion: '0.5.0' }).inputs;
    const text = hubStateText(inputs, [undefined, undefined], digestOf(rows));
    assert.equal(parseHubState(text.slice(0, -10)), undefined);
  });
});
