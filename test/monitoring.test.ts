import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { ServiceMetrics } from '../src/service/metrics.ts';

// The alert rules are tested with the real promtool (Debian's prometheus package; .ci/run installs it).

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..');
const MONITORING = path.join(ROOT, 'deploy', 'monitoring');
type Rule = { alert: string; expr: string; annotations: { summary: string; description: string; runbook_url: string } };
const rulesFile = parse(readFileSync(path.join(MONITORING, 'lynq-rules.yaml'), 'utf8')) as {
  groups: Array<{ name: string; rules: Rule[] }>;
};
const alerts = rulesFile.groups.flatMap((group) => group.rules);

/** Every series name lynq serve exports (a histogram as its _bucket, _sum and _count). */
async function exportedSeries(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await new ServiceMetrics().registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

describe('deploy/monitoring: alert rules', () => {
  test('promtool checks the rules and passes their unit tests (each alert once firing, once not)', async () => {
    await run('promtool', ['check', 'rules', path.join(MONITORING, 'lynq-rules.yaml')]);
    const { stdout } = await run('promtool', ['test', 'rules', 'lynq-rules.test.yaml'], {
      cwd: path.join(MONITORING, 'tests'),
    });
    assert.match(stdout, /SUCCESS/);
    const tests = parse(readFileSync(path.join(MONITORING, 'tests', 'lynq-rules.test.yaml'), 'utf8')) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const cases = tests.tests.flatMap((group) => group.alert_rule_test);
    for (const { alert } of alerts) {
      assert.ok(
        cases.some((item) => item.alertname === alert && item.exp_alerts.length > 0),
        `${alert}: no test where it fires`,
      );
      assert.ok(
        cases.some((item) => item.alertname === alert && item.exp_alerts.length === 0),
        `${alert}: no test where it does not fire`,
      );
    }
  });

  test('the PrometheusRule holds the same groups as the rules file', () => {
    const resource = parse(readFileSync(path.join(MONITORING, 'prometheusrule.yaml'), 'utf8')) as {
      kind: string;
      spec: unknown;
    };
    assert.equal(resource.kind, 'PrometheusRule');
    assert.deepEqual(resource.spec, rulesFile);
  });

  test('every alert names only series the bridge exports, and has a summary, a description and a runbook section', async () => {
    const exported = await exportedSeries();
    const runbooks = readFileSync(path.join(ROOT, 'docs', 'runbooks.md'), 'utf8');
    for (const rule of alerts) {
      for (const name of rule.expr.match(/\blynq_[a-z_]+/g) ?? [])
        assert.ok(exported.has(name), `${rule.alert}: ${name} is not a series lynq serve exports`);
      assert.ok(rule.annotations.summary && rule.annotations.description, rule.alert);
      const anchor = /#([a-z]+)$/.exec(rule.annotations.runbook_url)?.[1];
      assert.equal(anchor, rule.alert.toLowerCase(), `${rule.alert}: runbook_url ends in its own section`);
      assert.match(runbooks, new RegExp(`^## ${rule.alert}$`, 'm'), `${rule.alert}: no section in docs/runbooks.md`);
    }
  });
});

describe('deploy/monitoring: the Grafana dashboard', () => {
  type Panel = { title: string; targets?: Array<{ expr: string }> };
  const dashboard = JSON.parse(readFileSync(path.join(MONITORING, 'grafana-dashboard.json'), 'utf8')) as {
    panels: Panel[];
    templating: { list: Array<{ name: string; definition?: string }> };
  };
  // The dashboard's variables, as Grafana fills them in before a query is sent.
  const filledIn = (expr: string) => expr.replaceAll('$hub', '.*');
  const queries = dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: filledIn(target.expr) })),
  );

  test('every query parses (promtool checks them as recording rules)', async () => {
    assert.ok(queries.length >= 15, `${queries.length} queries`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lynq-dashboard-'));
    try {
      const file = path.join(dir, 'queries.yaml');
      writeFileSync(
        file,
        stringify({
          groups: [
            {
              name: 'dashboard',
              rules: queries.map((query, i) => ({ record: `lynq:dashboard:q${i}`, expr: query.expr })),
            },
          ],
        }),
      );
      const { stdout } = await run('promtool', ['check', 'rules', file]);
      assert.match(stdout, new RegExp(`SUCCESS: ${queries.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every query, and the hub variable, names only series the bridge exports; every panel has a query', async () => {
    const exported = await exportedSeries();
    for (const panel of dashboard.panels) assert.ok((panel.targets ?? []).length > 0, `${panel.title}: no query`);
    const hub = dashboard.templating.list.find((variable) => variable.name === 'hub');
    for (const { panel, expr } of [...queries, { panel: 'variable hub', expr: hub?.definition ?? '' }]) {
      const names = expr.match(/\blynq_[a-z_]+/g) ?? [];
      assert.ok(names.length > 0, `${panel}: no lynq series in ${expr}`);
      for (const name of names) assert.ok(exported.has(name), `${panel}: ${name} is not a series lynq serve exports`);
    }
  });
});
