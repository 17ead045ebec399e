import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const BIN = path.resolve('bin/lynq.mjs');

/** One JSON log line of the bridge. */
export type LogLine = { msg: string; hub?: string; [field: string]: unknown };

/** A real `lynq` child process (serve or sync), its JSON logs parsed as they come. */
export type LynqProcess = {
  child: ChildProcess;
  logs: LogLine[];
  stdout(): string;
  stderr(): string;
  /** Resolves when `predicate` holds for the logs so far; rejects after `timeoutMs` (a bound for slow machines, not an assertion). */
  waitForLog(predicate: (logs: LogLine[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** The http://host:port serve listens on (once it said so). */
  url(): Promise<string>;
  exited: Promise<number | null>;
};

export function startLynq(args: string[], env: NodeJS.ProcessEnv, options: { cwd?: string } = {}): LynqProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LYNQ_LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let out = '';
  let err = '';
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        // A line that is not JSON (a crash trace) stays in stderr() for the failure message.
      }
    }
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const waitForLog = async (
    predicate: (lines: LogLine[]) => boolean,
    what: string,
    timeoutMs = 60_000,
  ): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(logs)) {
      if (child.exitCode !== null)
        throw new Error(`lynq exited (${child.exitCode}) while waiting for ${what}\n${err.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${err.slice(-3000)}`);
      await sleep(50);
    }
  };
  return {
    child,
    logs,
    stdout: () => out,
    stderr: () => err,
    waitForLog,
    async url() {
      await waitForLog((lines) => lines.some((line) => line.msg === 'serving'), 'serve to listen');
      const address = logs.find((line) => line.msg === 'serving')!.address as string;
      return `http://${address}`;
    },
    exited,
  };
}

/** Stop a child (SIGTERM) and wait for it; SIGKILL after the bound so a test never leaves it behind. */
export async function stopLynq(proc: LynqProcess, timeoutMs = 60_000): Promise<number | null> {
  if (proc.child.exitCode !== null) return proc.child.exitCode;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Syncs a serve process finished for a hub, from its logs. */
export function finishedSyncs(logs: readonly LogLine[], hub: string): LogLine[] {
  return logs.filter((line) => line.msg === 'sync finished' && line.hub === hub);
}

/** [started, finished] per sync of a hub, in log order (`at` is the process's clock in ms). */
export function syncIntervals(logs: readonly LogLine[], hub: string): Array<[number, number]> {
  const intervals: Array<[number, number]> = [];
  let open: number | undefined;
  for (const line of logs) {
    if (line.hub !== hub) continue;
    if (line.msg === 'sync started') {
      if (open !== undefined)
        throw new Error(`hub ${hub}: a sync started at ${line.at} while the one from ${open} was still running`);
      open = line.at as number;
    }
    if (line.msg === 'sync finished') {
      if (open === undefined) throw new Error(`hub ${hub}: a sync finished that never started`);
      intervals.push([open, line.at as number]);
      open = undefined;
    }
  }
  return intervals;
}

/** Whether any two intervals overlap (touching ends do not). */
export function overlapping(intervals: ReadonlyArray<[number, number]>): [number, number][] | undefined {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < sorted.length; i++) if (sorted[i]![0] < sorted[i - 1]![1]) return [sorted[i - 1]!, sorted[i]!];
  return undefined;
}

/** Processes whose working directory is inside `dir` (git children left behind would be). */
export async function processesIn(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = await readlink(`/proc/${entry}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) found.push(`${entry} (${cwd})`);
    } catch {
      // Gone already, or not ours to look at.
    }
  }
  return found;
}

/** Parse the Prometheus text exposition format (0.0.4) strictly: every sample belongs to a declared family. */
export function parsePrometheusText(
  text: string,
): Map<string, { type: string; samples: Array<{ name: string; labels: Record<string, string>; value: number }> }> {
  const families = new Map<
    string,
    { type: string; samples: Array<{ name: string; labels: Record<string, string>; value: number }> }
  >();
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sample = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
  const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)/;
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new Error('the exposition must end with a newline');
  for (const [index, line] of lines.entries()) {
    const where = `line ${index + 1}: ${line}`;
    // The format allows empty lines (prom-client puts one between families).
    if (line === '' || line.startsWith('# HELP ')) continue;
    const typeMatch = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (typeMatch !== null) {
      if (families.has(typeMatch[1]!)) throw new Error(`${where}: family declared twice`);
      families.set(typeMatch[1]!, { type: typeMatch[2]!, samples: [] });
      continue;
    }
    if (line.startsWith('#')) throw new Error(`${where}: unknown comment`);
    const match = sample.exec(line);
    if (match === null) throw new Error(`${where}: not a sample`);
    const [, name, labelText = '', valueText] = match;
    const labels: Record<string, string> = {};
    let rest = labelText;
    while (rest !== '') {
      const labelMatch = label.exec(rest);
      if (labelMatch === null) throw new Error(`${where}: bad labels`);
      labels[labelMatch[1]!] = labelMatch[2]!;
      rest = rest.slice(labelMatch[0].length);
    }
    const value =
      valueText === '+Inf'
        ? Infinity
        : valueText === '-Inf'
          ? -Infinity
          : valueText === 'NaN'
            ? NaN
            : Number(valueText);
    if (Number.isNaN(value) && valueText !== 'NaN') throw new Error(`${where}: bad value`);
    const family = [...families.entries()].find(
      ([familyName, { type }]) =>
        name === familyName ||
        (type === 'histogram' &&
          [`${familyName}_bucket`, `${familyName}_sum`, `${familyName}_count`].includes(name!)) ||
        (type === 'summary' && [`${familyName}_sum`, `${familyName}_count`].includes(name!)),
    );
    if (family === undefined) throw new Error(`${where}: sample of an undeclared family`);
    family[1].samples.push({ name: name!, labels, value });
  }
  return families;
}
