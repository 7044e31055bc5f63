// Who may cost a router an RC (issue 8, "spoofed sources"). A UDP source address is forgeable;
// a TCP handshake or a server cookie we issued to that address (RFC 7873/9018) proves the
// sender receives at it. An unverified query learns how to prove it: BADCOOKIE with a fresh
// cookie when it sent a client cookie (RFC 7873 5.2.3), else TC=1 (RFC 7766: retry over TCP).
// A forged source never sees either, so a forged flood never reaches the gateway.
import type { ServerCookieCheck } from './cookies.js';

export type VerifyMode = 'cookie-or-tcp' | 'off';

export type CookieState = 'none' | 'client-only' | ServerCookieCheck['status'];

export type VerifyDecision =
  | { verdict: 'verified'; by: 'tcp' | 'cookie' | 'tsig' | 'off' }
  | { verdict: 'badcookie' }
  | { verdict: 'truncate' };

export function verifySource(mode: VerifyMode, transport: 'udp' | 'tcp', cookie: CookieState, signed: boolean): VerifyDecision {
  if (mode === 'off') return { verdict: 'verified', by: 'off' };
  if (transport === 'tcp') return { verdict: 'verified', by: 'tcp' };
  if (signed) return { verdict: 'verified', by: 'tsig' }; // a TSIG key holder is known to us
  if (cookie === 'valid') return { verdict: 'verified', by: 'cookie' };
  return cookie === 'none' ? { verdict: 'truncate' } : { verdict: 'badcookie' };
}
