import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { parse } from 'yaml';

/**
 * A local Kubernetes API over HTTPS for the health read-back tests: a CA and a server
 * certificate made with openssl at test time (the CA goes into the kubeconfig as
 * certificate-authority-data, as a real cluster's does), a bearer token, and only the
 * paths the bridge uses, answered as the API answers them:
 *
 * - LIST  GET  /apis/{group}/{version}/namespaces/{ns}/{plural}?labelSelector=k=v&limit=&continue=
 *   (a List with metadata.continue while more remain; an unknown continue token is a 410).
 *   With `Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1` (first
 *   in the list) a metadata-only list, as an API server answers it: `kind:
 *   PartialObjectMetadataList`, `apiVersion: meta.k8s.io/v1`, each item `kind:
 *   PartialObjectMetadata` with the object's whole metadata and nothing else, and that
 *   media type as the reply's Content-Type. Any other `as=` is a 406 (and a problem).
 * - GET   /apis/{group}/{version}/namespaces/{ns}/{plural}/{name}       (404 Status when absent)
 * - PATCH /apis/{group}/{version}/namespaces/{ns}/{plural}/{name}[/status] with
 *   `application/merge-patch+json` only (415 otherwise); a resourceVersion in the patch
 *   that is not the object's is a 409; /status changes only status, the object only the rest.
 * - POST  /apis/{group}/{version}/namespaces/{ns}/{plural} (create; only Events here): 201 with
 *   the stored object; a name taken is a 409 AlreadyExists, a body of another namespace a
 *   400, and an Event the API's validation refuses (k8s.io/kubernetes
 *   pkg/apis/core/validation/events.go for events.k8s.io/v1: eventTime, reportingController,
 *   reportingInstance, action and reason required, type Normal or Warning, note at most 1 KiB,
 *   series.count at least 2, regarding in the event's namespace) a 422 Invalid, also after a PATCH.
 * - GET   /apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name} (cluster-scoped; 404
 *   Status when absent). The bridge's LynqNode CRD (output-schema/lynqnode-crd.yaml) is
 *   installed from the start, as it is in any cluster that holds the bridge's LynqNodes;
 *   `putCrd` replaces it (the Lynq operator's), `removeCrd` takes it away.
 *
 * Objects get a uid when first put (kept when replaced or patched), as the API assigns one
 * on create. A missing or wrong token is a 401, a kind made forbidden a 403; replies can be queued
 * (`failNext`). Any other request is answered 501 and recorded, and `assertClean()`
 * fails the test on it and on queued replies never asked for.
 */
export type Obj = Record<string, unknown> & {
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
  };
};

