// Output: a readable live timeline (aligned, coloured only on a TTY without NO_COLOR), one JSON
// object per line for machines (--json), or verdicts only (--quiet).
import type { FlowResult } from './flows.js';
import type { TimelineEvent } from './timeline.js';

export type OutputMode = 'text' | 'json' | 'quiet';

export interface PrinterOptions {
  mode: OutputMode;
  color: boolean;
  write: (line: string) => void;
}

const SGR = { reset: 0, bold: 1, dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 } as const;
type Style = keyof typeof SGR;

const ACTOR_STYLE: Record<string, Style> = {
  EN1: 'cyan', EN2: 'cyan', EN3: 'cyan', resolver: 'blue', server: 'magenta', router: 'yellow', alice: 'green', bob: 'green',
};

/** Is colour wanted? Only for a terminal, and never against NO_COLOR (no-color.org). */
export function wantColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return !!stream.isTTY && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

export class Printer {
  constructor(private readonly o: PrinterOptions) {}

  private paint(s: string, style: Style): string {
    return this.o.color ? `\x1b[${SGR[style]}m${s}\x1b[0m` : s;
  }

  private json(obj: Record<string, unknown>): void {
    this.o.write(JSON.stringify(obj));
  }

  /** Lines describing what was started. */
  intro(lines: string[], data: Record<string, unknown>): void {
    if (this.o.mode === 'json') return this.json({ kind: 'setup', ...data });
    if (this.o.mode === 'quiet') return;
    this.o.write(this.paint(lines[0], 'bold'));
    for (const l of lines.slice(1)) this.o.write(`  ${l}`);
  }

  flowStart(name: string, n: number, title: string): void {
    if (this.o.mode === 'json') return this.json({ kind: 'flow', flow: name, title });
    if (this.o.mode === 'quiet') return;
    this.o.write('');
    this.o.write(this.paint(`── ${n}. ${title} ──`, 'bold'));
  }

  event(e: TimelineEvent): void {
    if (this.o.mode === 'json') return this.json({ kind: 'event', ...e });
    if (this.o.mode === 'quiet') return;
    const t = `+${e.t.toFixed(1)} ms`.padStart(11);
    const actor = e.actor.padEnd(8);
    this.o.write(`${this.paint(t, 'dim')}  ${this.paint(actor, ACTOR_STYLE[e.actor] ?? 'bold')}  ${e.text}`);
  }

  verdict(r: FlowResult): void {
    if (this.o.mode === 'json') return this.json({ kind: 'verdict', ...r });
    const word = r.pass ? this.paint('PASS', 'green') : this.paint('FAIL', 'red');
    if (this.o.mode === 'text') {
      for (const c of r.checks) this.o.write(`  ${c.ok ? this.paint('✓', 'green') : this.paint('✗', 'red')} ${c.what}`);
    }
    this.o.write(`${r.flow.padEnd(12)} ${word}  ${r.summary}`);
  }

  /** A flow's sequence diagram was written (--diagram). */
  diagram(flow: string, path: string): void {
    if (this.o.mode === 'json') return this.json({ kind: 'diagram', flow, path });
    if (this.o.mode === 'text') this.o.write(`  diagram: ${path}`);
  }

  summary(results: FlowResult[], interrupted: boolean): void {
    const passed = results.filter((r) => r.pass).length;
    const reach = results.filter((r) => r.expect === 'reach');
    const refuse = results.filter((r) => r.expect === 'refuse');
    const ok = (rs: FlowResult[]) => rs.filter((r) => r.pass).length;
    const pass = !interrupted && results.length > 0 && passed === results.length;
    const parts = [
      reach.length > 0 ? `${ok(reach)}/${reach.length} reached the right host` : '',
      refuse.length > 0 ? `${ok(refuse)}/${refuse.length} without a lookup refused` : '',
    ].filter(Boolean);
    const why = refuse.length === 0
      ? `${passed}/${results.length} flows reached the right host`
      : `${passed}/${results.length} flows as expected: ${parts.join(', ')}`;
    const text = interrupted ? `stopped after ${results.length} flow(s), ${passed} passed; everything closed` : why;
    if (this.o.mode === 'json') return this.json({ kind: 'summary', pass, passed, total: results.length, interrupted, text });
    if (this.o.mode === 'text') this.o.write('');
    const word = interrupted ? this.paint('INTERRUPTED', 'yellow') : pass ? this.paint('PASS', 'green') : this.paint('FAIL', 'red');
    this.o.write(`verdict: ${word} (${text})`);
  }

  /** A failure outside any flow (a port in use, ...): for --json readers; people get it on stderr. */
  error(message: string): void {
    if (this.o.mode === 'json') this.json({ kind: 'error', message });
  }
}
