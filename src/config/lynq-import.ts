import { parseAllDocuments, stringify } from 'yaml';
import { isLynqError, messageOf } from '../errors.ts';
import { isPlainObject } from './plain-object.ts';
import { FormFile, RESOURCE_LIST_NAMES } from './form-schema.ts';
import { HubFile } from './hub-schema.ts';
import { formatPath, parseForm } from './load.ts';
import { formDifferences } from './lynq-notes.ts';
import {
  ANNOTATION_TEMPLATE_SYNTAX,
  findUnquotedTemplates,
  leafTranslator,
  mapStrings,
  templateSyntax,
  type LeafChange,
  type LeafRefusal,
  type TemplateSyntax,
} from './lynq-syntax.ts';

export type ImportedDocument = {
  kind: 'LynqHub' | 'LynqForm' | 'other';
  /** metadata.name, or the kind for documents that are neither. */
  name: string;
  /** The file to write (hubs as they are; forms translated); undefined when it must not be written. */
  output: string | undefined;
  changes: LeafChange[];
  refused: LeafRefusal[];
  /** Lynq behaviours that mean something different here. */
  differences: string[];
  /** Why the document cannot be used at all (not valid YAML, not a valid hub or form). */
  error: string | undefined;
};
export type ImportedFile = { file: string; documents: ImportedDocument[] };

/**
 * `lynq import`: Lynq's hub and form files into the bridge's, for good. Forms get their
 * Go templates translated (a form with any refused template is not written: half a
 * translation would not load); hubs are kept as they are, with a note for each field whose
 * meaning differs here. Pure: text in, text and reports out.
 */
export function importLynqFiles(inputs: ReadonlyArray<{ file: string; text: string }>): ImportedFile[] {
  const parsed = inputs.map(({ file, text }) => ({ file, docs: splitDocuments(file, text) }));
  const hubNamespaces = new Map<string, string | undefined>();
  for (const { docs } of parsed) {
    for (const doc of docs) {
      const hub = HubFile.safeParse(doc.raw);
      if (hub.success) hubNamespaces.set(hub.data.metadata.name, hub.data.metadata.namespace);
    }
  }
  return parsed.map(({ file, docs }) => ({
    file,
    documents: docs.map((doc) =>
      doc.error !== undefined
        ? failed('other', 'document', doc.error)
        : importDocument(file, doc.text, doc.raw, hubNamespaces),
    ),
  }));
}

function splitDocuments(file: string, text: string): Array<{ text: string; raw: unknown; error: string | undefined }> {
  const out: Array<{ text: string; raw: unknown; error: string | undefined }> = [];
  let end = 0;
  // Lines before the current document, counted once over the file (per document from the start was quadratic).
  let counted = 0;
  let linesBefore = 0;
  for (const doc of parseAllDocuments(text, { prettyErrors: false })) {
    // From the end of the previous document, so the comments above this one stay with it.
    const begin = end;
    end = doc.range[2];
    if (doc.contents === null) continue;
    const docText = text.slice(begin, end).replace(/^(\s*\n)*---[^\n]*\n/, '');
    const docStart = end - docText.length;
    for (let at = text.indexOf('\n', counted); at !== -1 && at < docStart; at = text.indexOf('\n', at + 1))
      linesBefore++;
    counted = docStart;
    try {
      // Before toJS: an unquoted template is a mapping with a mapping for a key. Its first line given, so the line named is the file's.
      findUnquotedTemplates(file, docText, linesBefore + 1);
    } catch (error) {
      if (!isLynqError(error)) throw error;
      out.push({ text: docText, raw: undefined, error: error.message });
      continue;
    }
    const error = doc.errors[0];
    if (error !== undefined) {
      out.push({ text: docText, raw: undefined, error: `not valid YAML: ${error.message.split('\n')[0]}` });
      continue;
    }
    // `kubectl get lynqhubs,lynqforms -o yaml` gives a List of them.
    const raw: unknown = doc.toJS();
    const items =
      isPlainObject(raw) && typeof raw.kind === 'string' && raw.kind.endsWith('List') && Array.isArray(raw.items)
        ? raw.items
        : undefined;
    for (const item of items ?? [raw]) {
      const cleaned = withoutServerFields(item);
      out.push({
        text: items === undefined && cleaned === item ? docText : stringify(cleaned, { lineWidth: 0 }),
        raw: cleaned,
        error: undefined,
      });
    }
  }
  return out;
}

/** Metadata the API server writes (a `kubectl get -o yaml` dump has it): none of it belongs in a file. */
const SERVER_METADATA = [
  'managedFields',
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'ownerReferences',
  'finalizers',
];
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The object without `status` and server metadata; the same object when it has none. */
function withoutServerFields(raw: unknown): unknown {
  if (!isPlainObject(raw)) return raw;
  const metadata = isPlainObject(raw.metadata) ? raw.metadata : {};
  const annotations = isPlainObject(metadata.annotations) ? metadata.annotations : {};
  const present = SERVER_METADATA.filter((key) => key in metadata);
  if (!('status' in raw) && present.length === 0 && !(LAST_APPLIED in annotations)) return raw;
  const { status: _status, ...rest } = raw;
  const kept: Record<string, unknown> = Object.fromEntries(
    Object.entries(metadata).filter(([key]) => !SERVER_METADATA.includes(key)),
  );
  if (LAST_APPLIED in annotations) {
    const { [LAST_APPLIED]: _applied, ...others } = annotations;
    if (Object.keys(others).length > 0) kept.annotations = others;
    else delete kept.annotations;
  }
  return { ...rest, metadata: kept };
}

function failed(kind: ImportedDocument['kind'], name: string, error: string): ImportedDocument {
  return { kind, name, output: undefined, changes: [], refused: [], differences: [], error };
}

