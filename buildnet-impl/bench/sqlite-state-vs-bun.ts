// bun:sqlite running the same SQL as BuildNet's SqliteStateBackend under StateBenchmark.sqlite:
// ../../../shared/bench/sqlite-bench-state.ts with the two statements where it differed from
// what the backend runs, so that the ratio compares the two stacks and not two SQL shapes:
//
//   set          the upsert with the NULL expiry written into the statement (two bindings, as
//                SqliteStateBackend.set without a TTL), not a third binding of null
//   setAll 1000  BEGIN IMMEDIATE; upserts of 128 rows per statement, the rest in statements of
//                64, 32, ... rows (one per bit of its size), as SqliteStateBackend.setAll; COMMIT.
//                The shared script runs 1,000 one-row upserts, which costs bun:sqlite about 1.5x.
//                SHAPE=per-row brings that back.
//   lock         after the shared read of the lease: BEGIN IMMEDIATE; one upsert that checks the
//                lease, takes the next fencing token and grants it (RETURNING the token); one that
//                records the token; COMMIT, as SqliteStateBackend.acquireLock. The shared script
//                reads the lease again, upserts the token and grants in three statements.
//
// Everything else (schema, pragmas, data, get, release, timing) is the shared script's.
// CPU=1 reports CPU time per operation (process.cpuUsage) instead of wall time, for a loaded
// machine; ONLY=Get,Set,SetAll1000,LockAcquireRelease (the default) picks operations, and
// SetAll1000Spread adds one that really writes (see below). TEMP_STORE=MEMORY sets that pragma as
// SqliteStateBackend does (it changes nothing unless a statement changes more than 16 pages).
//
// Usage: bun run buildnet-impl/bench/sqlite-state-vs-bun.ts
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";

const dir = mkdtempSync(tmpdir() + "/anchor-bun-state-");
const file = dir + "/state.db";
const writer = new Database(file, { create: true, readwrite: true });
writer.exec("PRAGMA journal_mode = WAL");
writer.exec("PRAGMA synchronous = NORMAL");
writer.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
writer.exec("CREATE TABLE kv (key TEXT NOT NULL PRIMARY KEY, value BLOB NOT NULL, expires_at INTEGER) WITHOUT ROWID");
writer.exec("CREATE INDEX kv_expires_at ON kv (expires_at) WHERE expires_at IS NOT NULL");
writer.exec("CREATE TABLE locks (resource TEXT NOT NULL PRIMARY KEY, owner TEXT NOT NULL, token INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID");
writer.exec("CREATE TABLE fencing (resource TEXT NOT NULL PRIMARY KEY, last_token INTEGER NOT NULL) WITHOUT ROWID");
writer.exec("INSERT INTO schema_version (version) VALUES (1)");
if (process.env.TEMP_STORE) writer.exec("PRAGMA temp_store = " + process.env.TEMP_STORE);
const reader = new Database(file, { readwrite: true });
reader.exec("PRAGMA synchronous = NORMAL");

const LIVE = "(expires_at IS NULL OR expires_at > ?)";
const get = reader.prepare(`SELECT value FROM kv WHERE key = ? AND ${LIVE}`);
const UPSERT = " ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at";
const put = writer.prepare("INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?)" + UPSERT);
const putForever = writer.prepare("INSERT INTO kv (key, value, expires_at) VALUES (?, ?, NULL)" + UPSERT);
// putRows[i] stores 2^i rows, up to 128 (SqliteStateBackend.SET_ALL_ROWS).
const putRows = Array.from({ length: 8 }, (_, i) => writer.prepare("INSERT INTO kv (key, value, expires_at) VALUES "
  + Array(1 << i).fill("(?, ?, NULL)").join(", ") + UPSERT));
const PER_ROW = process.env.SHAPE === "per-row";
function putAll(entries: string[], v: Uint8Array = value) {
  if (PER_ROW) { for (const k of entries) put.run(k, v, null); return; }
  const args: unknown[] = [];
  for (const k of entries) {
    args.push(k, v);
    if (args.length === 256) { putRows[7].run(...args); args.length = 0; }
  }
  let from = 0;
  for (let i = 6; i >= 0; i--) {
    const width = 2 << i; // 2^i rows of two arguments each
    if (args.length - from >= width) { putRows[i].run(...args.slice(from, from + width)); from += width; }
  }
}
const leaseR = reader.prepare("SELECT owner, token, expires_at FROM locks WHERE resource = ?");
// SqliteStateBackend.GRANT and RECORD_TOKEN: the check of the lease, the next token and the grant
// in one statement, then the token recorded.
const grant = writer.prepare("INSERT INTO locks (resource, owner, token, expires_at)"
  + " VALUES (?1, ?2, coalesce((SELECT last_token FROM fencing WHERE resource = ?1), 0) + 1, ?3)"
  + " ON CONFLICT (resource) DO UPDATE SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at"
  + " WHERE locks.expires_at <= ?4 RETURNING token");
