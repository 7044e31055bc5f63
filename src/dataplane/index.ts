// Public surface of the data planes: one interface (types.ts), a userspace relay, a simulated
// plane; the nftables (kernel) plane comes in a later release.
export { parsePortSpec, formatPortSpec, type ClassifyFirstPacket, type DataPlane, type DataPlaneMappingEvent, type PortSpec } from './types.js';
export { UserspaceDataPlane, USERSPACE_DEFAULTS, type UserspaceOptions } from './userspace.js';
export { SimulatedDataPlane } from './simulated.js';
export { DataPlaneError, listenError } from './errors.js';
export { encodeProxyV2, decodeProxyV2, PROXY_V2_SIGNATURE, type ProxyAddresses, type ProxyDecodeResult } from './proxy-protocol.js';
