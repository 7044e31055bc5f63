// What each resolver shows an authoritative server with its default settings: the signal table
// of the passive fingerprint (fingerprint.ts). One row per signal; adding a signal that can be
// read from a single query is one row here (with `fromQuery`); a behaviour over several queries
// (probes, retries) also needs the event in fingerprint.ts that reports it.
// docs/resolver-profiles.md lists the rows with their sources.
import { RRType } from '../dns/constants.js';

/** The profiles a fingerprint can pick; `unknown` is what it says when it cannot. */
export const FINGERPRINTABLE = ['unbound', 'bind', 'knot', 'powerdns'] as const;
export type FingerprintProfile = (typeof FINGERPRINTABLE)[number];

/** What the fingerprint reads from one query, as the server received it. */
export interface QueryEvent {
  resolver: string;
  transport: 'udp' | 'tcp';
  id: number;
  /** Exactly as received (case kept: 0x20). */
  qname: string;
  qtype: number;
  /** Header CD bit. */
  cd: boolean;
  edns?: { udpSize: number; dnssecOk: boolean; optionCodes: number[] };
}

export type SignalName =
  | 'edns-size' | 'do-bit' | 'cd-bit' | 'cookie' | 'qname-case' | 'qmin-probe' | 'first-retry' | 'retry-transport';

export interface SignalRow {
  signal: SignalName;
  /**
   * 'query': read from every query, so a profile is only picked once each of its query rows has
   * been seen to match. 'behaviour': seen only sometimes (deep names, held answers); it can rule
   * a profile out, and adds to the confidence, but is never waited for.
   */
  kind: 'query' | 'behaviour';
  /** The value one query shows, or undefined when it says nothing. */
  fromQuery?: (q: QueryEvent) => string | undefined;
  /** Values each resolver shows with its defaults. No entry: no claim (it neither matches nor contradicts). */
  expect: Partial<Record<FingerprintProfile, readonly string[]>>;
  /** Where the expectation comes from; "source" rows were read in the resolver's code at the tag named. */
  source: string;
}

const COOKIE_OPTION = 10;

/** 0x20 (draft-vixie-dnsext-dns0x20): a randomised name of >= 10 letters is all one case with
 *  probability 2^-9 at most; one capital alone is what people type ("Alice"), not evidence. */
export function qnameCase(qname: string): 'mixed' | 'single' | undefined {
  let upper = 0, lower = 0;
  for (let i = 0; i < qname.length; i++) {
    const c = qname.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) upper++;
    else if (c >= 0x61 && c <= 0x7a) lower++;
  }
  if (upper >= 2 && lower >= 2) return 'mixed';
  if (upper + lower >= 10 && (upper === 0 || lower === 0)) return 'single';
  return undefined;
}

/** Buckets of the time from a held query to its first retry (fingerprint.ts), in ms. */
export function retryBucket(ms: number): string {
  if (ms < 300) return '<300';
  if (ms < 600) return '300-600';
  if (ms < 1100) return '600-1100';
  return '>=1100';
}
/** A query held this long without a retry shows the resolver does not retransmit to us. */
export const NO_RETRY_AFTER_MS = 1400;

