// Who may read the dashboard: the token (`Authorization: Bearer T`, or `?token=T` once), then a
// session cookie. Pure: the clock is an argument. The cookie is not the token: it carries its
// expiry and an HMAC keyed by the token, so it dies with its time or with a new token (reload),
// and a cookie read from a browser profile does not reveal the token.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const COOKIE_NAME = 'ntss_dashboard';

export type AuthResult =
  /** Authorized. `setCookie`: the header to send (the token came by header or query). */
  /** `until`: when the session ends (an open event stream is closed then). */
  | { ok: true; via: 'header' | 'query' | 'cookie'; setCookie?: string; until: number }
  | { ok: false; reason: string };

export interface AuthRequest {
  /** The raw request target: path and query. */
  url: string;
  authorization?: string;
  cookie?: string;
}

/** Constant-time for equal lengths; the length of the token is not a secret worth hiding. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * `token` from the query, decoded without turning "+" into a space (a base64 token keeps its
 * "+"). Undefined when absent or not decodable.
 */
export function queryToken(url: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  for (const part of url.slice(q + 1).split('&')) {
    if (!part.startsWith('token=')) continue;
    try {
      return decodeURIComponent(part.slice('token='.length));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The URL without its `token` parameter: where to send the browser once the cookie is set. */
export function withoutToken(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const rest = url.slice(q + 1).split('&').filter((p) => p !== '' && !p.startsWith('token='));
  return rest.length > 0 ? `${url.slice(0, q)}?${rest.join('&')}` : url.slice(0, q);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const c of (header ?? '').split(';')) {
    const eq = c.indexOf('=');
    if (eq > 0 && c.slice(0, eq).trim() === name) return c.slice(eq + 1).trim();
  }
  return undefined;
}

const mac = (token: string, expires: number): string =>
  createHmac('sha256', token).update(`ntss-dashboard-session ${expires}`).digest('base64url');

/** A session cookie's value: `EXPIRES.MAC`. */
export function sessionValue(token: string, expires: number): string {
  return `${expires}.${mac(token, expires)}`;
}

/** The session's end, when the cookie is valid. */
function validSession(value: string, token: string, now: number): number | undefined {
  const m = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return undefined;
  const expires = Number(m[1]);
  return expires > now && sameSecret(m[2], mac(token, expires)) ? expires : undefined;
}

export function authorize(req: AuthRequest, token: string, now: number, sessionMs: number): AuthResult {
  const cookie = (): string => {
    const expires = now + sessionMs;
    return `${COOKIE_NAME}=${sessionValue(token, expires)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(sessionMs / 1000)}`;
  };
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.authorization ?? '')?.[1];
  if (bearer !== undefined) {
    return sameSecret(bearer, token) ? { ok: true, via: 'header', setCookie: cookie(), until: now + sessionMs } : { ok: false, reason: 'wrong token' };
  }
  const q = queryToken(req.url);
  if (q !== undefined) {
    return sameSecret(q, token) ? { ok: true, via: 'query', setCookie: cookie(), until: now + sessionMs } : { ok: false, reason: 'wrong token' };
  }
  const c = cookieValue(req.cookie, COOKIE_NAME);
  const until = c === undefined ? undefined : validSession(c, token, now);
  if (c !== undefined) return until !== undefined ? { ok: true, via: 'cookie', until } : { ok: false, reason: 'session expired or token changed' };
  return { ok: false, reason: 'no token' };
}
