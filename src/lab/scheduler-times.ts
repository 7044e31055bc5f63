// The lab's router times for a given --delay: no imports, so the simulator (src/sim/model.ts)
// can use the lab's settings without loading the lab.
/**
 * Paper 3.5/4: the hold must cover the worst EN RTT; the RC must outlive the answer's trip to the
 * EN and its first packet (READY -> server -> Unbound -> stub -> curl -> SYN: ~1 ms here, plus
 * about 2 RTTs with --delay). rcTimeoutMs also bounds how long an RC nobody uses (Unbound's
 * qname-minimisation A query before an AAAA, scenario `aaaa`) blocks the address: a lookup
 * queued behind it must get READY before the router's TOO_LATE point, 1550 ms after the server
 * asked (resolverPatienceMs 1800 - marginMs 150 - safetyMarginMs 100). 3000 made that lookup
 * fail (SERVFAIL, "Could not resolve host", or a stub retry after ~3 s); 1500 answers it on the
 * first try (~1.45 s). src/lab/README.md, "Scheduler times".
 */
export function schedulerTimes(delayMs: number): { holdMs: number; rcTimeoutMs: number } {
  return { holdMs: Math.max(500, 2 * delayMs), rcTimeoutMs: 1500 + 4 * delayMs };
}
