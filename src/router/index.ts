// The router core's public surface: PHL, RC scheduler, mapping table, their data types.
export { PrivateHostList, canonicalFqdn, type PhlEntry, type PhlSource } from './phl.js';
export { RcScheduler, type PacketResult } from './scheduler.js';
export { resolveSchedulerConfig, SCHEDULER_DEFAULTS, type SchedulerConfig, type ResolvedSchedulerConfig } from './config.js';
export { MappingTable, flowKey, type FlowKey } from './mappings.js';
export { formatEvent } from './trace.js';
export type { RouterEvent, RouterEventType, RespondEvent, RespondReady, RespondRejected, RejectReason } from './events.js';
export type { NtsRequest, FirstPacket, Rc, RcMode, Mapping, Proto, ResponseStatus, Lease, Sticky } from './types.js';
export { ANY_SOURCE, ALL_SERVICES, formatClaimKey, formatService, keysOverlap, parseService, type ClaimKey, type Service } from './claims.js';
