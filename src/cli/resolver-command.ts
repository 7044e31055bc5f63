import { loadResolverConfig } from '../config/resolver-config.js';
import { startResolver } from '../resolver/resolver.js';
import { DAEMON_USAGE, daemonOptions, runDaemon } from './daemon.js';
import type { Command } from './main.js';

export const resolverCommand: Command = {
  summary: 'run the NTSS v1 NTS server: a caching forwarding resolver that asks the NTS router for an RC per EN before answering',
  usage: DAEMON_USAGE,
  options: daemonOptions('debug (every query), info (default), warn, error'),
  run: (v) => runDaemon('resolver', v, (config, log) => startResolver(loadResolverConfig(config), log)),
};
