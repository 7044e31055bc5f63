// The control socket (`control.socket`): a Unix socket that answers `status` with one JSON line
// and closes. Local only, mode 0600: who can read the socket file can read the daemon's state.
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { NtssError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

export interface ControlListener {
  readonly path: string;
  close(): Promise<void>;
}

/** A request line longer than this is not ours: the connection is closed. */
const MAX_LINE = 1024;

export async function listenControl(path: string, status: () => unknown, log: Logger): Promise<ControlListener> {
  await removeStale(path);
  const server = net.createServer((c) => {
    let buf = '';
    c.setTimeout(5000, () => c.destroy());
    c.on('error', () => c.destroy());
    c.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_LINE) c.destroy();
        return;
      }
      const cmd = buf.slice(0, nl).trim();
      let reply: unknown;
      if (cmd === 'status') {
        try {
          reply = { ok: true, status: status() };
        } catch (e) {
          log.error('control-error', { error: (e as Error).message });
          reply = { ok: false, error: `status failed: ${(e as Error).message}` };
        }
      } else {
        reply = { ok: false, error: `unknown command ${JSON.stringify(cmd.slice(0, 64))}; expected "status"` };
      }
      c.end(`${JSON.stringify(reply)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new NtssError('CONTROL_LISTEN', `cannot listen on the control socket ${path} (control.socket): ${e.code ?? 'error'}: ${e.message}`)));
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  log.info('control-listening', { socket: path });
  return {
    path,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())), // removes the socket file
  };
}

/** A socket file left by a daemon that died is removed; a live one (or any other file) is an error. */
async function removeStale(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new NtssError('CONTROL_LISTEN', `control.socket ${path} exists and is not a socket: remove it or choose another path`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(path);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new NtssError('CONTROL_LISTEN', `control.socket ${path} is in use by a running daemon: stop it or choose another path`);
  unlinkSync(path);
}

/** Asks the daemon behind `path` for its status (the `ntss status` client). */
export function requestStatus(path: string, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const c = net.connect(path);
    let buf = '';
    const fail = (msg: string) => {
      c.destroy();
      reject(new NtssError('CONTROL_FAILED', msg));
    };
    c.setTimeout(timeoutMs, () => fail(`${path}: no answer within ${timeoutMs} ms`));
    c.once('connect', () => c.write('status\n'));
    c.on('data', (d) => { buf += d.toString('utf8'); });
    c.once('error', (e: NodeJS.ErrnoException) => fail(`cannot connect to ${path}: ${e.code ?? e.message} (is the daemon running with control.socket set to this path?)`));
    c.once('end', () => {
      let r: { ok?: boolean; status?: unknown; error?: string };
      try {
        r = JSON.parse(buf) as typeof r;
      } catch {
        fail(`${path}: the answer is not JSON`);
        return;
      }
      if (r.ok !== true) fail(`${path}: ${r.error ?? 'the daemon refused'}`);
      else resolve(r.status);
    });
  });
}
