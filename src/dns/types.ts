// The DNS message model shared by the codec, TSIG, the zone and the server.
// Names are strings in presentation form (RFC 1035 5.1: "\." and "\DDD" escapes), absolute,
// with the trailing dot, in the case they had on the wire. Compare with canonicalName().
import { NtssError } from '../util/errors.js';

export interface Question {
  name: string;
  type: number;
  class: number;
}

export type RData =
  | { kind: 'empty' } // RDLENGTH 0: RFC 2136 "delete RRset" / prerequisite forms
  | { kind: 'A'; address: string }
  | { kind: 'AAAA'; address: string }
  | { kind: 'NS'; target: string }
  | { kind: 'CNAME'; target: string }
  | { kind: 'PTR'; target: string }
  | { kind: 'SOA'; mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number }
  | { kind: 'MX'; preference: number; exchange: string }
  | { kind: 'TXT'; strings: Buffer[] }
  | { kind: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { kind: 'TSIG'; algorithm: string; timeSigned: number; fudge: number; mac: Buffer; originalId: number; error: number; other: Buffer }
  | { kind: 'unknown'; data: Buffer }; // RFC 3597 opaque

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  rdata: RData;
}

export interface EdnsOption {
  code: number;
  data: Buffer;
}

/** EDNS Client Subnet (RFC 7871 section 6). address is the prefix, zero-padded, as text. */
export interface ClientSubnet {
  family: 1 | 2;
  sourcePrefix: number;
  scopePrefix: number;
  address: string;
}

export interface Edns {
  udpSize: number;   // OPT CLASS
  version: number;
  dnssecOk: boolean;
  flags: number;     // the full 16-bit flags field (DO is bit 15)
  options: EdnsOption[];
}

export interface Message {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  z: boolean;
  ad: boolean;
  cd: boolean;
  /** Full 12-bit rcode; the upper 8 bits travel in the OPT record. */
  rcode: number;
  /** For UPDATE (RFC 2136) these four are Zone, Prerequisite, Update, Additional. */
  question: Question[];
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  /** Without OPT and TSIG: those are lifted into edns and tsig. */
  additional: ResourceRecord[];
  edns?: Edns;
  /** Present when the last additional record was a TSIG RR. */
  tsig?: { rr: ResourceRecord & { rdata: { kind: 'TSIG' } }; offset: number };
}

/** Thrown by the decoder. header is set when at least the 12-byte header could be read. */
export class DnsFormatError extends NtssError {
  constructor(message: string, readonly header?: { id: number; opcode: number; qr: boolean }) {
    super('DNS_FORMERR', message);
    this.name = 'DnsFormatError';
  }
}

/** Thrown by the encoder/presentation parser on values that cannot be put on the wire. */
export class DnsEncodeError extends NtssError {
  constructor(message: string) {
    super('DNS_ENCODE', message);
    this.name = 'DnsEncodeError';
  }
}

/** An empty header-only message to fill in. */
export function newMessage(init: Partial<Message> = {}): Message {
  return {
    id: 0, qr: false, opcode: 0, aa: false, tc: false, rd: false, ra: false, z: false, ad: false, cd: false,
    rcode: 0, question: [], answer: [], authority: [], additional: [], ...init,
  };
}
