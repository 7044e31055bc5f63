// The Internet core's delay line, for kernels without netem (CONFIG_NET_SCH_NETEM unset, as on
// the CI's VMs). Inside the core namespace every routed packet goes out a TUN device that socat
// turns into UDP datagrams to this process; each comes back after --delay ms (or is dropped with
// probability --loss %) and socat writes it into the TUN device, from where the kernel routes it
// on. So every crossing of the core costs the same as netem on the segments' bridges would.
//   node delay-core.js --listen 127.0.0.1:9000 --peer 127.0.0.1:9001 --delay 10 --loss 0
import dgram from 'node:dgram';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { listen: { type: 'string' }, peer: { type: 'string' }, delay: { type: 'string', default: '0' }, loss: { type: 'string', default: '0' } },
});
const split = (s: string | undefined) => {
  const [h, p] = (s ?? '').split(':');
  return { host: h, port: Number(p) };
};
const listen = split(values.listen);
const peer = split(values.peer);
const delayMs = Number(values.delay);
const loss = Number(values.loss) / 100;
let forwarded = 0;
let dropped = 0;

// Bursts (bench/capacity: hundreds of lookups at once) overflowed the default 208 KB receive
// buffer of this socket and socat's (308 UDP receive buffer errors in one 600-lookup burst):
// the lab, not the system under test, lost packets. 4 MB is this machine's net.core.rmem_max.
const DELAY_LINE_BUFFER = 4 * 1024 * 1024;
const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: DELAY_LINE_BUFFER, sendBufferSize: DELAY_LINE_BUFFER });
sock.on('message', (pkt) => {
  if (loss > 0 && Math.random() < loss) {
    dropped++;
    return;
  }
  forwarded++;
  // Timers of equal duration fire in order, so packets are not reordered.
  const send = () => sock.send(pkt, peer.port, peer.host);
  if (delayMs > 0) setTimeout(send, delayMs);
  else setImmediate(send);
});
sock.on('error', (e) => console.error(`delay-core: ${e.message}`));
sock.bind(listen.port, listen.host, () => console.log(`delay-core: listening on ${values.listen}, delay ${delayMs} ms, loss ${values.loss}%`));
const stop = () => {
  console.log(`delay-core: forwarded ${forwarded}, dropped ${dropped}`);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
