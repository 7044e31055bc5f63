// Zone persistence in SQLite. Every commit is one transaction, durable before it returns
// (WAL + synchronous=FULL), so an update acknowledged to a client survives kill -9 or power loss.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { RRType } from '../dns/constants.js';
import { canonicalName } from '../dns/name.js';
import { decodeRdata, encodeRdata } from '../dns/rdata-canonical.js';
import type { ResourceRecord } from '../dns/types.js';
import { Zone, type ZoneChangeset } from '../dns/zone.js';

const SCHEMA_VERSION = 1;

// rdata: uncompressed wire form with the case it was given (what is served back);
// rdata_key: RFC 4034 6.2 canonical form (lowercased names), what identifies the RR.
const SCHEMA_V1 = `
  CREATE TABLE zones (
    origin TEXT PRIMARY KEY,          -- canonical name
    class INTEGER NOT NULL,
    serial INTEGER NOT NULL
  );
  CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    zone TEXT NOT NULL REFERENCES zones(origin) ON DELETE CASCADE,
    owner TEXT NOT NULL,              -- as received
    owner_key TEXT NOT NULL,          -- canonical
    type INTEGER NOT NULL,
    class INTEGER NOT NULL,
    ttl INTEGER NOT NULL,
    rdata BLOB NOT NULL,
    rdata_key BLOB NOT NULL,
    UNIQUE (zone, owner_key, type, rdata_key)
  );
`;

interface RecordRow { owner: string; type: number; class: number; ttl: number; rdata: Buffer }

export class ZoneStore {
  private readonly st;
  private closed = false;

  private constructor(private readonly db: Database.Database, readonly path: string) {
    this.st = {
      zone: db.prepare<[string], { serial: number }>('SELECT serial FROM zones WHERE origin = ?'),
      origins: db.prepare<[], { origin: string }>('SELECT origin FROM zones ORDER BY origin'),
      addZone: db.prepare('INSERT INTO zones (origin, class, serial) VALUES (?, ?, ?)'),
      setSerial: db.prepare('UPDATE zones SET serial = ? WHERE origin = ?'),
      records: db.prepare<[string], RecordRow>('SELECT owner, type, class, ttl, rdata FROM records WHERE zone = ? ORDER BY id'),
      insert: db.prepare('INSERT INTO records (zone, owner, owner_key, type, class, ttl, rdata, rdata_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      remove: db.prepare('DELETE FROM records WHERE zone = ? AND owner_key = ? AND type = ? AND rdata_key = ?'),
      removeType: db.prepare('DELETE FROM records WHERE zone = ? AND owner_key = ? AND type = ?'),
      lastSigned: db.prepare<[], { key: string; time: number }>('SELECT key, time FROM tsig_last_signed'),
      setLastSigned: db.prepare('INSERT INTO tsig_last_signed (key, time) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET time = max(time, excluded.time)'),
    };
  }

  /** Opens (creating the file, its directory and the schema as needed). Throws naming the path. */
  static open(path: string): ZoneStore {
    let db: Database.Database | undefined;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new Database(path, { timeout: 0 });
      // One writer process per store: a second server on the same file fails at start, not
      // later with interleaved serials. (EXCLUSIVE also lets WAL work without shared memory.)
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL'); // fsync at every commit: commit() returning means on disk
      db.pragma('foreign_keys = ON');
      migrate(db); // takes the exclusive lock at once (busy_timeout 0: fail fast if held)
      db.pragma('busy_timeout = 5000');
      return new ZoneStore(db, path);
    } catch (e) {
      db?.close();
      const busy = (e as { code?: string }).code === 'SQLITE_BUSY';
      const why = busy ? 'it is in use by another process (another ntss server on the same storage?)' : (e as Error).message;
      throw new Error(`cannot open zone store ${path}: ${why}`, { cause: e });
    }
  }

