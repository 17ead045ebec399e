import { readFile } from 'node:fs/promises';
import type { ConfigurationOptions } from '@kubernetes/client-node';
import path from 'node:path';
import { ConfigError, KubeError, messageOf } from '../errors.ts';
import type { Logger, SecretRegistry } from '../logger.ts';
import { DEFAULT_KUBE_TIMEOUT_MS, describeAccess, SERVICE_ACCOUNT_DIR, type ClusterAccess } from './access.ts';
import type { KubeObject, KubeResource } from './resources.ts';
import { keepAliveTransport } from './transport.ts';

/** Objects per LIST page: 10,000 nodes are 20 requests per kind, each page a few MiB at most. */
export const PAGE_SIZE = 500;

export type PatchOutcome = 'patched' | 'conflict' | 'not-found';

/**
 * The media type of a metadata-only LIST, as kubectl and client-go's metadata client ask
 * for it: the API answers a PartialObjectMetadataList (each item only its metadata, with
 * its uid and resourceVersion), not the objects. Plain JSON after it: an API that cannot
 * (an aggregated server) answers the whole objects instead of 406 Not Acceptable.
 */
export const METADATA_LIST_ACCEPT =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json';

/**
 * The Kubernetes API as the bridge uses it: LIST a kind by label (every page), GET one
 * object (namespaced, or cluster-scoped: the LynqNode CRD), merge-patch one object or its
 * status. Every request has a deadline (LYNQ_KUBE_TIMEOUT) and, through `withSignal`, the
 * run's signal. Every failure is a KubeError naming the server and the request; 404 and 409 are answers, not failures, where a caller
 * acts on them.
 */
export interface KubeClient {
  /** The API server's URL, for messages. */
  readonly server: string;
  list(resource: KubeResource, namespace: string, labelSelector: string): Promise<KubeObject[]>;
  /**
   * `keep`: what to keep of each object, applied page by page so the rest of a page is
   * garbage as soon as the page is read: at 10,000 objects, keeping whole objects until
   * the end of the LIST made the garbage collector copy and mark them all.
   */
  list<T>(
    resource: KubeResource,
    namespace: string,
    labelSelector: string,
    keep: (object: KubeObject) => T,
  ): Promise<T[]>;
  /**
   * Only each object's metadata (`METADATA_LIST_ACCEPT`): an item is `kind:
   * PartialObjectMetadata` with no spec or status (or, from an API that cannot, the whole
   * object). Counted as a LIST.
   */
  listMetadata<T>(
    resource: KubeResource,
    namespace: string,
    labelSelector: string,
    keep: (object: KubeObject) => T,
  ): Promise<T[]>;
  /** undefined when the object does not exist. */
  find(resource: KubeResource, namespace: string, name: string): Promise<KubeObject | undefined>;
  /** A cluster-scoped object (`/apis/{group}/{version}/{plural}/{name}`, e.g. a CRD); undefined when it does not exist. */
  findClusterScoped(resource: KubeResource, name: string): Promise<KubeObject | undefined>;
  /** `application/merge-patch+json`, on the object or (`status: true`) its status subresource. */
  mergePatch(
    resource: KubeResource,
    namespace: string,
    name: string,
    body: Record<string, unknown>,
    options: { status: boolean },
  ): Promise<PatchOutcome>;
  /** A merge patch of the status subresource, giving the object as the API stored it (its new resourceVersion) when patched. */
  patchStatus(
    resource: KubeResource,
    namespace: string,
    name: string,
    body: Record<string, unknown>,
  ): Promise<{ outcome: 'patched'; object: KubeObject } | { outcome: 'conflict' | 'not-found' }>;
  /** Create a namespaced object; 'exists' when one of that name is there already (409 AlreadyExists). */
  create(resource: KubeResource, namespace: string, body: Record<string, unknown>): Promise<'created' | 'exists'>;
  /** Requests sent so far, by verb (the bench reports them). */
  readonly requests: { list: number; get: number; patch: number; create: number };
  /** How long one request may take (LYNQ_KUBE_TIMEOUT), reply read whole. */
  readonly timeoutMs: number;
  /**
   * The same client (connections, counts), its requests also ended by `signal`: a run's
   * cancellation (serve shutting down, its hub lock lost) reaches the request in flight.
   */
  withSignal(signal: AbortSignal | undefined): KubeClient;
}

export type KubeDeps = { registry: SecretRegistry; logger: Logger; serviceAccountDir?: string };