type Kind = { group: string; version: string; plural: string; kind: string };
export const KINDS: Record<string, Kind> = {
  Application: { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications', kind: 'Application' },
  Kustomization: {
    group: 'kustomize.toolkit.fluxcd.io',
    version: 'v1',
    plural: 'kustomizations',
    kind: 'Kustomization',
  },
  LynqNode: { group: 'operator.lynq.sh', version: 'v1', plural: 'lynqnodes', kind: 'LynqNode' },
  Event: { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event' },
};

export type RecordedRequest = {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  accept: string | undefined;
  body: unknown;
};

export type KubeFake = {
  url: string;
  token: string;
  caPem: string;
  requests: RecordedRequest[];
  /**
   * Milliseconds the fake spent answering: the synchronous work of each request from its
   * last body byte to the reply handed to the socket (parsing, filtering, copying,
   * serialising, TLS-encrypting the reply), so a bench can tell the bridge's own time.
   * Only synchronous work, so requests in flight together are not counted twice, and the
   * time the bridge spends reading a reply is not counted as the fake's.
   */
  serverMs(): number;
  /**
   * The CPU time (the process's, all threads) of the same synchronous work: on a loaded
   * machine the wall time above also counts waiting for a CPU, so a bench that subtracts it
   * from the process's CPU time to get the bridge's would subtract too much.
   */
  serverCpuMs(): number;
  /** TLS connections accepted so far: with keep-alive, a handful whatever the number of requests. */
  connections(): number;
  /** Replies sent gzipped (over 128 KiB, to a client that accepts gzip, as an API server does). */
  gzipped(): number;
  /** Put or replace an object (resourceVersion set by the fake). */
  put(kind: keyof typeof KINDS, object: Obj): void;
  get(kind: keyof typeof KINDS, namespace: string, name: string): Obj | undefined;
  /** Every object of a kind in a namespace, by name. */
  all(kind: keyof typeof KINDS, namespace: string): Obj[];
  remove(kind: keyof typeof KINDS, namespace: string, name: string): void;
  /** The next request matching method and path suffix gets this status (a Status body), once; 0: its connection is closed unanswered. */
  failNext(method: string, pathEnd: string, status: number, before?: () => void): void;
  /**
   * The next request matching method and path suffix is never answered (`never`: no
   * status line), or its reply stops half-way (`mid-reply`: status, headers and part of
   * the body, then silence), the connection left open: a hung API server or a middlebox.
   * `stalled()` counts the requests so held.
   */
  stallNext(method: string, pathEnd: string, how: 'never' | 'mid-reply'): void;
  stalled(): number;
  /** Install or replace a CustomResourceDefinition (as the API server keeps it: uid, resourceVersion, generation, status). */
  putCrd(object: Record<string, unknown> & { metadata: { name: string } }): void;
  removeCrd(name: string): void;
  /** Answer 403 to every request for this plural (`false`: stop); `customresourcedefinitions` too. */
  forbid(plural: string, on?: boolean): void;
  /** A kubeconfig for this server: CA data, bearer token, context `fake` (and `other`, pointing nowhere useful). */
  kubeconfig(options?: { token?: string; server?: string }): string;
  assertClean(): void;
  close(): Promise<void>;
  count(method: string, pathPart: string): number;
};

let certs: { dir: string; caPem: string; keyPem: string; certPem: string } | undefined;

/** One CA and server certificate per test process (openssl, a few tens of ms). */
function makeCerts(): NonNullable<typeof certs> {
  if (certs !== undefined) return certs;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lynq-kube-ca-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=lynq-test-ca',
  ]);
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  ]);
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  ]);
  certs = {
    dir,
    caPem: readFileSync(path.join(dir, 'ca.crt'), 'utf8'),
    keyPem: readFileSync(path.join(dir, 'server.key'), 'utf8'),
    certPem: readFileSync(path.join(dir, 'server.crt'), 'utf8'),
  };
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return certs;
}

/** The bridge's own LynqNode CRD, as every fake cluster starts with it. */
export function bridgeCrd(): Record<string, unknown> & {
  metadata: { name: string; annotations?: Record<string, string> };
} {
  return parse(readFileSync(path.resolve('output-schema/lynqnode-crd.yaml'), 'utf8'));
}

/** A CRD as the API server returns it: its own metadata fields and an Established status beside what was applied. */
function storedCrd(
  object: Record<string, unknown> & { metadata: { name: string } },
  resourceVersion: string,
): Record<string, unknown> {
  const copy = structuredClone(object) as Record<string, unknown> & {
    metadata: Record<string, unknown>;
    spec?: { names?: Record<string, unknown>; versions?: Array<{ name: string; storage?: boolean }> };
  };
  const now = '2025-01-01T00:00:00Z';
  copy.metadata = {
    ...copy.metadata,
    uid: '3b0c9b4e-2f0c-4c1e-9a3e-6f1d2c7e8a90',
    resourceVersion,
    generation: 1,
    creationTimestamp: now,
  };
  copy.status = {
    acceptedNames: copy.spec?.names ?? {},
    conditions: [
      {
        type: 'NamesAccepted',
        status: 'True',
        reason: 'NoConflicts',
        message: 'no conflicts found',
        lastTransitionTime: now,
      },
      {
        type: 'Established',
        status: 'True',
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
        lastTransitionTime: now,
      },
    ],
    storedVersions: (copy.spec?.versions ?? []).filter((item) => item.storage === true).map((item) => item.name),
  };
  return copy;
}

/** k8s.io/apiserver's defaultGzipThresholdBytes. */
const GZIP_THRESHOLD = 128 * 1024;

const PARTIAL_LIST = 'as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

