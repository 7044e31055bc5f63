// The head of a `tcpdump -n -tt` line, shared by the diagrams' and the latency stages' parsers:
//   1796150266.608790 IP 198.51.100.11.43526 > 198.51.100.53.53: <rest>
//   1796150266.608790 eth0  In  IP ...          (with -i any: interface and direction)

export interface TcpdumpHead {
  /** Epoch ms (the capture's kernel stamp, µs precision). */
  t: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  /** Everything after "src > dst: ". */
  rest: string;
}

const HEAD = /^(\d+\.\d+)\s+(?:\S+\s+(?:In|Out|P|M|B|H)\s+)?IP6?\s+(\S+)\.(\d+) > (\S+)\.(\d+): (.*)$/;

export function parseTcpdumpHead(line: string): TcpdumpHead | undefined {
  const m = HEAD.exec(line.trim());
  return m ? { t: Number(m[1]) * 1000, src: m[2]!, sport: Number(m[3]), dst: m[4]!, dport: Number(m[5]), rest: m[6]! } : undefined;
}
