#!/usr/bin/env node
// The one entry point: `ntss <command> [options]`. Parsing and config loading only; the work
// is done in the modules each command calls.
import { parseArgs } from 'node:util';
import { NtssError, UsageError } from '../util/errors.js';
import { demoCommand } from './demo-command.js';
import { labCommand } from './lab-command.js';
import { logsCommand } from './logs-command.js';
import { resolverCommand } from './resolver-command.js';
import { routerCommand } from './router-command.js';
import { serverCommand } from './server-command.js';
import { simulateCommand } from './simulate-command.js';
import { statusCommand } from './status-command.js';
import { versionCommand, versionLine } from './version.js';

export interface Command {
  summary: string;
  usage: string;
  options: Record<string, { type: 'string' | 'boolean'; short?: string; description: string }>;
  /** Takes positional arguments (`lab run NAME`, `lab exec HOST -- CMD`); run() gets them. */
  positionals?: boolean;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

const commands: Record<string, Command> = {
  server: serverCommand,
  router: routerCommand,
  resolver: resolverCommand,
  lab: labCommand,
  demo: demoCommand,
  status: statusCommand,
  logs: logsCommand,
  simulate: simulateCommand,
  version: versionCommand,
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return [
    'ntss - NAT Traversal Support System v2 (DNS-triggered NAT traversal)',
    '',
    'usage: ntss <command> [options]      ntss <command> --help      ntss --version',
    '',
    'commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

function commandHelp(name: string, c: Command): string {
  const lines = [`usage: ntss ${name} ${c.usage}`, '', c.summary, '', 'options:'];
  for (const [opt, o] of Object.entries(c.options)) {
    lines.push(`  --${opt}${o.type === 'string' ? ' VALUE' : ''}`.padEnd(26) + o.description);
  }
  lines.push('  --help'.padEnd(26) + 'show this help');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V') {
    console.log(versionLine());
    return 0;
  }
  const cmd = commands[name];
  if (!cmd) throw new UsageError(`unknown command "${name}" (commands: ${Object.keys(commands).join(', ')})`);
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const options = Object.fromEntries(Object.entries(cmd.options).map(([k, o]) => [k, o.short ? { type: o.type, short: o.short } : { type: o.type }]));
    ({ values, positionals } = parseArgs({ args: rest, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: cmd.positionals === true }));
  } catch (e) {
    throw new UsageError(`${name}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (values.help) {
    console.log(commandHelp(name, cmd));
    return 0;
  }
  return cmd.run(values, positionals);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    if (e instanceof UsageError) {
      console.error(`ntss: ${e.message}`);
      process.exitCode = 2;
    } else if (e instanceof NtssError || (e as { code?: string }).code) {
      console.error(`ntss: ${(e as Error).message}`);
      process.exitCode = 1;
    } else {
      console.error(e);
      process.exitCode = 1;
    }
  },
);