const recordToken = writer.prepare("INSERT INTO fencing (resource, last_token) VALUES (?, ?)"
  + " ON CONFLICT (resource) DO UPDATE SET last_token = excluded.last_token");
const release = writer.prepare("DELETE FROM locks WHERE resource = ? AND owner = ? AND token = ? AND expires_at > ?");

const KEYS = 10_000;
const keys: string[] = [];
for (let i = 0; i < KEYS; i++) keys.push("action/" + ((i * 2654435761) % 0x100000000).toString(16).padStart(8, "0"));
const value = new Uint8Array(64);
writer.exec("BEGIN IMMEDIATE");
for (const k of keys) put.run(k, value, null);
writer.exec("COMMIT");
const batch: string[] = [];
for (let i = 0; i < 1000; i++) batch.push("batch/" + i);

// Not in StateBenchmark (StateCpuHarness's setAll1000Spread): 1,000 of the 10,000 keys spread
// over the table, with a value that differs from the stored one, so that every call really
// writes; the operations above write the bytes already stored, which SQLite skips.
const changed = new Uint8Array(64);
changed[0] = 1;
const spread: [string[], Uint8Array][] = [];
for (let b = 0; b < 20; b++) spread.push([keys.filter((_, i) => i % 10 === b % 10), b < 10 ? value : changed]);
let spreadCall = 0;
let next = 0;
const nextKey = () => { next = (next + 1) % KEYS; return keys[next]; };

const ops: Record<string, () => unknown> = {
  sqliteGet: () => get.get(nextKey(), Date.now()),
  sqliteSet: () => (PER_ROW ? put.run(nextKey(), value, null) : putForever.run(nextKey(), value)),
  sqliteSetAll1000: () => {
    writer.exec("BEGIN IMMEDIATE");
    try { putAll(batch); writer.exec("COMMIT"); }
    catch (e) { writer.exec("ROLLBACK"); throw e; }
  },
  sqliteSetAll1000Spread: () => {
    const [entries, v] = spread[spreadCall++ % spread.length];
    writer.exec("BEGIN IMMEDIATE");
    try { putAll(entries, v); writer.exec("COMMIT"); }
    catch (e) { writer.exec("ROLLBACK"); throw e; }
  },
  sqliteLockAcquireRelease: () => {
    const seen = leaseR.get("bench") as { expires_at: number } | null;
    if (seen && seen.expires_at > Date.now()) throw new Error("lock held");
    writer.exec("BEGIN IMMEDIATE");
    let token: number;
    const now = Date.now();
    const ttlEnd = now + 60_000;
    try {
      const granted = grant.get("bench", "bench", ttlEnd, now) as { token: number } | null;
      if (!granted) throw new Error("lock held");
      token = granted.token;
      recordToken.run("bench", token);
      writer.exec("COMMIT");
    } catch (e) { writer.exec("ROLLBACK"); throw e; }
    if (release.run("bench", "bench", token, Date.now()).changes !== 1) throw new Error("not held");
  },
};

const WARM_S = Number(process.env.WARM_S ?? 1), ITER_S = Number(process.env.ITER_S ?? 2);
const ITERS = Number(process.env.ITERS ?? 5);
const CPU = process.env.CPU === "1";
const ONLY = (process.env.ONLY ?? "Get,Set,SetAll1000,LockAcquireRelease").split(",");
const cpuMicros = () => { const u = process.cpuUsage(); return u.user + u.system; };
// Runs op for `seconds` (of CPU time with CPU=1); returns µs (of CPU time) per op.
function iteration(op: () => unknown, seconds: number): number {
  let n = 0;
  if (CPU) {
    const c0 = cpuMicros();
    while (cpuMicros() - c0 < seconds * 1e6) { for (let i = 0; i < 16; i++) op(); n += 16; }
    return (cpuMicros() - c0) / n;
  }
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  let now = t0;
  while (now < end) { for (let i = 0; i < 16; i++) op(); n += 16; now = performance.now(); }
  return ((now - t0) * 1000) / n;
}
const out: Record<string, unknown> = { runtime: "bun " + Bun.version, unit: CPU ? "cpu us/op" : "us/op" };
for (const [name, op] of Object.entries(ops)) {
  if (!ONLY.includes(name.replace(/^sqlite/, ""))) continue;
  for (let w = 0; w < 3; w++) iteration(op, WARM_S);
  const xs: number[] = [];
  for (let i = 0; i < ITERS; i++) xs.push(iteration(op, ITER_S));
  xs.sort((a, b) => a - b);
  out[name] = { min: +xs[0].toFixed(3), median: +xs[xs.length >> 1].toFixed(3), max: +xs[xs.length - 1].toFixed(3) };
}
console.log(JSON.stringify(out));
reader.close(); writer.close();
rmSync(dir, { recursive: true, force: true });
