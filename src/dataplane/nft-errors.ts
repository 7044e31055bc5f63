// Errors of the `nft` runner, classified by predicate as knftables does (IsNotFound,
// IsAlreadyExists): callers branch on the kind, never on message text. `nft` reports every
// failure as text on stderr ("Error: Could not process rule: File exists"), so the text is
// classified once, here.
import { NtssError } from '../util/errors.js';

export type NftErrorKind = 'not-found' | 'exists' | 'syntax' | 'process' | 'other';

export class NftError extends NtssError {
  constructor(readonly kind: NftErrorKind, message: string, readonly stderr = '') {
    super('DATAPLANE_NFT', message);
    this.name = 'NftError';
  }
}

/** The kind of an `nft` error text (its stderr). */
export function classifyNftStderr(stderr: string): NftErrorKind {
  if (/No such file or directory/.test(stderr)) return 'not-found';   // ENOENT: table, map, element
  if (/File exists/.test(stderr)) return 'exists';                       // EEXIST: overlapping or same key, other value
  if (/syntax error|unexpected|Could not resolve|Unknown/i.test(stderr)) return 'syntax';
  return 'other';
}

/** An NftError built from `nft`'s stderr: the first "Error:" line is the message. */
export function nftErrorFrom(stderr: string): NftError {
  const first = stderr.split('\n').find((l) => l.startsWith('Error:')) ?? stderr.split('\n')[0] ?? '';
  return new NftError(classifyNftStderr(stderr), `nft: ${first.replace(/^Error:\s*/, '')}`.trim(), stderr);
}

export function isNotFound(e: unknown): boolean {
  return e instanceof NftError && e.kind === 'not-found';
}

export function isAlreadyExists(e: unknown): boolean {
  return e instanceof NftError && e.kind === 'exists';
}
