import { loadServerConfig } from '../config/server-config.js';
import { startServer } from '../server/server.js';
import { DAEMON_USAGE, daemonOptions, runDaemon } from './daemon.js';
import type { Command } from './main.js';

export const serverCommand: Command = {
  summary: 'run the NTSv2 server: authoritative DNS + RFC 2136 updates with TSIG + NTS requests to the routers',
  usage: DAEMON_USAGE,
  options: daemonOptions('debug (every query), info (default), warn, error'),
  run: (v) => runDaemon('server', v, async (config, log) => {
    const s = await startServer(loadServerConfig(config), log);
    return { counters: s.counters, close: () => s.close(), reload: () => s.reload(loadServerConfig(config)) };
  }),
};