export const SIGNALS: readonly SignalRow[] = [
  {
    signal: 'edns-size', kind: 'query',
    fromQuery: (q) => (q.edns ? String(q.edns.udpSize) : 'none'),
    expect: { unbound: ['1232'], bind: ['1232', '512'], knot: ['1232'], powerdns: ['1232'] },
    source: 'source: Unbound util/config_file.c edns_buffer_size 1232; BIND bin/named/config.c edns-udp-size 1232 ' +
      '(measured: BIND 9.18.49 advertises 512 in its retry after a timeout); ' +
      'Knot lib/defines.h KR_EDNS_PAYLOAD 1232; PowerDNS rec-main.cc edns-outgoing-bufsize 1232 (DNS flag day 2020). ' +
      'Another size means another version or non-default settings, whose TTL floor we do not know',
  },
  {
    signal: 'do-bit', kind: 'query',
    fromQuery: (q) => (q.edns ? (q.edns.dnssecOk ? 'yes' : 'no') : undefined),
    expect: { unbound: ['yes'], bind: ['yes'], knot: ['yes'], powerdns: ['yes'] },
    source: 'source: Unbound iterator.c send_query EDNS_DO; BIND resolver.c fctx_addopt DNS_MESSAGEEXTFLAG_DO; ' +
      'Knot lib/resolve.c knot_edns_set_do (full resolution); PowerDNS lwres.cc DNSSECOK unless dnssec=off',
  },
  {
    signal: 'cd-bit', kind: 'query',
    fromQuery: (q) => (q.cd ? 'yes' : 'no'),
    expect: { unbound: ['yes'], knot: ['yes'], powerdns: ['no'] },
    source: 'source: Unbound iterator.c sets BIT_CD on queries without RD; Knot lib/resolve.c knot_wire_set_cd ' +
      '(full resolution); PowerDNS lwres.cc cd = sendRDQuery && dnssec. BIND: no claim (resolver.c sets CD for ' +
      'forwarding or when not validating; measured CD set with dnssec-validation no)',
  },
  {
    signal: 'cookie', kind: 'query',
    fromQuery: (q) => (q.edns ? (q.edns.optionCodes.includes(COOKIE_OPTION) ? 'yes' : 'no') : undefined),
    expect: { unbound: ['no'], bind: ['yes'], knot: ['no'], powerdns: ['no'] },
    source: 'source: BIND bin/named/config.c send-cookie true, resolver.c adds DNS_OPT_COOKIE; Unbound 1.17.1 has no ' +
      'client cookie code; Knot 5.6 compiles lib/cookies only with ENABLE_COOKIES, which its build never defines; ' +
      'PowerDNS 4.8 syncres/lwres send no COOKIE option',
  },
  {
    signal: 'qname-case', kind: 'query',
    fromQuery: (q) => qnameCase(q.qname),
    expect: { unbound: ['single'], bind: ['single'], knot: ['mixed'], powerdns: ['single'] },
    source: 'source: Knot lib/resolve.c randomized_qname_case unless NO_0X20; Unbound use-caps-for-id default no ' +
      '(config_file.c); PowerDNS lwres.cc dns0x20 commented out; BIND 9.18 resolver has no 0x20',
  },
  {
    signal: 'qmin-probe', kind: 'behaviour',
    expect: { unbound: ['A'], bind: ['NS', '_A'], knot: ['NS'], powerdns: ['A'] },
    source: 'source: Unbound iterator.c minimises with QTYPE A; PowerDNS syncres.cc "Step4 Resolve A for child"; ' +
      'Knot lib/layer/iterate.c minimized_qname uses NS; BIND 9.18.17+ resolver.c fctx_minimize_qname uses NS ' +
      '(9.14 to 9.18.16: "_.<name>" A). Seen only for names two or more labels below the zone apex',
  },
  {
    signal: 'first-retry', kind: 'behaviour',
    expect: { unbound: ['<300', '300-600'], bind: ['600-1100'], knot: ['<300', '300-600'], powerdns: ['none'] },
    source: 'measured (brief): Unbound 376 ms for a new server (iterator.c UNKNOWN_SERVER_NICENESS), 50 ms minimum ' +
      'once known (util/rtt.c RTT_MIN_TIMEOUT); BIND 800 ms (resolver-retry-interval, 3 tries before back-off). ' +
      'source: Knot 400 ms new (selection.c DEFAULT_TIMEOUT), srtt+20 ms known; PowerDNS one try per address ' +
      '(syncres.cc), no retry before its 1500 ms network-timeout',
  },
  {
    signal: 'retry-transport', kind: 'behaviour',
    expect: { knot: ['tcp'] },
    source: 'source: Knot lib/selection.c moves to TCP after TCP_TIMEOUT_THRESHOLD (2) timeouts. The others: not ' +
      'verified, so no claim',
  },
];

/** Query types whose name, asked shortly before a longer one, reveals the minimisation style. */
export function probeStyle(probeName: string, probeType: number): 'A' | 'NS' | '_A' | undefined {
  if (probeType === RRType.NS) return 'NS';
  if (probeType === RRType.A) return probeName.startsWith('_.') ? '_A' : 'A';
  return undefined;
}
