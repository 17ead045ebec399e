import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { KubeObject } from '../../src/kube/resources.ts';

/** The status fixtures (real Argo CD and Flux objects; where each came from is in their README), in this repository. */
export const FIXTURES = fileURLToPath(new URL('../fixtures/status', import.meta.url));

/**
 * One fixture as an object. Fragments (a bare `status:` block, or a bare `conditions:`
 * list) are wrapped into an object, as the README says to; the `yaml` package keeps
 * unquoted timestamps as strings.
 */
export function fixture(engine: 'argocd' | 'flux', file: string): KubeObject {
  const key = `${engine}/${file}`;
  let raw = parsed.get(key);
  if (raw === undefined)
    parsed.set(key, (raw = parse(readFileSync(path.join(FIXTURES, engine, file), 'utf8')) as Record<string, unknown>));
  // A fresh copy each time: tests change what they get.
  const copy = structuredClone(raw);
  if (Array.isArray(copy.conditions)) return { status: { conditions: copy.conditions } };
  return copy as KubeObject;
}

/** Parsed once per process (the bench builds 10,000 objects from one fixture). */
const parsed = new Map<string, Record<string, unknown>>();
