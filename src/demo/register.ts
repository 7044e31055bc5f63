// An inside host registers its name the way `nsupdate -y` would: an RFC 2136 UPDATE that
// replaces its A RRset, signed with its own TSIG key, over UDP to the NTSv2 server, sent from
// the host's own address. The answer's TSIG is verified too: the demo does not trust an
// unauthenticated NOERROR any more than a real client should.
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { decodeMessage, encodeMessage } from '../dns/codec.js';
import { Opcode, RRClass, RRType, rcodeToString } from '../dns/constants.js';
import { signMessage, verifyResponse, type TsigKey } from '../dns/tsig.js';
import { newMessage, type Message } from '../dns/types.js';

export interface Registration {
  server: { host: string; port: number };
  /** The inside host's address: the update comes from there. */
  from: string;
  key: TsigKey;
  zone: string;
  name: string;
  address: string;
  ttl: number;
}

export interface RegistrationResult {
  rcode: string;
  /** The response's TSIG verified with the same key. */
  signed: boolean;
}

/** UPDATE zone: delete `name` A, add `name` ttl A address (one atomic change). */
export function updateMessage(r: Registration, id: number): Message {
  return newMessage({
    id, opcode: Opcode.UPDATE,
    question: [{ name: r.zone, type: RRType.SOA, class: RRClass.IN }], // the zone section
    authority: [ // the update section
      { name: r.name, type: RRType.A, class: RRClass.ANY, ttl: 0, rdata: { kind: 'empty' } },
      { name: r.name, type: RRType.A, class: RRClass.IN, ttl: r.ttl, rdata: { kind: 'A', address: r.address } },
    ],
  });
}

/** Sends the signed update (resent once after 1 s); rejects when no valid answer comes in 3 s, or on abort. */
export async function registerName(r: Registration, signal?: AbortSignal, timeoutMs = 3000): Promise<RegistrationResult> {
  signal?.throwIfAborted();
  const id = randomInt(0, 0x10000);
  const { message, mac } = signMessage(encodeMessage(updateMessage(r, id)), r.key, { nowSeconds: Date.now() / 1000 });
  const sock = dgram.createSocket('udp4');
  const timers: NodeJS.Timeout[] = [];
  let onAbort = () => {};
  try {
    return await new Promise<RegistrationResult>((resolve, reject) => {
      onAbort = () => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      sock.on('error', reject);
      sock.on('message', (raw, rinfo) => {
        if (rinfo.address !== r.server.host || rinfo.port !== r.server.port) return;
        let msg: Message;
        try {
          msg = decodeMessage(raw);
        } catch {
          return;
        }
        if (msg.id !== id || !msg.qr) return;
        const v = verifyResponse(raw, msg, r.key, mac, Date.now() / 1000);
        resolve({ rcode: rcodeToString(msg.rcode), signed: v.status === 'ok' });
      });
      sock.bind(0, r.from, () => {
        const send = () => sock.send(message, r.server.port, r.server.host);
        send();
        timers.push(setTimeout(send, 1000));
        timers.push(setTimeout(() => reject(new Error(`no answer to ${r.name}'s UPDATE from ${r.server.host}:${r.server.port} within ${timeoutMs} ms`)), timeoutMs));
      });
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    timers.forEach(clearTimeout);
    sock.close();
  }
}
