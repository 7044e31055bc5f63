import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { Opcode, RRClass, RRType } from '../src/dns/constants.js';
import { parseRecord } from '../src/dns/presentation.js';
import { newMessage, type ResourceRecord } from '../src/dns/types.js';
import { applyChangeset, evaluateUpdate } from '../src/dns/update.js';
import { Zone, type ZoneChangeset } from '../src/dns/zone.js';
import { ZoneStore } from '../src/store/zone-store.js';

const dir = mkdtempSync(join(tmpdir(), 'ntss-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `case${++n}`, 'nested', 'zone.db');

const rr = (s: string): ResourceRecord => parseRecord(s);
const SEED = [
  'Example.COM. 3600 IN SOA NS1.example.com. hostmaster.example.com. 7 7200 900 1209600 300',
  'example.com. 3600 IN NS NS1.Example.Com.',
  'ns1.example.com. 300 IN A 192.0.2.1',
  'WWW.example.com. 300 IN AAAA 2001:db8::10',
  'www.example.com. 300 IN TXT "Case Kept" "two"',
  'mail.example.com. 300 IN MX 10 Mx.Example.com.',
  '_sip._udp.example.com. 300 IN SRV 1 2 5060 Sip.example.com.',
  'alias.example.com. 300 IN CNAME www.example.com.',
  'opaque.example.com. 300 IN TYPE65280 \\# 2 abcd',
].map(rr);

/** Order-independent picture of a record list (owner and RDATA case included). */
const picture = (rrs: ResourceRecord[]): string[] =>
  rrs.map((r) => `${r.name} ${r.ttl} ${r.class} ${r.type} ${JSON.stringify(r.rdata)}`).sort();

function update(zone: Zone, ...lines: string[]): ZoneChangeset {
  const msg = newMessage({
    opcode: Opcode.UPDATE,
    question: [{ name: zone.origin, type: RRType.SOA, class: RRClass.IN }],
    authority: lines.map(rr),
  });
  const res = evaluateUpdate(zone, msg, () => true);
  assert.ok(res.changes, res.detail);
  return res.changes;
}

test('seed, load, reopen: records come back exactly, case included', () => {
  const path = freshPath();
  const s = ZoneStore.open(path);
  assert.equal(s.loadZone('example.com.'), undefined);
  assert.equal(s.seedZone('example.com', SEED), true);
  assert.equal(s.seedZone('example.com.', [SEED[0], SEED[1]]), false, 'never re-seeds');
  assert.deepEqual(picture(s.loadZone('EXAMPLE.com.')!), picture(SEED));
  assert.equal(s.serial('example.com.'), 7);
  assert.deepEqual(s.origins(), ['example.com.']);
  s.close();
  s.close(); // idempotent
  const again = ZoneStore.open(path);
  assert.deepEqual(picture(again.loadZone('example.com.')!), picture(SEED));
  assert.equal(again.serial('example.com.'), 7);
  again.close();
  const raw = new Database(path, { readonly: true });
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(raw.prepare('SELECT version FROM schema_version').pluck().get(), 1);
  raw.close();
});

test('seedZone rejects records that are not a zone, writing nothing', () => {
  const s = ZoneStore.open(freshPath());
  assert.throws(() => s.seedZone('example.com.', SEED.slice(1)), /no SOA/);
  assert.equal(s.loadZone('example.com.'), undefined);
  s.close();
});

test('committed updates survive a reopen and match the in-memory zone', () => {
  const path = freshPath();
  const s = ZoneStore.open(path);
  s.seedZone('example.com.', SEED);
  const zone = Zone.fromRecords('example.com.', s.loadZone('example.com.')!);
  for (const lines of [
    ['new.example.com. 60 IN A 192.0.2.50', 'www.example.com. 0 ANY TXT'],
    ['www.example.com. 30 IN AAAA 2001:db8::11'], // retimes the set: deletes + adds
    ['alias.example.com. 0 ANY ANY', 'example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 1000 1 1 1 1'],
    ['new.example.com. 0 NONE A 192.0.2.50', 'Upper.Example.com. 60 IN NS Target.Example.net.'],
  ]) {
    const ch = update(zone, ...lines);
    s.commit('example.com.', ch);
    applyChangeset(zone, ch);
  }
  assert.equal(zone.serial(), 1001);
  s.close();
  const again = ZoneStore.open(path);
  const loaded = again.loadZone('example.com.')!;
  assert.deepEqual(picture(loaded), picture(zone.all()));
  assert.equal(again.serial('example.com.'), 1001);
  assert.equal(Zone.fromRecords('example.com.', loaded).serial(), 1001);
  again.close();
});

test('a commit that fails halfway leaves nothing behind', () => {
  const s = ZoneStore.open(freshPath());
  s.seedZone('example.com.', SEED);
  const zone = Zone.fromRecords('example.com.', s.loadZone('example.com.')!);
  const before = picture(s.loadZone('example.com.')!);
  const good = update(zone, 'ns1.example.com. 0 ANY A', 'x.example.com. 60 IN A 192.0.2.9');
  // The first delete succeeds inside the transaction, the second cannot: everything rolls back.
  const missing = { ...good, deletes: [...good.deletes, rr('ghost.example.com. 60 IN A 192.0.2.8')] };
  assert.throws(() => s.commit('example.com.', missing), /not stored/);
  // A duplicate add violates the unique index after the deletes ran.
  const dup = { ...good, adds: [...good.adds, rr('www.example.com. 300 IN AAAA 2001:DB8::10')] };
  assert.throws(() => s.commit('example.com.', dup), /UNIQUE/);
  assert.throws(() => s.commit('example.com.', { ...good, previousSerial: 6 }), /serial 7 is not the expected 6/);
  assert.throws(() => s.commit('example.net.', good), /not in the store/);
  assert.deepEqual(picture(s.loadZone('example.com.')!), before);
  assert.equal(s.serial('example.com.'), 7);
  s.commit('example.com.', good); // the intact changeset still applies
  assert.equal(s.serial('example.com.'), 8);
  s.close();
});

test('open errors name the path', () => {
  const asDir = join(dir, 'is-a-dir');
  ZoneStore.open(join(asDir, 'x.db')).close();
  assert.throws(() => ZoneStore.open(asDir), (e: Error) => e.message.includes(asDir));
  const file = join(dir, 'not-a-db');
  writeFileSync(file, 'this is not an SQLite database, not even close'.repeat(100));
  assert.throws(() => ZoneStore.open(file), (e: Error) => e.message.startsWith(`cannot open zone store ${file}:`));
  assert.throws(() => ZoneStore.open(join(file, 'below-a-file.db')), (e: Error) => e.message.includes('below-a-file.db'));
  const newer = freshPath();
  ZoneStore.open(newer).close();
  const raw = new Database(newer);
  raw.prepare('UPDATE schema_version SET version = 99').run();
  raw.close();
  assert.throws(() => ZoneStore.open(newer), /schema version 99 is newer/);
});

// ---- kill -9: every commit() that returned must be on disk, and no commit may be half there.

const PER_CHANGE = 12; // records added by change i; change i+1 deletes one of them

const WRITER = `
import { writeSync } from 'node:fs';
const { ZoneStore } = await import(process.argv[2]);
const store = ZoneStore.open(process.argv[3]);
const origin = 'example.com.';
const soa = (serial) => ({ name: origin, type: 6, class: 1, ttl: 3600,
  rdata: { kind: 'SOA', mname: 'ns1.example.com.', rname: 'h.example.com.', serial, refresh: 1, retry: 1, expire: 1, minimum: 1 } });
const txt = (i, k) => ({ name: 'c' + i + '.example.com.', type: 16, class: 1, ttl: 60,
  rdata: { kind: 'TXT', strings: [Buffer.from(i + '-' + k + '-' + 'x'.repeat(200))] } });
for (let i = store.serial(origin) + 1; ; i++) {
  const adds = [];
  for (let k = 0; k < ${PER_CHANGE}; k++) adds.push(txt(i, k));
  store.commit(origin, { deletes: i > 1 ? [txt(i - 1, 0)] : [], adds, soa: soa(i), previousSerial: i - 1, baseVersion: 0 });
  writeSync(1, i + '\\n');
}
`;

/** Runs the writer until a random moment after its first commit, SIGKILLs it, returns the numbers it printed. */
function runAndKill(script: string, dbPath: string): Promise<number[]> {
  const storeUrl = new URL('../src/store/zone-store.js', import.meta.url).href;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, storeUrl, dbPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let armed = false;
    const guard = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`writer made no progress: ${err}`)); }, 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!armed) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 250));
      }
    });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited ${code}: ${err}`));
      resolve(out.split('\n').filter((l) => l !== '').map(Number));
    });
  });
}

test('kill -9 during commits loses no acknowledged change and tears none', async () => {
  const dbPath = freshPath();
  const seed = ZoneStore.open(dbPath);
  seed.seedZone('example.com.', [
    rr('example.com. 3600 IN SOA ns1.example.com. h.example.com. 0 1 1 1 1'),
    rr('example.com. 3600 IN NS ns1.example.com.'),
  ]);
  seed.close();
  const script = join(dir, 'writer.mjs');
  writeFileSync(script, WRITER);

  let total = 0;
  for (let round = 0; round < 5; round++) {
    const printed = await runAndKill(script, dbPath);
    assert.ok(printed.length > 0);
    const last = printed[printed.length - 1];
    total += printed.length;

    const s = ZoneStore.open(dbPath); // recovers the WAL
    const serial = s.serial('example.com.')!;
    const records = s.loadZone('example.com.')!;
    s.close();
    // Every acknowledged change is there; at most one more committed before its number got out.
    assert.ok(serial >= last && serial <= last + 1, `round ${round}: serial ${serial}, last printed ${last}`);
    const perOwner = new Map<string, number>();
    for (const r of records) if (r.type === RRType.TXT) perOwner.set(r.name, (perOwner.get(r.name) ?? 0) + 1);
    for (let i = 1; i <= serial; i++) {
      const want = i === serial ? PER_CHANGE : PER_CHANGE - 1;
      assert.equal(perOwner.get(`c${i}.example.com.`), want, `round ${round}: change ${i} incomplete`);
    }
    assert.equal(perOwner.size, serial, `round ${round}: records of an uncommitted change present`);
    assert.equal(records.length, 2 + serial * (PER_CHANGE - 1) + 1);
    assert.equal(Zone.fromRecords('example.com.', records).serial(), serial);
  }
  assert.ok(total > 5);
  assert.ok(existsSync(dbPath));
});