function importDocument(
  file: string,
  text: string,
  raw: unknown,
  hubNamespaces: ReadonlyMap<string, string | undefined>,
): ImportedDocument {
  const kind = isPlainObject(raw) ? raw.kind : undefined;
  if (kind === 'LynqHub') return importHub(raw, text);
  if (kind !== 'LynqForm')
    return {
      ...failed('other', String(kind ?? 'no kind'), 'neither a LynqHub nor a LynqForm: left out'),
      error: undefined,
    };
  const name =
    isPlainObject(raw) && isPlainObject(raw.metadata) && typeof raw.metadata.name === 'string'
      ? raw.metadata.name
      : '(no name)';
  const form = FormFile.safeParse(raw);
  if (!form.success) {
    const issue = form.error.issues[0]!;
    return failed('LynqForm', name, `${formatPath(issue.path.map(String))}: ${issue.message}`);
  }
  let syntax: TemplateSyntax;
  try {
    syntax = templateSyntax(form.data, file);
  } catch (error) {
    if (!isLynqError(error)) throw error;
    return failed('LynqForm', name, error.detail);
  }
  // The file as written (zod checked it is a form), not the parsed form: defaults stay implicit.
  const copy = structuredClone(raw) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  const changes: LeafChange[] = [];
  const refused: LeafRefusal[] = [];
  if (syntax === 'go') translateResources(copy.spec, changes, refused);
  copy.metadata.annotations = {
    ...(isPlainObject(copy.metadata.annotations) ? copy.metadata.annotations : {}),
    [ANNOTATION_TEMPLATE_SYNTAX]: 'nunjucks',
  };
  if (refused.length > 0)
    return { kind: 'LynqForm', name, output: undefined, changes, refused, differences: [], error: undefined };
  const output = stringify(copy, { lineWidth: 0 });
  try {
    // What is written must load as any form does.
    const loaded = parseForm(file, output);
    const differences = syntax === 'go' ? formDifferences(hubNamespaces.get(loaded.spec.hubId), loaded) : [];
    return { kind: 'LynqForm', name, output, changes, refused, differences, error: undefined };
  } catch (error) {
    if (!isLynqError(error)) throw error;
    return failed('LynqForm', name, `the translation does not load: ${messageOf(error)}`);
  }
}

/** Every templated leaf of the raw form translated in place; the rest of the file is left as written. */
function translateResources(spec: Record<string, unknown>, changes: LeafChange[], refused: LeafRefusal[]): void {
  const translate = leafTranslator(changes, refused);
  for (const list of RESOURCE_LIST_NAMES) {
    const resources = spec[list];
    if (!Array.isArray(resources)) continue;
    for (const resource of resources) {
      if (!isPlainObject(resource)) continue;
      const id = String(resource.id);
      const leaf = (field: string, from: string): string => translate(id, field, from);
      resource.spec = mapStrings(resource.spec, 'spec', leaf);
      for (const field of ['nameTemplate', 'targetNamespace']) {
        const value = resource[field];
        if (typeof value === 'string') resource[field] = leaf(field, value);
      }
      for (const field of ['labelsTemplate', 'annotationsTemplate']) {
        const map = resource[field];
        if (!isPlainObject(map)) continue;
        for (const [key, value] of Object.entries(map))
          if (typeof value === 'string') map[key] = leaf(`${field}.${key}`, value);
      }
    }
  }
}

function importHub(raw: unknown, text: string): ImportedDocument {
  const hub = HubFile.safeParse(raw);
  const name =
    isPlainObject(raw) && isPlainObject(raw.metadata) && typeof raw.metadata.name === 'string'
      ? raw.metadata.name
      : '(no name)';
  if (!hub.success) {
    const issue = hub.error.issues[0]!;
    return failed('LynqHub', name, `${formatPath(issue.path.map(String))}: ${issue.message}`);
  }
  const { metadata, spec } = hub.data;
  const differences: string[] = [];
  // With a namespace, both put the LynqNodes (and resources without their own) there; without one, Lynq takes the namespace it is applied in.
  if (metadata.namespace === undefined) {
    differences.push(
      'metadata.namespace: none given: Lynq uses the namespace the hub is applied in; here rendered resources and LynqNode records go to "default": set it to the namespace you apply the hub in',
    );
  }
  const settings = spec.source[spec.source.type];
  const passwordRef = settings !== undefined && 'passwordRef' in settings ? settings.passwordRef : undefined;
  if (passwordRef !== undefined && 'name' in passwordRef) {
    differences.push(
      `spec.source.${spec.source.type}.passwordRef: Lynq reads Secret ${passwordRef.name} from the cluster; here it is read from $LYNQ_SECRETS_DIR/${passwordRef.name}/${passwordRef.key} (mount the Secret there), or use { env: NAME } / { file: PATH }`,
    );
  }
  differences.push(
    'spec.source.syncInterval: Lynq polls at this interval; here it is the schedule of `lynq serve` (`lynq sync` runs once, e.g. from a CronJob)',
  );
  if (spec.valueMappings.hostOrUrl !== undefined)
    differences.push(
      'spec.valueMappings.hostOrUrl: deprecated in Lynq (removed in 1.3); still read here, giving .hostOrUrl and .host',
    );
  if (spec.publish.repo === undefined)
    differences.push(
      'spec.publish: none (a bridge field): add spec.publish.repo, the manifests repository Argo CD or Flux apply from, or pass --repo to lynq sync',
    );
  return {
    kind: 'LynqHub',
    name,
    output: text.endsWith('\n') ? text : `${text}\n`,
    changes: [],
    refused: [],
    differences,
    error: undefined,
  };
}
