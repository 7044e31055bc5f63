// Public surface of the data planes: one interface (types.ts), a userspace relay, a simulated
// plane, the nftables (kernel) plane with its runners and their fakes.
export { parsePortSpec, formatPortSpec, type ClassifyFirstPacket, type DataPlane, type DataPlaneMappingEvent, type PortSpec } from './types.js';
export { UserspaceDataPlane, USERSPACE_DEFAULTS, type UserspaceOptions } from './userspace.js';
export { SimulatedDataPlane } from './simulated.js';
export { DataPlaneError, listenError } from './errors.js';
export { encodeProxyV2, decodeProxyV2, PROXY_V2_SIGNATURE, type ProxyAddresses, type ProxyDecodeResult } from './proxy-protocol.js';
export { NftablesDataPlane, NFTABLES_DEFAULTS, type NftablesOptions } from './nftables.js';
export { createNftablesDataPlane, nftablesOptions } from './nftables-config.js';
export { staticRuleset, installCommands, renderCommand, anyKey, formatKey, rcElementsFor, RC_HOST_MAP, RC_MAP, RC_ANY_MAP, type NftCommand, type RcKey, type RulesetOptions, type DnsRedirect } from './nft-ruleset.js';
export { NftProcess, runNftOnce, type NftRunner, type NftProcessOptions } from './nft-runner.js';
export { NftError, isNotFound, isAlreadyExists, classifyNftStderr, type NftErrorKind } from './nft-errors.js';
export { preflight, realHostProbe, type HostProbe } from './nft-preflight.js';
export { ConntrackTool } from './conntrack-tool.js';
export { parseConntrackLine, isDnat, type ConntrackRunner, type CtEntry, type CtFilter, type CtTuple } from './conntrack.js';
export { FakeNft, FakeConntrack, fakeHost, ctFlow } from './nft-fake.js';