/**
 * What a LIST's Accept asks for, as an API server picks it: the first media type it can
 * give. Plain JSON (or none, or any type): the objects; JSON with the PartialObjectMetadataList
 * parameters: metadata only. Undefined: nothing it can give (a 406).
 */
function listMediaType(accept: string | undefined): 'objects' | 'metadata' | undefined {
  if (accept === undefined || accept.trim() === '') return 'objects';
  for (const item of accept.split(',')) {
    const [type = '', ...parameters] = item.split(';').map((part) => part.trim());
    if (type !== 'application/json' && type !== '*/*' && type !== 'application/*') continue;
    const as = parameters.filter((parameter) => !parameter.startsWith('q='));
    if (as.length === 0) return 'objects';
    if (as.join(';') === PARTIAL_LIST) return 'metadata';
  }
  return undefined;
}

/** What the API server's validation of an events.k8s.io/v1 Event refuses (pkg/apis/core/validation/events.go), as its field errors. */
function eventProblems(event: Obj, namespace: string): string[] {
  const problems: string[] = [];
  const text = (field: string, limit: number): void => {
    const value = event[field];
    if (typeof value !== 'string' || value === '') problems.push(`${field}: Required value`);
    else if (value.length > limit) problems.push(`${field}: Too long: may not be more than ${limit} bytes`);
  };
  if (typeof event.eventTime !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(event.eventTime))
    problems.push('eventTime: Required value');
  text('reportingController', 253);
  text('reportingInstance', 128);
  text('action', 128);
  text('reason', 128);
  if (!['Normal', 'Warning'].includes(String(event.type)))
    problems.push(`type: Unsupported value: ${JSON.stringify(event.type)}: supported values: "Normal", "Warning"`);
  if (typeof event.note === 'string' && Buffer.byteLength(event.note) > 1024)
    problems.push('note: Too long: may not be more than 1024 bytes');
  const series = event.series as { count?: number; lastObservedTime?: string } | undefined;
  if (series !== undefined && (typeof series.count !== 'number' || series.count < 2))
    problems.push('series.count: Invalid value: should be at least 2');
  if (series !== undefined && typeof series.lastObservedTime !== 'string')
    problems.push('series.lastObservedTime: Required value');
  const regarding = event.regarding as { namespace?: string } | undefined;
  if (regarding?.namespace !== undefined && regarding.namespace !== namespace)
    problems.push('regarding.namespace: Invalid value: does not match event.namespace');
  return problems;
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** `record: false`: keep no request log (a bench's 10,000 PATCH bodies); `count` and `requests` then see nothing. */
export async function startKubeFake(options: { token?: string; record?: boolean } = {}): Promise<KubeFake> {
  const { caPem, keyPem, certPem } = makeCerts();
  const token = options.token ?? 'kube-test-token-0123456789';
  const store = new Map<string, Map<string, Obj>>();
  const problems: string[] = [];
  const queued: Array<{
    method: string;
    pathEnd: string;
    status: number;
    before?: () => void;
    stall?: 'never' | 'mid-reply';
  }> = [];
  let stalled = 0;
  const forbidden = new Set<string>();
  const requests: RecordedRequest[] = [];
  let version = 1000;
  const listings = new Map<string, Obj[]>();
  let listingCounter = 0;
  let busy = 0;
  let busyCpu = 0;
  const crds = new Map<string, Record<string, unknown>>();
  {
    const ours = bridgeCrd();
    crds.set(ours.metadata.name, storedCrd(ours, String(++version)));
  }
  // Stored objects are never changed in place, so each one's JSON can be kept with it.
  const json = new WeakMap<Obj, string>();
  const encoded = (object: Obj): string => {
    let text = json.get(object);
    if (text === undefined) json.set(object, (text = JSON.stringify(object)));
    return text;
  };
  let accepted = 0;
  let gzipped = 0;

  const bucket = (kind: Kind, namespace: string): Map<string, Obj> => {
    const key = `${kind.plural}.${kind.group}/${namespace}`;
    let found = store.get(key);
    if (found === undefined) store.set(key, (found = new Map()));
    return found;
  };
  const kindOf = (group: string, versionName: string, plural: string): Kind | undefined =>
    Object.values(KINDS).find((kind) => kind.group === group && kind.version === versionName && kind.plural === plural);

  const server = https.createServer({ key: keyPem, cert: certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const started = performance.now();
      const cpu = process.cpuUsage();
      try {
        answer();
      } finally {
        busy += performance.now() - started;
        const used = process.cpuUsage(cpu);
        busyCpu += (used.user + used.system) / 1000;
      }
    });
    const answer = () => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = text;
      }
      const method = req.method ?? 'GET';
      if (options.record !== false)
        requests.push({
          method,
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          contentType: req.headers['content-type'],
          accept: req.headers.accept,
          body,
        });
      const reply = (
        code: number,
        value: unknown,
        serialised = JSON.stringify(value),
        contentType = 'application/json',
      ): void => {
        const text = serialised;
        // As an API server does: a reply over 128 KiB is gzipped (level 1) for a client that accepts it.
        if (text.length > GZIP_THRESHOLD && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
          gzipped++;
          res.writeHead(code, { 'content-type': contentType, 'content-encoding': 'gzip', vary: 'Accept-Encoding' });
          res.end(gzipSync(text, { level: 1 }));
        } else {
          res.writeHead(code, { 'content-type': contentType });
          res.end(text);
        }
      };
      if (req.headers.authorization !== `Bearer ${token}`)
        return reply(401, status(401, 'Unauthorized', 'Unauthorized'));
      const queuedReply = (): boolean => {
        const queuedIndex = queued.findIndex((item) => item.method === method && url.pathname.endsWith(item.pathEnd));
        if (queuedIndex === -1) return false;
        const [item] = queued.splice(queuedIndex, 1);
        item!.before?.();
        if (item!.stall !== undefined) {
          stalled++;
          if (item!.stall === 'mid-reply') {
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
            res.write('{"apiVersion":"v1","kind":"List","items":[');
          }
          return true;
        }
        // 0: the connection is closed without an answer (a server closing a kept connection as the request arrives).
        if (item!.status === 0) {
          req.socket.destroy();
          return true;
        }
        reply(
          item!.status,
          status(item!.status, item!.status === 409 ? 'Conflict' : 'InternalError', `queued ${item!.status}`),
        );
        return true;
      };
      // The one cluster-scoped path: GET a CustomResourceDefinition by name.
      const crdMatch = /^\/apis\/apiextensions\.k8s\.io\/v1\/customresourcedefinitions\/([^/]+)$/.exec(url.pathname);
      if (crdMatch !== null && method === 'GET') {
        const [, crdName = ''] = crdMatch;
        if (url.search !== '') problems.push(`unexpected query ${url.search} on ${url.pathname}`);
        if (forbidden.has('customresourcedefinitions')) {
          return reply(
            403,
            status(
              403,
              'Forbidden',
              `customresourcedefinitions.apiextensions.k8s.io "${crdName}" is forbidden: User "system:serviceaccount:lynq:lynq-bridge" cannot get resource "customresourcedefinitions" in API group "apiextensions.k8s.io" at the cluster scope`,
            ),
          );
        }
        if (queuedReply()) return;
        const crd = crds.get(crdName);
        if (crd === undefined)
          return reply(
            404,
            status(404, 'NotFound', `customresourcedefinitions.apiextensions.k8s.io "${crdName}" not found`),
          );
        return reply(200, crd);
      }
      const match = /^\/apis\/([^/]+)\/([^/]+)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?(?:\/(status))?$/.exec(
        url.pathname,
      );
      const kind = match ? kindOf(match[1]!, match[2]!, match[4]!) : undefined;
      if (match === null || kind === undefined) {
        problems.push(`unexpected request ${method} ${url.pathname}`);
        return reply(501, status(501, 'NotImplemented', 'not part of the fake'));
      }
      const [, , , namespace = '', plural = '', name, sub] = match;
      if (forbidden.has(plural)) {
        return reply(
          403,
          status(
            403,
            'Forbidden',
            `${plural}.${kind.group} is forbidden: User "system:serviceaccount:lynq:lynq-bridge" cannot ${method === 'PATCH' ? 'patch' : 'list'} resource "${plural}" in API group "${kind.group}" in the namespace "${namespace}"`,
          ),
        );
      }
      if (queuedReply()) return;
      const objects = bucket(kind, namespace);
      if (method === 'GET' && name === undefined) {
        const allowed = new Set(['labelSelector', 'limit', 'continue']);
        for (const key of url.searchParams.keys())
          if (!allowed.has(key)) problems.push(`unexpected query parameter ${key} on ${url.pathname}`);
        const accepted = listMediaType(req.headers.accept);
        if (accepted === undefined) {
          problems.push(`unexpected Accept ${req.headers.accept} on ${url.pathname}`);
          return reply(
            406,
            status(
              406,
              'NotAcceptable',
              `only the following media types are accepted: application/json, application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`,
            ),
          );
        }
        const selector = url.searchParams.get('labelSelector') ?? '';
        const limit = Number(url.searchParams.get('limit') ?? '0');
        const token = url.searchParams.get('continue');
        let items: Obj[];
        let offset = 0;
        let listing: string;
        if (token !== null) {
          const [id = '', at = '0'] = Buffer.from(token, 'base64url').toString('utf8').split(':');
          const kept = listings.get(id);
          if (kept === undefined)
            return reply(410, status(410, 'Expired', 'The provided continue parameter is too old'));
          items = kept;
          offset = Number(at);
          listing = id;
        } else {
          const [key, value] = selector.split('=');
          items = [...objects.values()]
            .filter((object) => selector === '' || object.metadata.labels?.[key!] === value)
            .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
          listing = String(++listingCounter);
          // Stored objects are replaced, never changed in place (put copies, PATCH builds a new one), so the
          // list of references is the snapshot a real server's continue token pins.
          listings.set(listing, items);
        }
        const page = limit > 0 ? items.slice(offset, offset + limit) : items.slice(offset);
        const next = offset + page.length;
        const metadata: Record<string, unknown> = { resourceVersion: String(version) };
        if (next < items.length) {
          metadata.continue = Buffer.from(`${listing}:${next}`).toString('base64url');
          metadata.remainingItemCount = items.length - next;
        } else {
          // The last page: its snapshot is done with (a token for it is now too old, as on a real server after compaction).
          listings.delete(listing);
        }
        // Built from each object's kept JSON (as an API server's watch cache keeps its objects encoded), so a
        // page costs the fake little more than the copy: what the bench measures is the bridge's reading of it.
        if (accepted === 'metadata') {
          const head = JSON.stringify({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata });
          const items = page.map((object) =>
            JSON.stringify({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata }),
          );
          return reply(
            200,
            undefined,
            `${head.slice(0, -1)},"items":[${items.join(',')}]}`,
            `application/json;${PARTIAL_LIST}`,
          );
        }
        const head = JSON.stringify({
          apiVersion: `${kind.group}/${kind.version}`,
          kind: `${kind.kind}List`,
          metadata,
        });
        return reply(200, undefined, `${head.slice(0, -1)},"items":[${page.map(encoded).join(',')}]}`);
      }
      if (method === 'POST' && name === undefined && kind.kind === 'Event') {
        const created = structuredClone(body) as Obj;
        if (created.metadata?.namespace !== undefined && created.metadata.namespace !== namespace)
          return reply(
            400,
            status(
              400,
              'BadRequest',
              'the namespace of the provided object does not match the namespace sent on the request',
            ),
          );
        const invalid = eventProblems(created, namespace);
        if (invalid.length > 0)
          return reply(
            422,
            status(422, 'Invalid', `Event.events.k8s.io "${created.metadata?.name}" is invalid: ${invalid.join(', ')}`),
          );
        if (objects.has(created.metadata.name))
          return reply(
            409,
            status(409, 'AlreadyExists', `${plural}.${kind.group} "${created.metadata.name}" already exists`),
          );
        created.metadata = { ...created.metadata, namespace, uid: randomUUID(), resourceVersion: String(++version) };
        objects.set(created.metadata.name, created);
        return reply(201, created);
      }
      const object = name === undefined ? undefined : objects.get(name);
      if (method === 'GET' && sub === undefined) {
        if (object === undefined)
          return reply(404, status(404, 'NotFound', `${plural}.${kind.group} "${name}" not found`));
        return reply(200, object);
      }
      if (method === 'PATCH') {
        if (req.headers['content-type'] !== 'application/merge-patch+json')
          return reply(
            415,
            status(
              415,
              'UnsupportedMediaType',
              `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
            ),
          );
        if (object === undefined)
          return reply(404, status(404, 'NotFound', `${plural}.${kind.group} "${name}" not found`));
        const patch = body as { metadata?: { resourceVersion?: string }; status?: unknown };
        const expected = patch.metadata?.resourceVersion;
        if (expected !== undefined && expected !== object.metadata.resourceVersion) {
          return reply(
            409,
            status(
              409,
              'Conflict',
              `Operation cannot be fulfilled on ${plural}.${kind.group} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
            ),
          );
        }
        const merged = mergePatch(object, patch) as Obj;
        // The status subresource ignores everything but status; the main resource ignores status.
        const next = sub === 'status' ? { ...object, status: merged.status } : { ...merged, status: object.status };
        const invalid = kind.kind === 'Event' ? eventProblems(next as Obj, namespace) : [];
        if (invalid.length > 0)
          return reply(422, status(422, 'Invalid', `Event.events.k8s.io "${name}" is invalid: ${invalid.join(', ')}`));
        next.metadata = {
          ...(sub === 'status' ? object.metadata : merged.metadata),
          resourceVersion: String(++version),
        };
        objects.set(name!, next as Obj);
        return reply(200, next);
      }
      problems.push(`unexpected request ${method} ${url.pathname}`);
      return reply(501, status(501, 'NotImplemented', 'not part of the fake'));
    };
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sockets = new Set<import('node:net').Socket>();
  server.on('secureConnection', (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  return {
    url,
    token,
    caPem,
    requests,
    serverMs: () => busy,
    serverCpuMs: () => busyCpu,
    connections: () => accepted,
    gzipped: () => gzipped,
    put(kindName, object) {
      const kind = KINDS[kindName]!;
      const copy = structuredClone(object);
      const objects = bucket(kind, object.metadata.namespace);
      // The API gives an object its uid when it is created; a replaced object keeps it.
      copy.metadata.uid = (objects.get(object.metadata.name)?.metadata.uid as string | undefined) ?? randomUUID();
      copy.metadata.resourceVersion = String(++version);
      objects.set(object.metadata.name, copy);
    },
    get(kindName, namespace, name) {
      return bucket(KINDS[kindName]!, namespace).get(name);
    },
    all(kindName, namespace) {
      return [...bucket(KINDS[kindName]!, namespace).values()].sort((a, b) =>
        a.metadata.name < b.metadata.name ? -1 : 1,
      );
    },
    remove(kindName, namespace, name) {
      bucket(KINDS[kindName]!, namespace).delete(name);
    },
    failNext(method, pathEnd, code, before) {
      queued.push({ method, pathEnd, status: code, before });
    },
    stallNext(method, pathEnd, how) {
      queued.push({ method, pathEnd, status: 200, stall: how });
    },
    stalled: () => stalled,
    putCrd(object) {
      crds.set(object.metadata.name, storedCrd(object, String(++version)));
    },
    removeCrd(name) {
      crds.delete(name);
    },
    forbid(plural, on = true) {
      if (on) forbidden.add(plural);
      else forbidden.delete(plural);
    },
    kubeconfig(settings = {}) {
      return `apiVersion: v1
kind: Config
clusters:
  - name: fake
    cluster:
      server: ${settings.server ?? url}
      certificate-authority-data: ${Buffer.from(caPem).toString('base64')}
users:
  - name: bridge
    user:
      token: ${settings.token ?? token}
contexts:
  - name: fake
    context: { cluster: fake, user: bridge }
  - name: other
    context: { cluster: fake, user: nobody }
current-context: fake
`;
    },
    assertClean() {
      const left = queued.map(
        (item) => `queued ${item.stall ?? item.status} for ${item.method} …${item.pathEnd} never asked for`,
      );
      if (problems.length > 0 || left.length > 0) throw new Error(`kube fake: ${[...problems, ...left].join('; ')}`);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    count(method, pathPart) {
      return requests.filter((request) => request.method === method && request.path.includes(pathPart)).length;
    },
  };
}
