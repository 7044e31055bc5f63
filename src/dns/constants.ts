// DNS numeric constants (RFC 1035, 2136, 6891, 7871, 8945). Names follow the RFCs.

export const RRType = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33,
  OPT: 41, TSIG: 250, IXFR: 251, AXFR: 252, ANY: 255,
} as const;

export const RRClass = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

export const Opcode = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

export const Rcode = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5,
  YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10,
  BADVERS: 16, // also BADSIG in TSIG error field
  BADSIG: 16, BADKEY: 17, BADTIME: 18, BADMODE: 19, BADNAME: 20, BADALG: 21, BADTRUNC: 22, BADCOOKIE: 23,
} as const;

export const EdnsOptionCode = { ECS: 8, COOKIE: 10, PADDING: 12 } as const;

const typeNames = new Map<number, string>(Object.entries(RRType).map(([k, v]) => [v, k]));
const typeNumbers = new Map<string, number>(Object.entries(RRType).map(([k, v]) => [k, v]));
const classNames = new Map<number, string>(Object.entries(RRClass).map(([k, v]) => [v, k]));
const rcodeNames = new Map<number, string>();
for (const [k, v] of Object.entries(Rcode)) if (!rcodeNames.has(v)) rcodeNames.set(v, k);

/** "A", "TYPE65280" (RFC 3597) */
export function typeToString(t: number): string {
  return typeNames.get(t) ?? `TYPE${t}`;
}
/** Accepts mnemonics and RFC 3597 "TYPEnnn"; undefined when neither. */
export function typeFromString(s: string): number | undefined {
  const u = s.toUpperCase();
  const known = typeNumbers.get(u);
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(u);
  if (m) { const n = Number(m[1]); if (n <= 0xffff) return n; }
  return undefined;
}
export function classToString(c: number): string {
  return classNames.get(c) ?? `CLASS${c}`;
}
export function rcodeToString(r: number): string {
  return rcodeNames.get(r) ?? `RCODE${r}`;
}

/** The TSIG error field reuses 16 as BADSIG where the header/OPT rcode says BADVERS. */
export function tsigErrorToString(e: number): string {
  return e === Rcode.BADSIG ? 'BADSIG' : rcodeToString(e);
}
