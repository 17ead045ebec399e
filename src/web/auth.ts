import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const COOKIE = 'lynq_ui';

/**
 * The web view's token check: `Authorization: Bearer <token>`, or the session cookie the
 * login form sets. The cookie holds an HMAC of a fixed text under the token, not the token:
 * a cookie read off a disk does not give the token away, and changing the token ends every
 * session. Both are compared as SHA-256 digests with timingSafeEqual, so neither the secret
 * nor its length leaks through timing.
 */
export class TokenCheck {
  private readonly token: Buffer;
  private readonly session: string;
  private readonly sessionDigest: Buffer;

  constructor(token: string) {
    this.token = tokenDigest(token);
    this.session = createHmac('sha256', token).update('lynq web view session v1').digest('hex');
    this.sessionDigest = tokenDigest(this.session);
  }

  /** The cookie value a successful login sets. */
  sessionValue(): string {
    return this.session;
  }

  /** Whether the token (from a login form) is the right one. */
  matches(candidate: string): boolean {
    return timingSafeEqual(tokenDigest(candidate), this.token);
  }

  allowed(headers: IncomingHttpHeaders): boolean {
    // A bearer token decides alone; another scheme (a proxy's Basic) leaves it to the cookie.
    if (/^Bearer\s/i.test(headers.authorization ?? '')) return bearerIs(headers.authorization, this.token);
    const cookie = cookieValue(headers.cookie, COOKIE);
    return cookie !== undefined && timingSafeEqual(tokenDigest(cookie), this.sessionDigest);
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A secret as compared: its SHA-256, so every comparison is of equal length. */
export function tokenDigest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Whether an Authorization header is `Bearer <token>` with the token whose digest is `expected`, compared in constant time. */
export function bearerIs(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match !== null && timingSafeEqual(tokenDigest(match[1]!), expected);
}

/** Loopback addresses: a view bound only to them is reachable from this machine alone. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    bare === 'localhost' ||
    bare === '::1' ||
    /^127(?:\.\d{1,3}){3}$/.test(bare) ||
    /^::ffff:127(?:\.\d{1,3}){3}$/.test(bare)
  );
}
