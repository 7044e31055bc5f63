// A systemd unit file as data: sections of key -> values, in order (systemd.syntax(7): "#"/";"
// comments, "[Section]" headers, "Key=value", a trailing "\" continues the line, a key may repeat).
// Enough to check what our unit files promise; `systemd-analyze verify` checks the rest.
import { readFileSync } from 'node:fs';

export type UnitFile = Map<string, Map<string, string[]>>;

export function parseUnitFile(text: string, file = '(unit)'): UnitFile {
  const unit: UnitFile = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i].trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      if (unit.has(header[1])) throw new Error(`${file}:${i + 1}: section [${header[1]}] twice`);
      section = new Map();
      unit.set(header[1], section);
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*)$/.exec(line);
    if (!kv) throw new Error(`${file}:${i + 1}: not "Key=value": ${line}`);
    if (!section) throw new Error(`${file}:${i + 1}: ${kv[1]}= before any [Section]`);
    section.set(kv[1], [...(section.get(kv[1]) ?? []), kv[2]]);
  }
  return unit;
}

export function readUnitFile(path: string): UnitFile {
  return parseUnitFile(readFileSync(path, 'utf8'), path);
}

/** The value that counts: the last assignment (systemd's rule for single-valued keys). */
export function unitValue(u: UnitFile, section: string, key: string): string | undefined {
  return u.get(section)?.get(key)?.at(-1);
}

/** A list-valued key (capabilities, address families): every assignment, split on spaces; an empty assignment resets the list. */
export function unitList(u: UnitFile, section: string, key: string): string[] {
  let out: string[] = [];
  for (const v of u.get(section)?.get(key) ?? []) out = v === '' ? [] : [...out, ...v.split(/\s+/).filter(Boolean)];
  return out;
}

/** A capability list as /proc/PID/status shows it (CapEff:, CapBnd: ...): 16 hex digits. Only the capabilities our units name. */
export function capabilityMask(caps: readonly string[]): string {
  const bit: Record<string, number> = { CAP_NET_BIND_SERVICE: 10, CAP_NET_ADMIN: 12 };
  return caps.reduce((a, c) => {
    if (bit[c] === undefined) throw new Error(`capabilityMask: unknown capability ${c}`);
    return a | (1n << BigInt(bit[c]));
  }, 0n).toString(16).padStart(16, '0');
}
