import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * What the bridge last knew of a LynqNode's status: at this uid and resourceVersion, the
 * fields the bridge owns were `owned` (JSON, as nodeStatus built them), whose verdict (the
 * status without its transition times and the sync's conditions, hashed) is `verdict`
 * and whose sync conditions, Conflicted and Paused (without their times), are `fromSync`
 * ('' when it had none).
 * A uid and resourceVersion name one state of one object for good, so a fact never goes
 * stale: when the cluster lists the LynqNode at that uid and resourceVersion, its status
 * is this one, and its status need not be listed.
 */
export type StatusFact = { uid: string; resourceVersion: string; verdict: string; fromSync: string; owned: string };

/**
 * The facts of one hub's LynqNodes on one API server, by `<namespace>/<name>`, kept
 * between runs under `$LYNQ_CACHE_DIR/health/`: a cache only. Without it (lost, torn, of
 * another server) the LynqNodes are listed whole, as they were before it existed.
 */
export type StatusMemo = {
  load(hub: string, server: string): Promise<Map<string, StatusFact>>;
  save(hub: string, server: string, facts: ReadonlyMap<string, StatusFact>): Promise<void>;
  /** The facts last saved for the hub, whichever API server they are of (the web view shows them until a read-back). */
  latest?(hub: string): Promise<Map<string, StatusFact>>;
};

// 2: `fromSync` holds the sync's conditions (Conflicted and Paused) as a JSON list; a memo of 1 is dropped (a cache).
const HEADER = 'lynq-status-facts 2';

/**
 * One line per LynqNode, tab-separated (`key uid resourceVersion verdict fromSync owned`):
 * a no-op read-back reads 10,000 of them without parsing the JSON they carry, which only a
 * status that changed needs.
 */
export function fileStatusMemo(cacheDir: string): StatusMemo {
  const fileOf = (hub: string): string => path.join(cacheDir, 'health', `${hub}.statuses`);
  return {
    load: (hub, server) => readFacts(fileOf(hub), server),
    latest: (hub) => readFacts(fileOf(hub), undefined),
    async save(hub, server, facts) {
      const file = fileOf(hub);
      await mkdir(path.dirname(file), { recursive: true });
      const lines = [`${HEADER}\t${server}`];
      for (const [key, fact] of facts)
        lines.push(`${key}\t${fact.uid}\t${fact.resourceVersion}\t${fact.verdict}\t${fact.fromSync}\t${fact.owned}`);
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, `${lines.join('\n')}\n`);
      await rename(temporary, file);
    },
  };
}

/** The facts in a memo file; with `server`, only when they are of that server (facts of another say nothing of its objects). */
async function readFacts(file: string, server: string | undefined): Promise<Map<string, StatusFact>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return new Map();
  }
  const facts = new Map<string, StatusFact>();
  const lines = text.split('\n');
  if (server === undefined ? !lines[0]!.startsWith(`${HEADER}\t`) : lines[0] !== `${HEADER}\t${server}`) return facts;
  for (let index = 1; index < lines.length; index++) {
    const fields = lines[index]!.split('\t');
    // A torn line is dropped: a fact only ever saves listing one status.
    if (fields.length !== 6 || fields.some((field, at) => field === '' && at !== 4) || !fields[5]!.endsWith('}'))
      continue;
    const [key, uid, resourceVersion, verdict, fromSync, owned] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    facts.set(key, { uid, resourceVersion, verdict, fromSync, owned });
  }
  return facts;
}
