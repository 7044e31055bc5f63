import { requestStatus } from '../control/socket.js';
import { UsageError } from '../util/errors.js';
import { formatStatus } from './status-format.js';
import type { Command } from './main.js';

export const statusCommand: Command = {
  summary: 'show a running router\'s or server\'s state (PHL, queue, RCs, leases, refusals, routers) from its control socket',
  usage: '--socket PATH [--json]',
  options: {
    socket: { type: 'string', short: 's', description: 'the daemon\'s control socket (its control.socket)' },
    json: { type: 'boolean', description: 'print the JSON the daemon answered' },
  },
  async run(v) {
    if (typeof v.socket !== 'string') throw new UsageError('status: --socket PATH is required (the control.socket of the daemon\'s config)');
    const s = await requestStatus(v.socket);
    console.log(v.json ? JSON.stringify(s, null, 2) : formatStatus(s));
    return 0;
  },
};
