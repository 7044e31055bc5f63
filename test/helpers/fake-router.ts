// A stand-in NTS router on 127.0.0.1 for server tests: answers every authenticated request
// READY with the given address (or as `answer` decides), and records what it was asked.
import { NtsUdpServer, type IncomingRequest, type NtsResponse } from '../../src/nts/index.js';

export const FAKE_ROUTER_KEY = 'bnRzLXJvdXRlci1rZXktZm9yLWd3MS1leGFtcGxlLW9ubHk=';

export interface FakeRouter {
  port: number;
  requests: IncomingRequest[];
  /** The server config's routers[] entry for this router. */
  entry(addresses: string[]): { id: string; addresses: string[]; nts: string; key: string };
  /** Answers a request `answer` left unanswered (a held request). */
  respond(requestId: string, r: NtsResponse): void;
  close(): Promise<void>;
}

export async function startFakeRouter(answer: (req: IncomingRequest) => NtsResponse | undefined, id = 'gw1'): Promise<FakeRouter> {
  const requests: IncomingRequest[] = [];
  const secret = Buffer.from(FAKE_ROUTER_KEY, 'base64');
  const srv: NtsUdpServer = await NtsUdpServer.open({
    host: '127.0.0.1', port: 0, keys: (k) => (k === id ? secret : undefined),
    onRequest: (req) => {
      requests.push(req);
      const r = answer(req);
      if (r) srv.respond(req.requestId, r);
    },
  });
  const port = srv.address().port;
  return {
    port, requests,
    entry: (addresses) => ({ id, addresses, nts: `127.0.0.1:${port}`, key: FAKE_ROUTER_KEY }),
    respond: (requestId, r) => srv.respond(requestId, r),
    close: () => srv.close(),
  };
}

/** READY with `address`, RC ids counting up. */
export function readyWith(address: string): (req: IncomingRequest) => NtsResponse {
  let rc = 0;
  return () => ({ status: 'READY', answerAddress: address, rcId: ++rc, rcLifetimeMs: 3000 });
}