/**
 * The one place that loads `@kubernetes/client-node`, and only when called: importing it
 * costs about 1.5 s, which no command that does not talk to a cluster may pay. TLS,
 * tokens, client certificates and exec plugins are the library's, as the kubeconfig says;
 * the connections are the bridge's (kept alive, transport.ts).
 */
export async function openKubeClient(access: ClusterAccess, deps: KubeDeps): Promise<KubeClient> {
  const k8s = await import('@kubernetes/client-node');
  const config = loadKubeConfig(k8s, access);
  const cluster = config.getCurrentCluster();
  if (cluster === null)
    throw new ConfigError(
      `${describeAccess(access)} names no current cluster (set current-context or pass --context)`,
      { file: access.files[0] },
    );
  // Credentials are registered before the first request, so no log line can carry them.
  await registerCredentials(config, access, deps);
  // As `config.makeApiClient` builds it, but over the bridge's keep-alive transport (transport.ts).
  const api = new k8s.CustomObjectsApi(
    k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(cluster.server, {}),
      authMethods: { default: config },
      httpApi: keepAliveTransport(k8s),
    }),
  );
  const shared: ApiShared = {
    k8s,
    api,
    server: cluster.server,
    timeoutMs: access.timeoutMs ?? DEFAULT_KUBE_TIMEOUT_MS,
    requests: { list: 0, get: 0, patch: 0, create: 0 },
    registry: deps.registry,
    logger: deps.logger,
  };
  return new ApiClient(shared, undefined);
}

type Library = typeof import('@kubernetes/client-node');
type KubeConfig = InstanceType<Library['KubeConfig']>;

