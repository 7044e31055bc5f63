// The userspace relay's mechanics alone, on loopback, against socat: no lab, no root, no
// scheduler (every flow is mapped to the IN at once), so a change to tcp-relay.ts or
// udp-relay.ts can be profiled and compared in a minute. run.mjs measures the real thing.
//   node bench/dataplane/relay-loopback.mjs [--rounds 3] [--seconds 2] [--udp-rate 1G] [--concurrency 32]
//   node bench/dataplane/relay-loopback.mjs --serve HOST --to HOST   (the relay process itself;
//       add --cpu-prof to node to profile it)
// iperf3 and the connrate server listen on 127.0.0.1; ours relays 127.0.0.2 -> 127.0.0.1, socat
// 127.0.0.3 -> 127.0.0.1, each in its own process, rounds interleaved.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compare, parseIperf } from './summary.mjs';

const { values: a } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '2' }, 'udp-rate': { type: 'string', default: '1G' },
    concurrency: { type: 'string', default: '32' }, serve: { type: 'string' }, to: { type: 'string' },
    port: { type: 'string', default: '15201' }, 'conn-port': { type: 'string', default: '15202' }, tests: { type: 'string', default: 'tcp,udp,conn' },
  },
});
const PORT = Number(a.port);
const CONN_PORT = Number(a['conn-port']);
const SELF = fileURLToPath(import.meta.url);
const CONNRATE_JS = fileURLToPath(new URL('./connrate.mjs', import.meta.url));

if (a.serve) {
  const { UserspaceDataPlane } = await import(new URL('../../dist/src/dataplane/userspace.js', import.meta.url).href);
  let id = 0;
  const plane = new UserspaceDataPlane({
    globalAddresses: [a.serve], ports: [{ proto: 'tcp', port: PORT }, { proto: 'udp', port: PORT }, { proto: 'tcp', port: CONN_PORT }],
    classify: (p) => ({
      verdict: 'mapped',
      mapping: { id: ++id, rcId: 1, proto: p.proto, enAddress: p.src, enPort: p.srcPort, globalAddress: p.dst, globalPort: p.dstPort, privateAddress: a.to, privatePort: p.dstPort, fqdn: 'in.', createdAt: Date.now(), via: 'rc' },
    }),
  });
  await plane.start();
  console.log('listening');
  process.on('SIGTERM', () => plane.stop().then(() => process.exit(0)));
} else {
  const seconds = Number(a.seconds);
  const rounds = Number(a.rounds);
  const tests = a.tests.split(',');
  const children = [];
  // Each in a process group of its own: socat's forked children die with it (and hold no pipe of ours).
  const bg = (cmd, args) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    children.push(c);
    return c;
  };
  const killGroup = (c, sig) => {
    try {
      process.kill(-c.pid, sig);
    } catch { /* gone */ }
  };
  process.on('exit', () => children.forEach((c) => killGroup(c, 'SIGKILL')));
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
  const ready = (c) => new Promise((res) => c.stdout.on('data', (d) => String(d).includes('listening') && res()));
  bg('iperf3', ['-s', '-B', '127.0.0.1', '-p', String(PORT)]);
  await ready(bg(process.execPath, [CONNRATE_JS, 'server', '--host', '127.0.0.1', '--port', String(CONN_PORT)]));
  await new Promise((r) => setTimeout(r, 300));
  const planes = {
    ours: async () => {
      const c = bg(process.execPath, [...process.execArgv, SELF, '--serve', '127.0.0.2', '--to', '127.0.0.1', '--port', String(PORT), '--conn-port', String(CONN_PORT)]);
      await ready(c);
      return { host: '127.0.0.2', stop: () => new Promise((r) => { c.once('exit', r); killGroup(c, 'SIGTERM'); }) };
    },
    socat: async () => {
      const cs = [
        ['TCP4-LISTEN:' + PORT + ',bind=127.0.0.3,fork,reuseaddr', `TCP4:127.0.0.1:${PORT}`],
        ['UDP4-LISTEN:' + PORT + ',bind=127.0.0.3,fork,reuseaddr', `UDP4:127.0.0.1:${PORT}`],
        ['TCP4-LISTEN:' + CONN_PORT + ',bind=127.0.0.3,fork,reuseaddr,backlog=1024', `TCP4:127.0.0.1:${CONN_PORT}`],
      ].map((x) => bg('socat', x));
      await new Promise((r) => setTimeout(r, 300));
      return { host: '127.0.0.3', stop: async () => cs.forEach((c) => killGroup(c, 'SIGTERM')) };
    },
  };
  const run = (host, test) => {
    if (test === 'conn') {
      const r = spawnSync(process.execPath, [CONNRATE_JS, 'client', '--host', host, '--port', String(CONN_PORT), '--seconds', String(seconds), '--concurrency', a.concurrency], { encoding: 'utf8', timeout: (seconds + 10) * 1000 });
      return JSON.parse(r.stdout.trim().split('\n').pop()).perSecond;
    }
    const args = ['-c', host, '-p', String(PORT), '-t', String(seconds), '-J', ...(test === 'udp' ? ['-u', '-b', a['udp-rate'], '-l', '1400'] : [])];
    return parseIperf(spawnSync('iperf3', args, { encoding: 'utf8', timeout: (seconds + 10) * 1000 }).stdout, test).mbps;
  };
  const res = { ours: {}, socat: {} };
  for (let i = 0; i < rounds; i++) {
    for (const p of i % 2 === 0 ? ['ours', 'socat'] : ['socat', 'ours']) {
      const pl = await planes[p]();
      for (const t of tests) {
        let v = NaN;
        try {
          v = run(pl.host, t);
        } catch (e) {
          console.error(`# ${p} ${t}: ${e.message}`);
        }
        (res[p][t] ??= []).push(v);
        console.error(`# round ${i + 1} ${p} ${t}: ${v.toFixed(1)}`);
      }
      await pl.stop();
    }
  }
  console.log('| test | ours (median) | socat (median) | ours/socat, median of rounds |\n|---|---:|---:|---:|');
  for (const t of tests) {
    const c = compare(res.ours[t], res.socat[t]);
    console.log(`| ${t} | ${c.medianA.toFixed(1)} | ${c.medianB.toFixed(1)} | ${c.medianRatio.toFixed(3)} |`);
  }
  process.exit(0);
}
