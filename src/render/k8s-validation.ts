import { isDnsLabel } from '../config/dns-label.ts';
/** Kubernetes' own name and label rules, checked on every rendered manifest. */

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Most object names are DNS-1123 subdomains (a few kinds are stricter; the API server will say). */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 253) return `is ${name.length} characters long (at most 253)`;
  if (!DNS1123_SUBDOMAIN.test(name))
    return 'is not a DNS-1123 name (lowercase letters, digits, "-" and ".", starting and ending alphanumeric)';
  return undefined;
}

export function namespaceProblem(namespace: string): string | undefined {
  if (!isDnsLabel(namespace)) return 'is not a DNS label';
  return undefined;
}

export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)))
    return 'has a prefix that is not a DNS subdomain';
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name))
    return 'is not a valid label name (at most 63 of letters, digits, "-", "_", ".")';
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > 63 || !LABEL_NAME.test(value))
    return 'is not a valid label value (at most 63 of letters, digits, "-", "_", ".", starting and ending alphanumeric)';
  return undefined;
}
