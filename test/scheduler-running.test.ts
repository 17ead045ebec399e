import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../src/logger.ts';
import { ServiceMetrics } from '../src/service/metrics.ts';
import { HubScheduler, type RunResult } from '../src/service/scheduler.ts';
import { testHub } from './helpers/config.ts';

test('a sync that does not end is visible to readiness (runningSince), and clears when it ends', async () => {
  let finish!: (result: RunResult) => void;
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const scheduler = new HubScheduler({
    logger: silentLogger(),
    metrics: new ServiceMetrics(),
    runHub: () => {
      started();
      return new Promise<RunResult>((done) => (finish = done));
    },
    repoKey: () => 'repo',
    debounceMs: 0,
    maxDebounceMs: 0,
    clock: () => 1_000,
  });
  const hub = testHub();
  scheduler.update(new Map([[hub.name, hub]]), []);
  try {
    await running;
    assert.deepEqual(
      scheduler.readiness().map((state) => state.runningSince),
      [1_000],
    );
    finish({ ran: true, result: { hub: hub.name, outcome: 'source-failed', error: 'x' } });
    await scheduler.stop(1_000, 0);
    assert.deepEqual(
      scheduler.readiness().map((state) => [state.runningSince, state.lastOutcome]),
      [[undefined, 'source-failed']],
    );
  } finally {
    // The hub's schedule (a cron task) must not keep the test process alive, whatever failed.
    finish?.({ ran: false, holder: 'test' });
    await scheduler.stop(0, 0);
  }
});
