// The example configurations (packaging/etc/ntss) ship placeholder secrets that decode to
// "REPLACE-ME..." and that the daemons refuse (src/config/values.ts). Tests that run them swap
// in their own secrets; the same placeholder gets the same secret, so paired keys still match.
import { randomBytes } from 'node:crypto';

export function ownSecrets(text: string, memo = new Map<string, string>()): { text: string; replaced: string[] } {
  const replaced: string[] = [];
  const out = text.replace(/"([A-Za-z0-9+/]+={0,2})"/g, (all, b64: string) => {
    const raw = Buffer.from(b64, 'base64');
    if (!raw.toString('latin1').startsWith('REPLACE-ME')) return all;
    replaced.push(b64);
    if (!memo.has(b64)) memo.set(b64, randomBytes(raw.length).toString('base64'));
    return `"${memo.get(b64)}"`;
  });
  return { text: out, replaced };
}
