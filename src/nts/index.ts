// Public surface of the NTS protocol module (docs/protocol.md).
export * from './messages.js';
export { computeMac, decodeBody, decodeFrame, decodeMessage, encodeMessage, type NtsFrame } from './codec.js';
export { NtsVerifier, type KeyLookup, type VerifierCounters, type VerifierOptions, type VerifyResult } from './auth.js';
export {
  NtsClientCore, type ClientCounters, type ClientDrop, type ClientEvent, type NtsClientOptions, type NtsRequestParams,
  type PollResult,
} from './client.js';
export {
  NtsServerCore, parseRequestId, requestIdOf, type IncomingRequest, type NtsServerOptions, type Peer,
  type ServerCounters, type ServerDrop, type ServerEvent,
} from './server.js';
export { NtsUdpClient, type NtsRequestFields, type NtsResult, type NtsUdpClientOptions } from './udp-client.js';
export { NtsUdpServer, type NtsUdpServerOptions } from './udp-server.js';
