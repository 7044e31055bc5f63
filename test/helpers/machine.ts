// A throwaway "machine" for deployment tests: a mount namespace whose /etc, /usr and /var/lib are
// overlays on the host's, held open by one sleeping process (optionally inside a lab network
// namespace). Commands run in it with nsenter, so an operator's guide can be followed literally
// (`npm install -g`, `systemd-sysusers`, `install -o root -g ntss /etc/ntss/...`) while every write
// lands in the overlays' upper directories and the host itself never changes. Its files are
// reachable from outside as /proc/<holder>/root/<path>. Root only.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Where the overlays go: each of /etc, /usr, /var/lib gets <dir>/<name>/{u,w}. */
const OVERLAID = { etc: '/etc', usr: '/usr', varlib: '/var/lib' } as const;

export interface MachineOptions {
  /** Scratch directory for the overlays' upper and work directories (removed by the caller). */
  dir: string;
  /** `ip netns exec NS` first: the machine's network is that namespace's. Else the host's. */
  netns?: string;
  /** Extra read-only layers under /usr (e.g. another machine's installed package), topmost first. */
  usrLayers?: string[];
  /** The holder sleeps this long at most, so nothing outlives a crashed test for long. */
  lifetimeS?: number;
}

export interface ShResult { code: number | null; stdout: string; stderr: string }

export class Machine {
  private constructor(readonly holder: number, readonly dir: string, private readonly net: boolean) {}

  /** The upper directory of one overlay: what the machine wrote there. */
  upper(name: keyof typeof OVERLAID): string {
    return join(this.dir, name, 'u');
  }

  static async start(o: MachineOptions): Promise<Machine> {
    const mounts = Object.entries(OVERLAID).map(([name, target]) => {
      for (const sub of ['u', 'w']) mkdirSync(join(o.dir, name, sub), { recursive: true });
      const lower = [...(name === 'usr' ? o.usrLayers ?? [] : []), target].join(':');
      return `mount -t overlay overlay -o lowerdir=${lower},upperdir=${join(o.dir, name, 'u')},workdir=${join(o.dir, name, 'w')} ${target}`;
    });
    const script = `set -e\n${mounts.join('\n')}\necho ready\nexec sleep ${o.lifetimeS ?? 900}\n`;
    const argv = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script];
    // ip netns exec and unshare exec what follows, and so does sh: the child's pid is the holder's.
    const child = spawn(o.netns ? 'ip' : argv[0], o.netns ? ['netns', 'exec', o.netns, ...argv] : argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.unref();
    (child.stdout as unknown as { unref(): void }).unref();
    (child.stderr as unknown as { unref(): void }).unref();
    let out = '';
    let err = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`machine: no "ready" within 10 s: ${err}`)), 10_000);
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`machine: the holder exited (${code}) before it was ready: ${err}`));
      });
    });
    return new Machine(child.pid!, o.dir, o.netns !== undefined);
  }

  /** A path inside the machine, as seen from the host. */
  path(p: string): string {
    return `/proc/${this.holder}/root${p}`;
  }

  /** nsenter arguments: the machine's mounts, and its network unless `hostNet`. */
  enter(hostNet = false): string[] {
    return ['nsenter', `--target=${this.holder}`, '--mount', ...(this.net && !hostNet ? ['--net'] : [])];
  }

  /** A shell script inside the machine (as root); `sudo [VAR=value...] CMD` runs CMD with those variables, as sudo does. */
  sh(script: string, o: { cwd?: string; hostNet?: boolean; timeoutMs?: number } = {}): ShResult {
    // setns() into a mount namespace moves the working directory to its root: cd in the script.
    const [cmd, ...args] = this.enter(o.hostNet);
    const r = spawnSync(cmd, [...args, '--', 'sh', '-c', `sudo() { env "$@"; }\ncd ${o.cwd ?? '/'}\n${script}`], { encoding: 'utf8', timeout: o.timeoutMs ?? 30_000 });
    return { code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? r.error.message : '') };
  }

  /** As sh(), throwing with the output unless it exits 0. */
  must(script: string, o: { cwd?: string; hostNet?: boolean; timeoutMs?: number } = {}): string {
    const r = this.sh(script, o);
    if (r.code !== 0) throw new Error(`in the machine, failed (${r.code}):\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    return r.stdout;
  }

  stop(): void {
    try {
      process.kill(this.holder, 'SIGKILL');
    } catch { /* gone */ }
  }
}
