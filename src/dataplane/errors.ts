// Data plane errors. A listen failure is an operator's problem at start: say which socket and
// what to do about it, not just the errno.
import { NtssError } from '../util/errors.js';

export class DataPlaneError extends NtssError {
  constructor(code: 'DATAPLANE_LISTEN' | 'DATAPLANE_UNSUPPORTED' | 'DATAPLANE_RC', message: string, readonly errno?: string) {
    super(code, message);
    this.name = 'DataPlaneError';
  }
}

/**
 * Turns a bind error for `proto host:port` into an error that says what to do. `key` names the
 * config key the address came from.
 */
export function listenError(err: NodeJS.ErrnoException, proto: string, host: string, port: number, key = 'globalAddresses'): DataPlaneError {
  const where = `cannot listen on ${proto} ${host.includes(':') ? `[${host}]` : host}:${port} (${key})`;
  let hint: string;
  switch (err.code) {
    case 'EADDRNOTAVAIL':
      hint = `${host} is not an address of this host: assign it to a local interface ` +
        `(e.g. "ip addr add ${host}/32 dev <wan>") or change ${key}; on loopback any 127.x.y.z works without setup`;
      break;
    case 'EACCES':
      hint = port < 1024
        ? `ports below 1024 need privileges: run as root, or grant node CAP_NET_BIND_SERVICE ` +
          `("setcap cap_net_bind_service=+ep $(readlink -f $(command -v node))"), or lower the sysctl ` +
          `net.ipv4.ip_unprivileged_port_start, or use a port >= 1024`
        : 'permission denied (a security module or firewall policy refused the bind)';
      break;
    case 'EADDRINUSE':
      hint = `another socket already uses it (see "ss -tulpn | grep :${port}"); the NTS port and the relay ports must differ`;
      break;
    default:
      hint = err.message;
  }
  return new DataPlaneError('DATAPLANE_LISTEN', `${where}: ${err.code ?? 'error'}: ${hint}`, err.code);
}
