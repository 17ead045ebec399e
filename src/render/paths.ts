import { RenderError, type ErrorWhere } from '../errors.ts';
import { isDnsLabel } from '../config/dns-label.ts';

/**
 * Every repository path built from row data goes through here. A uid must be both a
 * path segment and a DNS label, so it is never mangled into something else: it is
 * accepted as is or refused with the reason.
 */
export function checkUid(uid: string, where: ErrorWhere): void {
  const reason = uidProblem(uid);
  if (reason !== undefined) throw new RenderError(`uid ${JSON.stringify(uid)} ${reason}; ${UID_FIX}`, where);
}

/** What to do about a uid that cannot name a node; the row's other nodes and every other row go on. */
const UID_FIX =
  'fix the row, or map valueMappings.uid to a column of DNS labels (or derive one in spec.source.query, e.g. SELECT lower(id) AS uid, …): the node fails, the rest go on';

/** Why a uid cannot name a node, or undefined when it can. */
export function uidProblem(uid: string): string | undefined {
  if (uid.length === 0) return 'is empty (NULL or "" in the uid column)';
  if (uid.length > 63) return `is ${uid.length} characters long; a uid must be a DNS label of at most 63`;
  if (uid.includes('/') || uid.includes('\\')) return 'contains a path separator';
  if (uid === '.' || uid === '..' || uid.includes('..')) return 'contains ".."';
  if (/\s/.test(uid)) return 'contains white space';
  if (/[A-Z]/.test(uid)) return 'contains uppercase letters; a uid must be a lowercase DNS label';
  if (!isDnsLabel(uid))
    return 'is not a DNS label (lowercase letters, digits and "-", starting and ending alphanumeric)';
  return undefined;
}

// The root check is a config rule (checked at load); re-exported for the commands that use it.
export { checkRoot } from '../config/root.ts';

/** `<root>/<hub>/<form>/<uid>`; every segment is checked, so the result cannot leave root. */
export function nodeDir(root: string, hub: string, form: string, uid: string): string {
  for (const segment of [hub, form, uid]) {
    if (!isDnsLabel(segment))
      throw new RenderError(`${JSON.stringify(segment)} is not a safe path segment`, { hub, form, uid });
  }
  return `${root}/${hub}/${form}/${uid}`;
}

/**
 * Parse a repository path back into node coordinates; undefined when it is not a node
 * file. `name` is relative to the node folder and may have folders (`levels/1/kustomization.yaml`).
 */
export function parseNodePath(
  root: string,
  hub: string,
  file: string,
): { form: string; uid: string; name: string } | undefined {
  const prefix = `${root}/${hub}/`;
  if (!file.startsWith(prefix)) return undefined;
  const parts = file.slice(prefix.length).split('/');
  if (parts.length < 3) return undefined;
  const [form, uid, ...name] = parts as [string, string, ...string[]];
  return { form, uid, name: name.join('/') };
}

/**
 * `<appsRoot>/<hub>/<form>/<uid>.yaml`, or `<appsRoot>/<hub>/<cluster>/<form>/<uid>.yaml`
 * (Flux, one instance per cluster), back into node coordinates: the depth tells which;
 * undefined for anything else.
 */
export function parseAppPath(appsRoot: string, hub: string, file: string): { form: string; uid: string } | undefined {
  const prefix = `${appsRoot}/${hub}/`;
  if (!file.startsWith(prefix)) return undefined;
  const parts = file.slice(prefix.length).split('/');
  if (parts.length === 3) parts.shift();
  if (parts.length !== 2 || !parts[1]!.endsWith('.yaml')) return undefined;
  return { form: parts[0]!, uid: parts[1]!.slice(0, -'.yaml'.length) };
}
