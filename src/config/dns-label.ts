import { z } from 'zod';

/**
 * An RFC 1123 DNS label: what Kubernetes accepts for most object names, and what the
 * bridge takes for hub, form and uid, since each is also a path segment of the
 * manifests repository. The one definition of the rule.
 */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const MAX_DNS_LABEL = 63;

export function isDnsLabel(value: string): boolean {
  return value.length <= MAX_DNS_LABEL && DNS_LABEL.test(value);
}

/** A config field that must be a DNS label. */
export const DnsLabel = z
  .string()
  .max(MAX_DNS_LABEL)
  .regex(DNS_LABEL, 'must be a DNS label: lowercase letters, digits and "-", starting and ending alphanumeric');
