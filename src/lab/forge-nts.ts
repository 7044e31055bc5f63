// An attacker on the Internet (en3 in the `forged` scenario): sends an NTS REQUEST for an IN,
// well-formed by the project's codec but signed with a key that is not the router's, and
// reports whether anything came back.
//   node forge-nts.js --to 203.0.113.2:5300 --key-id gw1 --fqdn alice.home.example.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { parseArgs } from 'node:util';
import { encodeMessage } from '../nts/codec.js';

const { values } = parseArgs({
  options: { to: { type: 'string' }, 'key-id': { type: 'string', default: 'gw1' }, fqdn: { type: 'string' }, wait: { type: 'string', default: '1000' } },
});
const [host, port] = (values.to ?? '').split(':');
if (!host || !port || !values.fqdn) {
  console.error('usage: forge-nts --to ADDR:PORT --fqdn NAME. [--key-id ID] [--wait MS]');
  process.exit(2);
}
const msg = encodeMessage({
  type: 'REQUEST', keyId: values['key-id'] ?? 'gw1', timestamp: Date.now(), id: randomBytes(8).toString('hex'),
  request: { fqdn: values.fqdn, qtype: 1, mode: 'any', timeLeftMs: 1500, resolver: { address: '198.51.100.13', port: 53 } },
}, randomBytes(32)); // the wrong key: the attacker does not have the router's
const sock = dgram.createSocket('udp4');
let done = false;
sock.on('message', (m) => {
  console.log(`response: ${m.length} octets`);
  done = true;
  sock.close();
});
sock.send(msg, Number(port), host, () => {
  console.log(`sent forged REQUEST for ${values.fqdn} to ${host}:${port} (${msg.length} octets)`);
  setTimeout(() => {
    if (done) return;
    console.log('no response');
    sock.close();
  }, Number(values.wait));
});
