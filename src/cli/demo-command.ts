// `ntss demo`: the whole NTSSv2 system on loopback in one process, the paper's flows played
// with a live timeline and a verdict. Options and signals only; the work is in src/demo/.
import { FLOW_NAMES, type FlowName } from '../demo/flows.js';
import { Printer, wantColor, type OutputMode } from '../demo/printer.js';
import { EXIT_INTERRUPTED, runDemo } from '../demo/run.js';
import { assertWritable, diagramPaths, parseWindow } from '../diagram/file.js';
import { UsageError } from '../util/errors.js';
import type { Command } from './main.js';

export const demoCommand: Command = {
  summary: 'the whole system on loopback, no root: the paper\'s flows with a live timeline and a verdict',
  usage: `[--flow ${FLOW_NAMES.join('|')}|all] [--json | --quiet] [--diagram FILE.svg [--diagram-window FROM-TO]]`,
  options: {
    flow: { type: 'string', description: `which flow to play: ${FLOW_NAMES.join(', ')} or all (default)` },
    json: { type: 'boolean', description: 'one JSON object per line (setup, flow, event, verdict, summary)' },
    quiet: { type: 'boolean', description: 'print the verdicts only' },
    diagram: { type: 'string', description: 'draw each flow as a sequence diagram (SVG, as the paper\'s Figs. 5-8) in FILE; with several flows FILE-<flow>.svg' },
    'diagram-window': { type: 'string', description: 'with --diagram: only FROM-TO ms since the flow started (e.g. 0-50)' },
  },
  async run(v) {
    const flow = (v.flow ?? 'all') as string;
    if (flow !== 'all' && !(FLOW_NAMES as readonly string[]).includes(flow)) {
      throw new UsageError(`demo: --flow must be ${FLOW_NAMES.join(', ')} or all, got "${flow}"`);
    }
    if (v.json && v.quiet) throw new UsageError('demo: --json and --quiet exclude each other');
    const mode: OutputMode = v.json ? 'json' : v.quiet ? 'quiet' : 'text';
    const flows = flow === 'all' ? FLOW_NAMES : [flow as FlowName];
    if (v.diagram !== undefined && typeof v.diagram !== 'string') throw new UsageError('demo: --diagram needs a file name');
    const diagrams = typeof v.diagram === 'string' ? diagramPaths(v.diagram, flows) : undefined;
    for (const p of diagrams?.values() ?? []) assertWritable(p);
    if (v['diagram-window'] !== undefined && !diagrams) throw new UsageError('demo: --diagram-window goes with --diagram');
    const diagramWindow = typeof v['diagram-window'] === 'string' ? parseWindow(v['diagram-window']) : undefined;
    const ac = new AbortController();
    // `ntss demo | head`: a closed stdout stops the demo like Ctrl-C, cleanly, not with a crash.
    let broken = false;
    const onStdoutError = () => {
      broken = true;
      ac.abort();
    };
    process.stdout.on('error', onStdoutError); // kept to the end: a late EPIPE must stay handled
    const printer = new Printer({
      mode,
      color: mode !== 'json' && wantColor(process.stdout, process.env),
      write: (line) => {
        if (!broken) process.stdout.write(line + '\n');
      },
    });
    let signals = 0;
    const onSignal = () => {
      // The first Ctrl-C cleans up; a second one means "now".
      if (++signals > 1) process.exit(EXIT_INTERRUPTED);
      ac.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      return await runDemo({ flows, printer, signal: ac.signal, diagrams, diagramWindow });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
