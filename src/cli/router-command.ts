import { loadRouterConfig } from '../config/router-config.js';
import { startRouter } from '../routerd/index.js';
import { DAEMON_USAGE, daemonOptions, runDaemon } from './daemon.js';
import type { Command } from './main.js';

export const routerCommand: Command = {
  summary: 'run the NTS router: NTS protocol server, PHL, RC scheduler, data plane (userspace relay or nftables)',
  usage: DAEMON_USAGE,
  options: daemonOptions('debug (also retransmitted ids), info (default: every request, RC, mapping), warn, error'),
  run: (v) => runDaemon('router', v, async (config, log) => {
    const r = await startRouter(loadRouterConfig(config), log);
    return { counters: r.counters, close: () => r.close(), reload: () => r.reload(loadRouterConfig(config)) };
  }),
};