/** The kubeconfig the access names (files merged in order, or the pod's own), at its context. */
function loadKubeConfig(k8s: Library, access: ClusterAccess): KubeConfig {
  const config = new k8s.KubeConfig();
  const where = describeAccess(access);
  try {
    if (access.source === 'in-cluster') {
      config.loadFromCluster();
    } else {
      const [first, ...rest] = access.files;
      config.loadFromFile(first!);
      for (const file of rest) {
        const more = new k8s.KubeConfig();
        more.loadFromFile(file);
        config.mergeConfig(more, true);
      }
    }
  } catch (cause) {
    throw new ConfigError(
      `cannot read ${where}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { file: access.files[0] },
      { cause },
    );
  }
  if (access.context !== undefined) {
    if (config.getContextObject(access.context) === null) {
      const known = config.getContexts().map((context) => context.name);
      throw new ConfigError(
        `no context named ${JSON.stringify(access.context)} in ${where} (contexts: ${known.join(', ') || 'none'})`,
        { file: access.files[0] },
      );
    }
    config.setCurrentContext(access.context);
  }
  return config;
}

/** The user's token, password and key, and a pod's service account token: scrubbed from every log line and error. */
async function registerCredentials(config: KubeConfig, access: ClusterAccess, deps: KubeDeps): Promise<void> {
  const user = config.getCurrentUser();
  deps.registry.add(user?.token);
  deps.registry.add(user?.password);
  deps.registry.add(user?.keyData);
  if (access.source === 'in-cluster') {
    const token = await readFile(path.join(deps.serviceAccountDir ?? SERVICE_ACCOUNT_DIR, 'token'), 'utf8').catch(
      () => undefined,
    );
    deps.registry.add(token?.trim());
  }
}

/** What every signal's view of one client shares: the library, the API, the server, the deadline and the counts. */
type ApiShared = {
  k8s: Library;
  api: InstanceType<Library['CustomObjectsApi']>;
  server: string;
  timeoutMs: number;
  requests: KubeClient['requests'];
  registry: SecretRegistry;
  logger: Logger;
};

type ListRequest<T> = {
  resource: KubeResource;
  namespace: string;
  labelSelector: string;
  keep: (object: KubeObject) => T;
  metadataOnly: boolean;
};

/** The client, its requests also ended by `signal` (the run's, or none). */
class ApiClient implements KubeClient {
  constructor(
    private readonly shared: ApiShared,
    private readonly signal: AbortSignal | undefined,
  ) {}

  get server(): string {
    return this.shared.server;
  }

  get requests(): KubeClient['requests'] {
    return this.shared.requests;
  }

  get timeoutMs(): number {
    return this.shared.timeoutMs;
  }

  withSignal(signal: AbortSignal | undefined): KubeClient {
    return new ApiClient(this.shared, signal);
  }

  list(resource: KubeResource, namespace: string, labelSelector: string): Promise<KubeObject[]>;
  list<T>(
    resource: KubeResource,
    namespace: string,
    labelSelector: string,
    keep: (object: KubeObject) => T,
  ): Promise<T[]>;
  list<T>(
    resource: KubeResource,
    namespace: string,
    labelSelector: string,
    keep?: (object: KubeObject) => T,
  ): Promise<T[]> {
    return this.listPages({
      resource,
      namespace,
      labelSelector,
      keep: keep ?? ((item) => item as T),
      metadataOnly: false,
    });
  }

  listMetadata<T>(
    resource: KubeResource,
    namespace: string,
    labelSelector: string,
    keep: (object: KubeObject) => T,
  ): Promise<T[]> {
    return this.listPages({ resource, namespace, labelSelector, keep, metadataOnly: true });
  }

  async find(resource: KubeResource, namespace: string, name: string): Promise<KubeObject | undefined> {
    this.shared.requests.get++;
    const action = `reading ${resource.kind} ${namespace}/${name}`;
    try {
      return (await this.call(action, undefined, (options) =>
        this.shared.api.getNamespacedCustomObject({ ...coordinates(resource), namespace, name }, options),
      )) as KubeObject;
    } catch (cause) {
      if (statusOf(cause) === 404) return undefined;
      throw this.fail(action, cause);
    }
  }

  async findClusterScoped(resource: KubeResource, name: string): Promise<KubeObject | undefined> {
    this.shared.requests.get++;
    const action = `reading ${resource.kind} ${name}`;
    try {
      return (await this.call(action, undefined, (options) =>
        this.shared.api.getClusterCustomObject({ ...coordinates(resource), name }, options),
      )) as KubeObject;
    } catch (cause) {
      if (statusOf(cause) === 404) return undefined;
      throw this.fail(action, cause);
    }
  }

  async mergePatch(
    resource: KubeResource,
    namespace: string,
    name: string,
    body: Record<string, unknown>,
    options: { status: boolean },
  ): Promise<PatchOutcome> {
    this.shared.requests.patch++;
    const request = { ...coordinates(resource), namespace, name, body };
    const action = `patching ${resource.kind} ${namespace}/${name}${options.status ? ' status' : ''}`;
    const { api } = this.shared;
    try {
      await this.call(action, MERGE_PATCH, (sent) =>
        options.status
          ? api.patchNamespacedCustomObjectStatus(request, sent)
          : api.patchNamespacedCustomObject(request, sent),
      );
      return 'patched';
    } catch (cause) {
      const status = statusOf(cause);
      if (status === 404) return 'not-found';
      if (status === 409) return 'conflict';
      throw this.fail(action, cause);
    }
  }

  async create(
    resource: KubeResource,
    namespace: string,
    body: Record<string, unknown>,
  ): Promise<'created' | 'exists'> {
    this.shared.requests.create++;
    const action = `creating ${resource.kind} in ${namespace}`;
    try {
      await this.call(action, undefined, (options) =>
        this.shared.api.createNamespacedCustomObject({ ...coordinates(resource), namespace, body }, options),
      );
      return 'created';
    } catch (cause) {
      if (statusOf(cause) === 409) return 'exists';
      throw this.fail(action, cause);
    }
  }

  async patchStatus(
    resource: KubeResource,
    namespace: string,
    name: string,
    body: Record<string, unknown>,
  ): Promise<{ outcome: 'patched'; object: KubeObject } | { outcome: 'conflict' | 'not-found' }> {
    this.shared.requests.patch++;
    const action = `patching ${resource.kind} ${namespace}/${name} status`;
    try {
      const object = (await this.call(action, MERGE_PATCH, (options) =>
        this.shared.api.patchNamespacedCustomObjectStatus({ ...coordinates(resource), namespace, name, body }, options),
      )) as KubeObject;
      return { outcome: 'patched', object };
    } catch (cause) {
      const status = statusOf(cause);
      if (status === 404) return { outcome: 'not-found' };
      if (status === 409) return { outcome: 'conflict' };
      throw this.fail(action, cause);
    }
  }

  private async listPages<T>(list: ListRequest<T>): Promise<T[]> {
    const { resource, namespace, labelSelector, keep } = list;
    const action = `listing ${resource.plural}.${resource.group} in namespace ${namespace}`;
    const items: T[] = [];
    let token: string | undefined;
    do {
      this.shared.requests.list++;
      let page: { items?: KubeObject[]; metadata?: { continue?: string } };
      try {
        page = (await this.call(action, list.metadataOnly ? ['Accept', METADATA_LIST_ACCEPT] : undefined, (options) =>
          this.shared.api.listNamespacedCustomObject(
            { ...coordinates(resource), namespace, labelSelector, limit: PAGE_SIZE, _continue: token },
            options,
          ),
        )) as typeof page;
      } catch (cause) {
        throw this.fail(action, cause);
      }
      for (const item of page.items ?? []) items.push(keep(item));
      token = page.metadata?.continue || undefined;
    } while (token !== undefined);
    this.shared.logger.debug(
      { kind: resource.kind, namespace, objects: items.length, metadataOnly: list.metadataOnly },
      'kube objects listed',
    );
    return items;
  }

  /**
   * Every request runs under its own deadline and the run's signal: the options that hand
   * both to the transport (through the library's middleware, per request), and the error
   * that names the request when either ends it.
   */
  private async call<T>(
    action: string,
    header: readonly [string, string] | undefined,
    send: (options: RequestOptions) => Promise<T>,
  ): Promise<T> {
    const { k8s, timeoutMs, server } = this.shared;
    const runSignal = this.signal;
    runSignal?.throwIfAborted();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`no answer within ${timeoutMs / 1000}s`)), timeoutMs);
    const signal = runSignal === undefined ? deadline.signal : AbortSignal.any([runSignal, deadline.signal]);
    const onSignal: RequestOptions = {
      middleware: [
        {
          pre: (request) => {
            request.setSignal(signal);
            return new k8s.Observable(Promise.resolve(request));
          },
          post: (response) => new k8s.Observable(Promise.resolve(response)),
        },
      ],
      middlewareMergeStrategy: 'append',
    };
    try {
      return await send(header === undefined ? onSignal : k8s.setHeaderOptions(header[0], header[1], onSignal));
    } catch (cause) {
      if (deadline.signal.aborted && !runSignal?.aborted) {
        throw new KubeError(
          `${action}: no answer from the Kubernetes API within ${timeoutMs / 1000}s (LYNQ_KUBE_TIMEOUT)`,
          { server },
          { cause },
        );
      }
      if (runSignal?.aborted)
        throw new KubeError(`${action}: cancelled (${messageOf(runSignal.reason)})`, { server }, { cause });
      throw cause;
    } finally {
      clearTimeout(timer);
    }
  }

  private fail(action: string, cause: unknown): KubeError {
    if (cause instanceof KubeError) return cause;
    const status = statusOf(cause);
    const { registry, server } = this.shared;
    const detail =
      status === undefined
        ? `cannot reach the Kubernetes API: ${registry.scrub(networkReason(cause))}`
        : refusal(status, cause, registry);
    return new KubeError(`${action}: ${detail}`, { server, status }, { cause });
  }
}

type RequestOptions = ConfigurationOptions;

const MERGE_PATCH = ['Content-Type', 'application/merge-patch+json'] as const;

function coordinates(resource: KubeResource): { group: string; version: string; plural: string } {
  return { group: resource.group, version: resource.version, plural: resource.plural };
}

/** The HTTP status of the library's ApiException; undefined for a network failure. */
function statusOf(error: unknown): number | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'number' ? code : undefined;
}

/** The API's own words (its Status object's message), never the exception's text: that carries response headers. */
function refusal(status: number, error: unknown, registry: SecretRegistry): string {
  const body = (error as { body?: unknown }).body;
  let message: string | undefined;
  if (typeof body === 'string') {
    try {
      message = (JSON.parse(body) as { message?: string }).message;
    } catch {
      message = body.slice(0, 200);
    }
  } else if (typeof body === 'object' && body !== null) {
    message = (body as { message?: string }).message;
  }
  const what =
    status === 401
      ? 'the credentials were refused (401 Unauthorized)'
      : status === 403
        ? 'forbidden (403)'
        : `the API answered ${status}`;
  return registry.scrub(message !== undefined && message !== '' ? `${what}: ${message}` : what);
}

function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: unknown }).cause;
  const causeCode = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  const codes = [code, causeCode].filter((value): value is string => typeof value === 'string');
  return codes.length > 0 ? `${codes[0]} (${error.message})` : error.message;
}