  /** The zone's records, or undefined when the store does not hold that zone. */
  loadZone(origin: string): ResourceRecord[] | undefined {
    const key = canonicalName(origin);
    if (!this.st.zone.get(key)) return undefined;
    return this.st.records.all(key).map((r) => ({
      name: r.owner, type: r.type, class: r.class, ttl: r.ttl, rdata: decodeRdata(r.type, r.rdata),
    }));
  }

  /** SOA serial of the stored zone. */
  serial(origin: string): number | undefined {
    return this.st.zone.get(canonicalName(origin))?.serial;
  }

  origins(): string[] {
    return this.st.origins.all().map((r) => r.origin);
  }

  /**
   * Stores the initial records of a zone the store does not hold yet; returns false (and writes
   * nothing) when it already holds it, so restarts never overwrite updated data with the seed.
   * Throws if the records do not form a valid zone (see Zone.fromRecords).
   */
  seedZone(origin: string, records: Iterable<ResourceRecord>): boolean {
    const zone = Zone.fromRecords(origin, records); // validates and collapses duplicates
    return this.db.transaction(() => {
      if (this.st.zone.get(zone.origin)) return false;
      this.st.addZone.run(zone.origin, zone.zclass, zone.serial());
      for (const rr of zone.all()) this.insert(zone.origin, rr);
      return true;
    }).immediate();
  }

  /**
   * Writes one changeset from evaluateUpdate in a single transaction: all of it or nothing.
   * Throws (rolling back) if the store does not match what the changeset was computed against.
   */
  commit(origin: string, changes: ZoneChangeset): void {
    const key = canonicalName(origin);
    this.db.transaction(() => {
      const z = this.st.zone.get(key);
      if (!z) throw new Error(`zone ${key} is not in the store`);
      if (z.serial !== changes.previousSerial) {
        throw new Error(`zone ${key}: store serial ${z.serial} is not the expected ${changes.previousSerial}`);
      }
      for (const rr of changes.deletes) {
        const r = this.st.remove.run(key, canonicalName(rr.name), rr.type, encodeRdata(rr.type, rr.rdata, true));
        if (r.changes !== 1) throw new Error(`zone ${key}: record to delete is not stored: ${rr.name} type ${rr.type}`);
      }
      for (const rr of changes.adds) this.insert(key, rr);
      const soa = changes.soa;
      if (soa.rdata.kind !== 'SOA' || canonicalName(soa.name) !== key) throw new Error(`zone ${key}: changeset SOA is not the apex SOA`);
      this.st.removeType.run(key, key, RRType.SOA);
      this.insert(key, soa);
      this.st.setSerial.run(soa.rdata.serial, key);
    }).immediate();
  }

  /** RFC 8945 5.2.3 last Time Signed per key, as written by setLastSigned (dns/tsig-replay.ts). */
  lastSigned(): Array<[string, number]> {
    return this.st.lastSigned.all().map((r) => [r.key, r.time]);
  }

  /** Durable before it returns, like a commit: a restart must not accept an older message again. */
  setLastSigned(keyName: string, timeSigned: number): void {
    this.st.setLastSigned.run(keyName, timeSigned);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private insert(zone: string, rr: ResourceRecord): void {
    this.st.insert.run(zone, rr.name, canonicalName(rr.name), rr.type, rr.class, rr.ttl,
      encodeRdata(rr.type, rr.rdata), encodeRdata(rr.type, rr.rdata, true));
  }
}

/** Creates the schema in a new file; refuses files written by a newer schema. */
function migrate(db: Database.Database): void {
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = db.prepare<[], { version: number }>('SELECT version FROM schema_version').get();
    if (!row) {
      db.exec(SCHEMA_V1);
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
    } else if (row.version > SCHEMA_VERSION) {
      throw new Error(`schema version ${row.version} is newer than this ntss supports (${SCHEMA_VERSION})`);
    }
    // Added after v1 without a version step: an older ntss ignores the table, a newer one adds it.
    db.exec('CREATE TABLE IF NOT EXISTS tsig_last_signed (key TEXT PRIMARY KEY, time INTEGER NOT NULL)');
  }).immediate();
}
