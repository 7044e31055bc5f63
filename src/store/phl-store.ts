// The router's learned PHL entries in SQLite, so they survive restarts. Configured entries are
// not stored: they come from the configuration at every start. Also the lease horizon: a time
// by which every answer lease the router granted has ended (docs/leases.md), so a restarted
// router gives no address away while an answer naming it may still be used.
// Same settings as the zone store (WAL, synchronous=FULL, exclusive lock): save() returning
// means on disk, and a second router on the same file fails at start.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

const SCHEMA_VERSION = 2;

const SCHEMA_V1 = `
  CREATE TABLE learned (
    fqdn TEXT PRIMARY KEY,            -- canonical: lowercase, trailing dot
    address TEXT NOT NULL,
    learned_at INTEGER NOT NULL       -- ms since the epoch, the router's clock
  );
`;

const SCHEMA_V2 = `
  CREATE TABLE lease_horizon (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    until INTEGER NOT NULL            -- ms since the epoch: every lease granted ends by then
  );
`;

export interface StoredPhlEntry {
  fqdn: string;
  address: string;
  learnedAt: number;
}

/** What loadInto needs of a PrivateHostList (kept narrow so this file does not import the router). */
export interface LearnTarget {
  learn(nowMs: number, fqdn: string, address: string): unknown;
}

export class PhlStore {
  private readonly st;
  private closed = false;

  private constructor(private readonly db: Database.Database, readonly path: string) {
    this.st = {
      all: db.prepare<[], { fqdn: string; address: string; learned_at: number }>('SELECT fqdn, address, learned_at FROM learned ORDER BY fqdn'),
      put: db.prepare('INSERT INTO learned (fqdn, address, learned_at) VALUES (?, ?, ?) ON CONFLICT (fqdn) DO UPDATE SET address = excluded.address, learned_at = excluded.learned_at'),
      remove: db.prepare('DELETE FROM learned WHERE fqdn = ?'),
      horizon: db.prepare<[], { until: number }>('SELECT until FROM lease_horizon WHERE id = 1'),
      setHorizon: db.prepare('INSERT INTO lease_horizon (id, until) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET until = excluded.until'),
    };
  }

  /** Opens (creating the file, its directory and the schema as needed). Throws naming the path. */
  static open(path: string): PhlStore {
    let db: Database.Database | undefined;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new Database(path, { timeout: 0 }); // better-sqlite3 waits 5 s by default; a held lock should fail at once
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      migrate(db); // takes the exclusive lock at once (busy_timeout 0: fail fast if held)
      db.pragma('busy_timeout = 5000');
      return new PhlStore(db, path);
    } catch (e) {
      db?.close();
      const busy = (e as { code?: string }).code === 'SQLITE_BUSY';
      const why = busy ? 'it is in use by another process (another ntss router on the same storage?)' : (e as Error).message;
      throw new Error(`cannot open PHL store ${path}: ${why}`, { cause: e });
    }
  }

  all(): StoredPhlEntry[] {
    return this.st.all.all().map((r) => ({ fqdn: r.fqdn, address: r.address, learnedAt: r.learned_at }));
  }

  /**
   * Feeds the stored entries to the PHL with their original learnedAt (so an age-based cleanup
   * still sees how old they are). A row the PHL refuses is skipped and reported, not fatal.
   */
  loadInto(phl: LearnTarget): { loaded: number; skipped: { fqdn: string; error: string }[] } {
    const skipped: { fqdn: string; error: string }[] = [];
    let loaded = 0;
    for (const e of this.all()) {
      try {
        phl.learn(e.learnedAt, e.fqdn, e.address);
        loaded++;
      } catch (err) {
        skipped.push({ fqdn: e.fqdn, error: (err as Error).message });
      }
    }
    return { loaded, skipped };
  }

  /** Inserts or replaces a name's learned entry; durable when it returns. */
  save(fqdn: string, address: string, learnedAt: number): void {
    this.st.put.run(fqdn, address, Math.trunc(learnedAt));
  }

  /** Returns true when the name had a stored entry. */
  remove(fqdn: string): boolean {
    return this.st.remove.run(fqdn).changes > 0;
  }

  /** When every lease granted so far has ended (0: none was ever recorded). */
  leaseHorizon(): number {
    return this.st.horizon.get()?.until ?? 0;
  }

  /** Durable when it returns (synchronous=FULL). */
  setLeaseHorizon(until: number): void {
    this.st.setHorizon.run(Math.ceil(until));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

/** Creates the schema in a new file; refuses files written by a newer schema or another program. */
function migrate(db: Database.Database): void {
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS phl_schema_version (version INTEGER NOT NULL)');
    const row = db.prepare<[], { version: number }>('SELECT version FROM phl_schema_version').get();
    if (!row) {
      db.exec(SCHEMA_V1);
      db.exec(SCHEMA_V2);
      db.prepare('INSERT INTO phl_schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
    } else if (row.version > SCHEMA_VERSION) {
      throw new Error(`PHL schema version ${row.version} is newer than this ntss supports (${SCHEMA_VERSION})`);
    } else if (row.version === 1) {
      db.exec(SCHEMA_V2);
      db.prepare('UPDATE phl_schema_version SET version = ?').run(SCHEMA_VERSION);
    }
  }).immediate();
}
