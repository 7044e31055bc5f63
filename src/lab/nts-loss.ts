// Loss on the NTS channel only (server <-> router, UDP 5300), both directions, for the fault
// scenarios: an nftables table in the Internet core's namespace (no netem needed). It drops in
// the core's forward hook, so neither daemon learns of a loss: a drop in the router's own output
// hook would fail its sendto() with EPERM, which real loss never does. Counters per direction.
import type { Lab } from './lab.js';
import { DELAY_TUN } from './netns.js';
import { LabError, nsExecArgs, run } from './shell.js';
import { ADDR, NTS_PORT } from './topology.js';

const TABLE = 'ntss_fault';

export interface NtsLossCounts {
  toRouter: { passed: number; dropped: number };
  fromRouter: { passed: number; dropped: number };
}

export class NtsLoss {
  private constructor(private readonly lab: Lab, readonly pct: number) {}

  /** Drops pct % (0..100) of the NTS datagrams in each direction until remove(). */
  static install(lab: Lab, pct: number): NtsLoss {
    if (!Number.isInteger(pct) || pct < 0 || pct > 100) throw new LabError(`NTS loss must be an integer percentage 0..100, got ${pct}`, 'LAB_USAGE');
    const r = ADDR.routerWan;
    // numgen is drawn per rule: each direction gets its own independent pct %. nft refuses "< 100".
    const draw = pct >= 100 ? '' : ` numgen random mod 100 < ${pct}`;
    // With the TUN delay line (--delay/--loss without netem) a datagram is forwarded twice, into
    // the line and out of it: only the first pass counts.
    const once = `iifname != "${DELAY_TUN}"`;
    const ruleset = [
      `table ip ${TABLE} {`,
      '  chain forward {',
      '    type filter hook forward priority filter - 10; policy accept;',
      `    ${once} ip daddr ${r} udp dport ${NTS_PORT}${draw} counter drop comment "to-router-dropped"`,
      `    ${once} ip daddr ${r} udp dport ${NTS_PORT} counter comment "to-router-passed"`,
      `    ${once} ip saddr ${r} udp sport ${NTS_PORT}${draw} counter drop comment "from-router-dropped"`,
      `    ${once} ip saddr ${r} udp sport ${NTS_PORT} counter comment "from-router-passed"`,
      '  }',
      '}',
      '',
    ].join('\n');
    const loss = new NtsLoss(lab, pct);
    loss.remove(); // a table left by an interrupted earlier run on this lab
    run('ip', nsExecArgs(lab.ns('inet'), 'nft', ['-f', '-']), { input: ruleset });
    return loss;
  }

  counts(): NtsLossCounts {
    const out = run('ip', nsExecArgs(this.lab.ns('inet'), 'nft', ['list', 'table', 'ip', TABLE]), { allowFail: true }).stdout;
    const n = (c: string) => Number(new RegExp(`packets (\\d+) bytes \\d+ (?:drop )?comment "${c}"`).exec(out)?.[1] ?? 0);
    return {
      toRouter: { passed: n('to-router-passed'), dropped: n('to-router-dropped') },
      fromRouter: { passed: n('from-router-passed'), dropped: n('from-router-dropped') },
    };
  }

  /** Idempotent; the lab's teardown (namespaces deleted) removes it too. */
  remove(): void {
    run('ip', nsExecArgs(this.lab.ns('inet'), 'nft', ['delete', 'table', 'ip', TABLE]), { allowFail: true });
  }
}
