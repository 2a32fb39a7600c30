import pg from 'pg'
import type {
  AccessTokenRecord,
  AccessTokenStore,
  AuthorizationCodeRecord,
  AuthorizationCodeStore,
  ClientStore,
  CodeConsumption,
  ConsentStore,
  TokenCutoffStore,
  AuditEventRecord,
  AuditEventStore,
  DeviceCodeRecord,
  DeviceCodeStore,
  DeviceDecision,
  DeviceFlowStores,
  GrantStore,
  InteractionRecord,
  InteractionStore,
  PushedAuthorizationRequestRecord,
  PushedAuthorizationRequestStore,
  KeyStorage,
  RateLimitStore,
  RefreshTokenLookup,
  RefreshTokenRecord,
  RefreshTokenStore,
  ReplayStore,
  RotationOutcome,
  SessionRecord,
  SessionStore,
  SigningKeyRecord,
  Storage,
} from '../types.js'
import { decodeRecord, encodeRecord } from '../codec.js'
import { deviceCodeKeepUntil, storedKeyDigest } from '../policy.js'
import { StatementBatcher } from '../batch.js'
import { DEFAULT_TIMEOUT, prepared, run, runBefore, transaction, withDeadline, type PostgresPool, type Queryable } from './db.js'
import { HOW_TO_MIGRATE, translateError } from './errors.js'
import { migrate, schemaVersion, SchemaVersionError, type MigrationResult } from './migrate.js'
import { checkTablePrefix, SCHEMA_VERSION, TABLES } from './schema.js'
import { StorageNotMigratedError } from '../../errors.js'
import { postgresClients } from './clients.js'

export { schemaSql, SCHEMA_SQL, checkTablePrefix, SCHEMA_VERSION } from './schema.js'
export { migrate, schemaVersion, SchemaVersionError, type MigrationResult } from './migrate.js'
export { isUnavailable } from './errors.js'

export type { PostgresPool } from './db.js'

/** Options of `createPostgresStorage`. Durations are in seconds. */
export interface PostgresStorageOptions {
  /** A pool of your own (it stays yours to end). Either this or `connectionString`. */
  pool?: PostgresPool
  /** Where to connect, e.g. `postgres://user@host/db`: the storage creates and owns a pool (5 s connect timeout). */
  connectionString?: string
  /** Prefix of every table. Lower case, digits and `_`. Default `grantkit_`. */
  tablePrefix?: string
  /** Clock in seconds since the epoch, passed to every query that compares expiry. Default: the system clock. */
  now?: () => number
  /** Seconds between background `cleanup()` runs (an unref'd timer). Default: none; call `cleanup()` yourself. */
  cleanupInterval?: number
  /**
   * Seconds one storage call may take, waiting for a connection included (for
   * a transaction: all its statements); may be fractional. Past it the call
   * throws StorageUnavailableError (503 at the endpoints) and its connection
   * is destroyed, not reused. A pool the storage creates also gets it as the
   * server-side `statement_timeout`. `migrate()` is not bounded. Default 2.
   */
  timeout?: number
  /** Told about errors no caller waits for: failed background cleanups, idle connections that drop. Default: ignored. */
  onError?: (error: unknown) => void
}

/** PostgreSQL storage: every store, the shared signing keys, and housekeeping. */
export interface PostgresStorage extends Storage {
  deviceCodes: DeviceFlowStores['deviceCodes']
  keys: KeyStorage
  clients: ClientStore
  pushedAuthorizationRequests: PushedAuthorizationRequestStore
  /** The pool in use. */
  readonly pool: PostgresPool
  /** Applies the schema migrations this database lacks, one at a time under an advisory lock; see `migrate`. */
  migrate(): Promise<MigrationResult>
  /**
   * Deletes the rows past keeping (expired records, and reuse tombstones,
   * revocations and device codes past their windows) in batches of 1000;
   * returns how many. Safe to run from several processes at once. Run it
   * periodically: with `cleanupInterval`, from a timer of your own or a cron
   * job (`grantkit serve` runs it every 10 minutes).
   */
  cleanup(): Promise<number>
  /**
   * One query: the schema version the tables are at. Throws
   * StorageUnavailableError when the database cannot be reached,
   * StorageNotMigratedError when `migrate()` has not brought them to
   * `SCHEMA_VERSION`, SchemaVersionError when a newer grantkit migrated them.
   */
  probe(): Promise<void>
  /** Stops the cleanup timer and ends the pool if the storage created it. */
  close(): Promise<void>
}

/** A record for a jsonb column, with its format version (codec.ts). */
const json = (record: object): string => encodeRecord(record)

/**
 * Replay and rate-limit keys carry client input (a jti, a username) that text
 * columns cannot always hold (NUL) or index (kilobytes): they are stored as
 * their digest (policy.ts), which keeps equality and bounds the size.
 */
const digest = storedKeyDigest

class Tables {
  constructor(private readonly prefix: string) {}
  name(table: (typeof TABLES)[number]): string {
    return this.prefix + table
  }
}

function accessTokens(pool: PostgresPool, t: Tables, now: () => number, timeoutMs: number): AccessTokenStore {
  const tokens = t.name('access_tokens')
  const cutoffs = t.name('token_cutoffs')
  const jtis = revocationSet(pool, t.name('revoked_jtis'), 'jti', now)
  // The hot statements, prepared once per connection, each taking a batch of calls (../batch.ts): one row per
  // token saved, one per token read. A batch that names one token twice fails as a whole (ON CONFLICT
  // cannot update a row twice in one statement) and its calls are then run one by one.
  const save = prepared(`INSERT INTO ${tokens} (token_hash, record, expires_at)
        SELECT * FROM unnest($1::text[], $2::jsonb[], $3::double precision[])
        ON CONFLICT (token_hash) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at`)
  const find = prepared(`SELECT record FROM ${tokens} WHERE token_hash = $1 AND expires_at > $2`)
  // The token row and the latest live cutoff of its three keys (src/tokens/cutoff.ts `cutoffKeys`) in one statement.
  // The consent key is 'consent:' || JSON.stringify([sub, clientId]): to_json(text)::text escapes a string as JSON.stringify
  // does (\" \\ \b \f \n \r \t, other control characters as \u00xx, everything else as is); the conformance kit checks it.
  const findWithCutoff = prepared(`SELECT a.token_hash, a.record, (SELECT max(c.cutoff) FROM ${cutoffs} c WHERE c.expires_at > $2 AND c.key IN (
          'client:' || (a.record->>'clientId'),
          'consent:[' || to_json(a.record->>'sub')::text || ',' || to_json(a.record->>'clientId')::text || ']',
          'sub:' || (a.record->>'sub'))) AS cutoff
        FROM ${tokens} a WHERE a.token_hash = ANY($1::text[]) AND a.expires_at > $2`)
  const saving = new StatementBatcher<AccessTokenRecord & { tokenHash: string }, void>(async (records, deadline) => {
    await runBefore(pool, deadline, save, [records.map((r) => r.tokenHash), records.map((r) => json(r)), records.map((r) => r.expiresAt)])
    return new Array<void>(records.length)
  }, timeoutMs, 'postgres')
  type Found = { record: AccessTokenRecord; cutoff: number | null } | null
  const reading = new StatementBatcher<string, Found>(async (hashes, deadline) => {
    const r = await runBefore<{ token_hash: string; record: AccessTokenRecord; cutoff: number | null }>(pool, deadline, findWithCutoff, [hashes, now()])
    const byHash = new Map(r.rows.map((row) => [row.token_hash, row]))
    return hashes.map((hash) => {
      const row = byHash.get(hash)
      return row === undefined ? null : { record: decodeRecord<AccessTokenRecord>('access token', row.record), cutoff: row.cutoff === null ? null : Number(row.cutoff) }
    })
  }, timeoutMs, 'postgres')
  return {
    save: (record: AccessTokenRecord & { tokenHash: string }) => saving.run(record),
    async find(tokenHash) {
      const r = await run<{ record: AccessTokenRecord }>(pool, find, [tokenHash, now()])
      const row = r.rows[0]
      return row === undefined ? null : decodeRecord<AccessTokenRecord>('access token', row.record)
    },
    findWithCutoff: (tokenHash) => reading.run(tokenHash),
    async revoke(tokenHash) {
      await run(pool, `DELETE FROM ${tokens} WHERE token_hash = $1`, [tokenHash])
    },
    revokeJti: jtis.revoke,
    isJtiRevoked: jtis.isRevoked,
  }
}

function authorizationCodes(pool: PostgresPool, t: Tables, now: () => number): AuthorizationCodeStore {
  const codes = t.name('authorization_codes')
  return {
    async save(record: AuthorizationCodeRecord) {
      await run(pool, `INSERT INTO ${codes} (code_hash, grant_id, record, consumed_at, expires_at) VALUES ($1, $2, $3, NULL, $4)
        ON CONFLICT (code_hash) DO UPDATE SET grant_id = EXCLUDED.grant_id, record = EXCLUDED.record, consumed_at = NULL, expires_at = EXCLUDED.expires_at`,
        [record.codeHash, record.grantId, json(record), record.expiresAt])
    },
    async consume(codeHash): Promise<CodeConsumption> {
      const at = now()
      // The one-time step: of concurrent callers, the row lock lets exactly one see consumed_at IS NULL.
      const won = await run<{ record: AuthorizationCodeRecord }>(pool, `UPDATE ${codes} SET consumed_at = $2
        WHERE code_hash = $1 AND consumed_at IS NULL AND expires_at > $2 RETURNING record`, [codeHash, at])
      const record = won.rows[0]?.record
      if (record !== undefined) return { outcome: 'consumed', record: decodeRecord<AuthorizationCodeRecord>('authorization code', record) }
      // Only classifies the loss (reuse or unknown); it decides nothing.
      const seen = await run<{ grant_id: string }>(pool, `SELECT grant_id FROM ${codes}
        WHERE code_hash = $1 AND consumed_at IS NOT NULL AND expires_at > $2`, [codeHash, at])
      const grantId = seen.rows[0]?.grant_id
      return grantId === undefined ? { outcome: 'not_found' } : { outcome: 'reused', grantId }
    },
  }
}

function refreshTokens(pool: PostgresPool, t: Tables, now: () => number): RefreshTokenStore {
  const tokens = t.name('refresh_tokens')
  const accessTable = t.name('access_tokens')
  return {
    async save(record: RefreshTokenRecord) {
      await run(pool, `INSERT INTO ${tokens} (token_hash, grant_id, record, rotated, expires_at) VALUES ($1, $2, $3, false, $4)
        ON CONFLICT (token_hash) DO UPDATE SET grant_id = EXCLUDED.grant_id, record = EXCLUDED.record, rotated = false, expires_at = EXCLUDED.expires_at`,
        [record.tokenHash, record.grantId, json(record), record.expiresAt])
    },
    async find(tokenHash): Promise<RefreshTokenLookup | null> {
      const r = await run<{ record: RefreshTokenRecord; rotated: boolean }>(pool, `SELECT record, rotated FROM ${tokens}
        WHERE token_hash = $1 AND expires_at > $2`, [tokenHash, now()])
      const row = r.rows[0]
      return row === undefined ? null : { record: decodeRecord<RefreshTokenRecord>('refresh token', row.record), rotated: row.rotated }
    },
    rotatesWithIssue: true,
    async rotate(oldHash, next, issue): Promise<RotationOutcome> {
      const at = now()
      const access = issue?.accessToken
      const values: unknown[] = [oldHash, at, next.tokenHash, next.grantId, json(next), next.expiresAt]
      if (access !== undefined) values.push(access.tokenHash, json(access), access.expiresAt)
      // One statement: the CAS on `rotated`, the successor's insert and the
      // access token issued with it commit together or not at all (a
      // data-modifying CTE runs once, to completion, read or not), so a
      // database that goes away mid-way leaves the old token usable. One round
      // trip, no BEGIN/COMMIT.
      const r = await run(pool, `WITH old AS (
          UPDATE ${tokens} SET rotated = true WHERE token_hash = $1 AND NOT rotated AND expires_at > $2 RETURNING token_hash
        )${access === undefined ? '' : `, access AS (
          INSERT INTO ${accessTable} (token_hash, record, expires_at) SELECT $7, $8, $9 FROM old
          ON CONFLICT (token_hash) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at
        )`}
        INSERT INTO ${tokens} (token_hash, grant_id, record, rotated, expires_at)
        SELECT $3, $4, $5, false, $6 FROM old
        RETURNING token_hash`, values)
      if (r.rowCount === 1) return 'rotated'
      const seen = await run(pool, `SELECT 1 FROM ${tokens} WHERE token_hash = $1 AND expires_at > $2`, [oldHash, at])
      return seen.rowCount === 1 ? 'reused' : 'not_found'
    },
    async revoke(tokenHash) {
      await run(pool, `DELETE FROM ${tokens} WHERE token_hash = $1`, [tokenHash])
    },
  }
}

/** A set of revoked ids (JWT jtis, grants), each kept until a time. Column names are ours, never input. */
function revocationSet(pool: PostgresPool, table: string, column: 'jti' | 'grant_id', now: () => number): { revoke(id: string, until: number): Promise<void>; isRevoked(id: string): Promise<boolean> } {
  return {
    async revoke(id, until) {
      // A revocation is never shortened by a later, shorter one.
      await run(pool, `INSERT INTO ${table} AS t (${column}, expires_at) VALUES ($1, $2)
        ON CONFLICT (${column}) DO UPDATE SET expires_at = GREATEST(t.expires_at, EXCLUDED.expires_at)`, [id, until])
    },
    async isRevoked(id) {
      const r = await run(pool, `SELECT 1 FROM ${table} WHERE ${column} = $1 AND expires_at > $2`, [id, now()])
      return r.rowCount === 1
    },
  }
}

function grants(pool: PostgresPool, t: Tables, now: () => number): GrantStore {
  return revocationSet(pool, t.name('revoked_grants'), 'grant_id', now)
}

function replay(pool: PostgresPool, t: Tables, now: () => number): ReplayStore {
  const seen = t.name('replay')
  return {
    async markUsed(key, expiresAt) {
      // Set-if-absent in one statement; an expired row is taken over as if absent.
      const r = await run(pool, `INSERT INTO ${seen} AS t (key, expires_at) VALUES ($1, $2)
        ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE t.expires_at <= $3
        RETURNING 1`, [digest(key), expiresAt, now()])
      return r.rowCount === 1
    },
  }
}

const interaction = (stored: object | undefined): InteractionRecord | null => (stored === undefined ? null : decodeRecord<InteractionRecord>('interaction', stored))

function interactions(pool: PostgresPool, t: Tables, now: () => number): InteractionStore {
  const items = t.name('interactions')
  return {
    async save(record: InteractionRecord) {
      await run(pool, `INSERT INTO ${items} (uid, record, expires_at) VALUES ($1, $2, $3)
        ON CONFLICT (uid) DO UPDATE SET record = EXCLUDED.record, expires_at = EXCLUDED.expires_at`, [record.uid, json(record), record.expiresAt])
    },
    async find(uid) {
      const r = await run<{ record: InteractionRecord }>(pool, `SELECT record FROM ${items} WHERE uid = $1 AND expires_at > $2`, [uid, now()])
      return interaction(r.rows[0]?.record)
    },
    async consume(uid) {
      const r = await run<{ record: InteractionRecord }>(pool, `DELETE FROM ${items} WHERE uid = $1 AND expires_at > $2 RETURNING record`, [uid, now()])
      return interaction(r.rows[0]?.record)
    },
  }
}

const pushedRequest = (stored: object | undefined): PushedAuthorizationRequestRecord | null =>
  stored === undefined ? null : decodeRecord<PushedAuthorizationRequestRecord>('pushed authorization request', stored)

function pushedAuthorizationRequests(pool: PostgresPool, t: Tables, now: () => number): PushedAuthorizationRequestStore {
  const items = t.name('pushed_authorization_requests')
  return {
    async save(record) {
      await run(pool, `INSERT INTO ${items} (request_uri_hash, record, expires_at) VALUES ($1, $2, $3)`, [record.requestUriHash, json(record), record.expiresAt])
    },
    async consume(requestUriHash) {
      // One statement: of concurrent callers, one deletes the row and gets it back.
      const r = await run<{ record: PushedAuthorizationRequestRecord }>(pool, `DELETE FROM ${items} WHERE request_uri_hash = $1 AND expires_at > $2 RETURNING record`, [requestUriHash, now()])
      return pushedRequest(r.rows[0]?.record)
    },
  }
}

/** A sessions row as read. */
interface SessionRow {
  id_hash: string
  sub: string
  auth_time: number
  expires_at: number
  sid: string | null
  clients: string[] | null
}

const SESSION_COLUMNS = 'id_hash, sub, auth_time, expires_at, sid, clients'

function sessionRecord(row: SessionRow): SessionRecord {
  const record: SessionRecord = { idHash: row.id_hash, sub: row.sub, authTime: row.auth_time, expiresAt: row.expires_at }
  if (row.sid !== null) record.sid = row.sid
  if (row.clients !== null && row.clients.length > 0) record.clients = row.clients
  return record
}

function sessions(pool: PostgresPool, t: Tables, now: () => number): SessionStore {
  const items = t.name('sessions')
  return {
    async save(record: SessionRecord) {
      await run(pool, `INSERT INTO ${items} (id_hash, sub, auth_time, expires_at, sid, clients) VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id_hash) DO UPDATE SET sub = EXCLUDED.sub, auth_time = EXCLUDED.auth_time, expires_at = EXCLUDED.expires_at,
          sid = EXCLUDED.sid, clients = EXCLUDED.clients`,
        [record.idHash, record.sub, record.authTime, record.expiresAt, record.sid ?? null, record.clients ?? []])
    },
    async find(idHash) {
      const r = await run<SessionRow>(pool, `SELECT ${SESSION_COLUMNS} FROM ${items} WHERE id_hash = $1 AND expires_at > $2`, [idHash, now()])
      return r.rows[0] === undefined ? null : sessionRecord(r.rows[0])
    },
    async delete(idHash) {
      await run(pool, `DELETE FROM ${items} WHERE id_hash = $1`, [idHash])
    },
    async addClient(idHash, clientId) {
      // One statement: two authorizations finishing together both land.
      await run(pool, `UPDATE ${items} SET clients = array_append(clients, $2::text)
        WHERE id_hash = $1 AND expires_at > $3 AND NOT ($2::text = ANY(clients))`, [idHash, clientId, now()])
    },
    async listBySub(sub) {
      const r = await run<SessionRow>(pool, `SELECT ${SESSION_COLUMNS} FROM ${items} WHERE sub = $1 AND expires_at > $2`, [sub, now()])
      return r.rows.map(sessionRecord)
    },
    async findBySid(sid) {
      const r = await run<SessionRow>(pool, `SELECT ${SESSION_COLUMNS} FROM ${items} WHERE sid = $1 AND expires_at > $2`, [sid, now()])
      return r.rows[0] === undefined ? null : sessionRecord(r.rows[0])
    },
  }
}

function consents(pool: PostgresPool, t: Tables, now: () => number): ConsentStore {
  const items = t.name('consents')
  return {
    async find(sub, clientId) {
      const r = await run<{ scope: string }>(pool, `SELECT scope FROM ${items} WHERE sub = $1 AND client_id = $2 AND expires_at > $3`, [sub, clientId, now()])
      return r.rows[0]?.scope ?? null
    },
    async save(sub, clientId, scope, expiresAt) {
      await run(pool, `INSERT INTO ${items} (sub, client_id, scope, expires_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (sub, client_id) DO UPDATE SET scope = EXCLUDED.scope, expires_at = EXCLUDED.expires_at`, [sub, clientId, scope, expiresAt])
    },
    async revoke(sub, clientId) {
      await run(pool, `DELETE FROM ${items} WHERE sub = $1 AND client_id = $2`, [sub, clientId])
    },
    async listBySub(sub) {
      // The primary key (sub, client_id) serves this lookup.
      const r = await run<{ client_id: string; scope: string; expires_at: number }>(pool, `SELECT client_id, scope, expires_at FROM ${items} WHERE sub = $1 AND expires_at > $2`, [sub, now()])
      return r.rows.map((row) => ({ clientId: row.client_id, scope: row.scope, expiresAt: Number(row.expires_at) }))
    },
  }
}

function tokenCutoffs(pool: PostgresPool, t: Tables, now: () => number): TokenCutoffStore {
  const items = t.name('token_cutoffs')
  return {
    async set(key, at, until) {
      // One upsert: the later cutoff wins, whichever process writes last.
      await run(pool, `INSERT INTO ${items} AS t (key, cutoff, expires_at) VALUES ($1, $2, $3)
        ON CONFLICT (key) DO UPDATE SET cutoff = GREATEST(t.cutoff, EXCLUDED.cutoff), expires_at = GREATEST(t.expires_at, EXCLUDED.expires_at)`, [key, at, until])
    },
    async latest(keys) {
      if (keys.length === 0) return null
      const r = await run<{ cutoff: number | null }>(pool, `SELECT max(cutoff) AS cutoff FROM ${items} WHERE key = ANY($1) AND expires_at > $2`, [keys, now()])
      const v = r.rows[0]?.cutoff
      return v === null || v === undefined ? null : Number(v)
    },
  }
}

/** Audit events, newest first by their serial id; dropped by age (`keep_until`) at cleanup. */
function auditEvents(pool: PostgresPool, t: Tables, now: () => number): AuditEventStore {
  const items = t.name('audit_events')
  return {
    async append(event, keepUntil) {
      await run(pool, `INSERT INTO ${items} (event, keep_until) VALUES ($1, $2)`, [encodeRecord(event), keepUntil])
    },
    async recent(limit) {
      if (limit < 1) return []
      const r = await run<{ event: object }>(pool, `SELECT event FROM ${items} WHERE keep_until > $1 ORDER BY id DESC LIMIT $2`, [now(), limit])
      return r.rows.map((row) => decodeRecord<AuditEventRecord>('audit event', row.event))
    },
  }
}

function rateLimits(pool: PostgresPool, t: Tables, now: () => number): RateLimitStore {
  const counters = t.name('rate_limits')
  return {
    async increment(key, windowEndsAt) {
      // One upsert: the row lock makes concurrent increments count exactly; an ended window starts over.
      const r = await run<{ count: number }>(pool, `INSERT INTO ${counters} AS t (key, count, window_ends_at) VALUES ($1, 1, $2)
        ON CONFLICT (key) DO UPDATE SET
          count = CASE WHEN t.window_ends_at <= $3 THEN 1 ELSE t.count + 1 END,
          window_ends_at = CASE WHEN t.window_ends_at <= $3 THEN EXCLUDED.window_ends_at ELSE t.window_ends_at END
        RETURNING count`, [digest(key), windowEndsAt, now()])
      return r.rows[0]!.count
    },
    async reset(key) {
      await run(pool, `DELETE FROM ${counters} WHERE key = $1`, [digest(key)])
    },
  }
}

interface DeviceRow {
  device_code_hash: string
  user_code_hash: string
  client_id: string
  scope: string
  poll_interval: number
  issued_at: number
  expires_at: number
  status: DeviceCodeRecord['status']
  last_polled_at: number | null
  sub: string | null
  auth_time: number | null
  granted_scope: string | null
}

const DEVICE_COLUMNS = 'device_code_hash, user_code_hash, client_id, scope, poll_interval, issued_at, expires_at, status, last_polled_at, sub, auth_time, granted_scope'

function deviceRecord(row: DeviceRow): DeviceCodeRecord {
  return {
    deviceCodeHash: row.device_code_hash,
    userCodeHash: row.user_code_hash,
    clientId: row.client_id,
    scope: row.scope,
    interval: row.poll_interval,
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
    status: row.status,
    ...(row.last_polled_at !== null && { lastPolledAt: row.last_polled_at }),
    ...(row.sub !== null && { sub: row.sub }),
    ...(row.auth_time !== null && { authTime: row.auth_time }),
    ...(row.granted_scope !== null && { grantedScope: row.granted_scope }),
  }
}

function deviceCodes(pool: PostgresPool, t: Tables, now: () => number): DeviceCodeStore {
  const codes = t.name('device_codes')
  return {
    async save(r: DeviceCodeRecord) {
      await run(pool, `INSERT INTO ${codes} (${DEVICE_COLUMNS}, keep_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (device_code_hash) DO UPDATE SET user_code_hash = EXCLUDED.user_code_hash, client_id = EXCLUDED.client_id, scope = EXCLUDED.scope,
          poll_interval = EXCLUDED.poll_interval, issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at, status = EXCLUDED.status,
          last_polled_at = EXCLUDED.last_polled_at, sub = EXCLUDED.sub, auth_time = EXCLUDED.auth_time, granted_scope = EXCLUDED.granted_scope,
          keep_until = EXCLUDED.keep_until`,
        [r.deviceCodeHash, r.userCodeHash, r.clientId, r.scope, r.interval, r.issuedAt, r.expiresAt, r.status, r.lastPolledAt ?? null, r.sub ?? null, r.authTime ?? null, r.grantedScope ?? null, deviceCodeKeepUntil(r)])
    },
    async findByUserCode(userCodeHash) {
      const r = await run<DeviceRow>(pool, `SELECT ${DEVICE_COLUMNS} FROM ${codes}
        WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $2 ORDER BY issued_at DESC LIMIT 1`, [userCodeHash, now()])
      const row = r.rows[0]
      return row === undefined ? null : deviceRecord(row)
    },
    async decide(userCodeHash, decision: DeviceDecision) {
      const approved = decision.status === 'approved'
      // The locked sub-select picks one pending authorization; a concurrent decision
      // that waited on the lock re-checks status and finds nothing left to decide.
      const r = await run(pool, `UPDATE ${codes} SET status = $2, sub = $3, auth_time = $4, granted_scope = $5
        WHERE device_code_hash = (
          SELECT device_code_hash FROM ${codes} WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $6
          ORDER BY issued_at DESC LIMIT 1 FOR UPDATE
        ) AND status = 'pending'
        RETURNING 1`,
        [userCodeHash, decision.status, approved ? decision.sub : null, approved ? decision.authTime : null, approved ? decision.scope : null, now()])
      return r.rowCount === 1
    },
    async poll(deviceCodeHash, clientId, at) {
      // One statement: lock the row, keep its values as they were (old), record the poll
      // and consume an approval. Concurrent polls queue on the lock; each sees its predecessor's write.
      const r = await run<DeviceRow>(pool, `UPDATE ${codes} AS t
        SET last_polled_at = $3, status = CASE WHEN t.status = 'approved' THEN 'consumed' ELSE t.status END
        FROM (SELECT ${DEVICE_COLUMNS} FROM ${codes} WHERE device_code_hash = $1 AND client_id = $2 AND keep_until > $4 FOR UPDATE) AS old
        WHERE t.device_code_hash = old.device_code_hash
        RETURNING ${DEVICE_COLUMNS.split(', ').map((c) => `old.${c}`).join(', ')}`, [deviceCodeHash, clientId, at, now()])
      const row = r.rows[0]
      return row === undefined ? null : deviceRecord(row)
    },
    async slowDown(deviceCodeHash, interval) {
      await run(pool, `UPDATE ${codes} SET poll_interval = $2 WHERE device_code_hash = $1 AND keep_until > $3`, [deviceCodeHash, interval, now()])
    },
  }
}

interface KeyRow {
  kid: string
  private_jwk: string
  active_from: number
  retired_at: number | null
  published_until: number | null
  created_at: number
}

function keyRecord(row: KeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    privateJwk: row.private_jwk,
    activeFrom: row.active_from,
    ...(row.retired_at !== null && { retiredAt: row.retired_at }),
    ...(row.published_until !== null && { publishedUntil: row.published_until }),
    createdAt: row.created_at,
  }
}

/** The key rules of policy.ts in SQL: isKeyPublished, isRetiredByRotation, compareKeys. */
function keyStorage(pool: PostgresPool, t: Tables, now: () => number): KeyStorage {
  const keys = t.name('signing_keys')
  const list = async (db: Queryable, at: number): Promise<SigningKeyRecord[]> => {
    const r = await run<KeyRow>(db, `SELECT kid, private_jwk, active_from, retired_at, published_until, created_at FROM ${keys}
      WHERE published_until IS NULL OR published_until > $1 ORDER BY active_from, created_at, kid`, [at])
    return r.rows.map(keyRecord)
  }
  // SHARE ROW EXCLUSIVE conflicts with itself and with writers: initialize and rotate take turns.
  const lock = `LOCK TABLE ${keys} IN SHARE ROW EXCLUSIVE MODE`
  return {
    list: () => list(pool, now()),
    async initialize(record) {
      const existing = await list(pool, now())
      if (existing.length > 0) return existing
      return transaction(pool, async (client) => {
        await client.query(lock)
        const at = now()
        await client.query(`INSERT INTO ${keys} (kid, private_jwk, active_from, retired_at, published_until, created_at)
          SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM ${keys} WHERE published_until IS NULL OR published_until > $7)`,
          [record.kid, record.privateJwk, record.activeFrom, record.retiredAt ?? null, record.publishedUntil ?? null, record.createdAt, at])
        return list(client, at)
      })
    },
    async rotate(record, retire) {
      await transaction(pool, async (client) => {
        await client.query(lock)
        await client.query(`UPDATE ${keys} SET retired_at = $1, published_until = $2 WHERE retired_at IS NULL OR retired_at > $1`, [retire.retiredAt, retire.publishedUntil])
        await client.query(`INSERT INTO ${keys} (kid, private_jwk, active_from, retired_at, published_until, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
          [record.kid, record.privateJwk, record.activeFrom, record.retiredAt ?? null, record.publishedUntil ?? null, record.createdAt])
      })
    },
    async replace(kid, from, to) {
      const r = await run(pool, `UPDATE ${keys} SET private_jwk = $3 WHERE kid = $1 AND private_jwk = $2`, [kid, from, to])
      return r.rowCount === 1
    },
  }
}

/**
 * Rows deleted per statement by `cleanup()`. Small batches keep each
 * statement's locks and WAL short, so a backlog (a first run on an old
 * database) never stalls the requests running beside it.
 */
const CLEANUP_BATCH = 1000

/**
 * When a row of each table is past keeping, by the storage policy: records at
 * their expiry, rate-limit counters at the end of their window, device codes
 * after their grace (`deviceCodeKeepUntil`, so a late poll still hears
 * expired_token), revocations of grants and jtis at the `until` they were
 * given (the latest any affected token could live), consumed codes and
 * rotated refresh tokens at their own expiry (until then they detect reuse),
 * signing keys once no longer published.
 */
const EXPIRY: Record<(typeof TABLES)[number], string | null> = {
  access_tokens: 'expires_at <= $1',
  revoked_jtis: 'expires_at <= $1',
  authorization_codes: 'expires_at <= $1',
  refresh_tokens: 'expires_at <= $1',
  revoked_grants: 'expires_at <= $1',
  replay: 'expires_at <= $1',
  interactions: 'expires_at <= $1',
  sessions: 'expires_at <= $1',
  consents: 'expires_at <= $1',
  rate_limits: 'window_ends_at <= $1',
  device_codes: 'keep_until <= $1',
  signing_keys: 'published_until <= $1',
  // Clients live until they are deleted; an expired previous secret is ignored where it is read.
  clients: null,
  token_cutoffs: 'expires_at <= $1',
  pushed_authorization_requests: 'expires_at <= $1',
  audit_events: 'keep_until <= $1',
}

/**
 * Deletes every row past keeping at `at`, table by table, in batches of
 * CLEANUP_BATCH. `SKIP LOCKED` lets processes that clean at the same time
 * share the work instead of queueing on each other's rows, and leaves alone a
 * row a request holds (it is deleted on a later run).
 */
async function purgeExpired(pool: PostgresPool, t: Tables, at: number): Promise<number> {
  let deleted = 0
  for (const table of TABLES) {
    const name = t.name(table)
    const expired = EXPIRY[table]
    if (expired === null) continue
    for (;;) {
      const r = await run(pool, `DELETE FROM ${name} WHERE ctid IN (
        SELECT ctid FROM ${name} WHERE ${expired} LIMIT $2 FOR UPDATE SKIP LOCKED
      )`, [at, CLEANUP_BATCH])
      const n = r.rowCount ?? 0
      deleted += n
      if (n < CLEANUP_BATCH) break
    }
  }
  return deleted
}

/** Error listeners per pool: one 'error' listener on each pool, however many storages share it. */
const listeners = new WeakMap<PostgresPool, Set<(error: unknown) => void>>()

/**
 * An idle connection that drops (server restart, pg_terminate_backend) makes
 * the pool emit 'error'; unheard, that would crash the process. The pool
 * replaces the connection by itself; we only pass the error on.
 */
function listen(pool: PostgresPool, onError: (error: unknown) => void): () => void {
  let set = listeners.get(pool)
  if (set === undefined) {
    const handlers = new Set<(error: unknown) => void>()
    set = handlers
    listeners.set(pool, handlers)
    pool.on('error', (err) => {
      const translated = translateError(err)
      for (const h of handlers) h(translated)
    })
  }
  const handler = (error: unknown): void => onError(error)
  set.add(handler)
  return () => void set.delete(handler)
}

/**
 * Storage in PostgreSQL, for several processes acting as one server. Every
 * one-time operation is one atomic statement (`UPDATE … WHERE consumed_at IS
 * NULL RETURNING`, `DELETE … RETURNING`, `INSERT … ON CONFLICT`); expiry is
 * compared against `now()` of the storage's clock, passed as a parameter.
 * Expired rows are never returned; `cleanup()` deletes them. A database that
 * cannot be reached throws StorageUnavailableError (503 at the endpoints), and
 * the pool reconnects by itself when it is back. Create the tables first with
 * `migrate()` or `schema.sql`.
 *
 * @example
 * const storage = createPostgresStorage({ connectionString: process.env.DATABASE_URL, cleanupInterval: 600 })
 * await storage.migrate()
 * const server = createAuthorizationServer({ issuer, clients, storage })
 */
export function createPostgresStorage(options: PostgresStorageOptions): PostgresStorage {
  if (typeof options !== 'object' || options === null) throw new TypeError('options: must be an object')
  if ((options.pool === undefined) === (options.connectionString === undefined)) {
    throw new TypeError('pool: pass either pool or connectionString')
  }
  if (options.pool !== undefined && (typeof options.pool.query !== 'function' || typeof options.pool.connect !== 'function')) {
    throw new TypeError('pool: must be a pg Pool')
  }
  if (options.connectionString !== undefined && typeof options.connectionString !== 'string') throw new TypeError('connectionString: must be a string')
  const prefix = checkTablePrefix(options.tablePrefix ?? 'grantkit_')
  const now = options.now ?? (() => Date.now() / 1000)
  if (typeof now !== 'function') throw new TypeError('now: must be a function returning seconds since the epoch')
  const cleanupInterval = options.cleanupInterval
  if (cleanupInterval !== undefined && !(typeof cleanupInterval === 'number' && Number.isFinite(cleanupInterval) && cleanupInterval > 0)) {
    throw new TypeError('cleanupInterval: must be a positive number of seconds')
  }
  const timeout = options.timeout ?? DEFAULT_TIMEOUT
  if (!(typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0)) throw new TypeError('timeout: must be a positive number of seconds')
  const timeoutMs = Math.ceil(timeout * 1000)
  const onError = options.onError ?? (() => {})
  const owned = options.pool === undefined
  // The server cancels a statement that runs past the deadline (a lock wait, a slow plan): the connection then stays usable.
  const given: PostgresPool = options.pool ?? new pg.Pool({ connectionString: options.connectionString, connectionTimeoutMillis: 5000, statement_timeout: timeoutMs })
  const unlisten = listen(given, onError)
  // Every store, probe and cleanup goes through the deadline; migrations (long DDL) do not.
  const pool = withDeadline(given, timeoutMs)

  const t = new Tables(prefix)
  let cleaning: Promise<number> | undefined
  const cleanup = (): Promise<number> => {
    // One run at a time in this process: a timer tick during a long run joins it.
    cleaning ??= purgeExpired(pool, t, now()).finally(() => {
      cleaning = undefined
    })
    return cleaning
  }

  let timer: ReturnType<typeof setInterval> | undefined
  if (cleanupInterval !== undefined) {
    timer = setInterval(() => void cleanup().catch(onError), cleanupInterval * 1000)
    timer.unref()
  }

  return {
    accessTokens: accessTokens(pool, t, now, timeoutMs),
    authorizationCodes: authorizationCodes(pool, t, now),
    refreshTokens: refreshTokens(pool, t, now),
    grants: grants(pool, t, now),
    replay: replay(pool, t, now),
    interactions: interactions(pool, t, now),
    sessions: sessions(pool, t, now),
    consents: consents(pool, t, now),
    tokenCutoffs: tokenCutoffs(pool, t, now),
    pushedAuthorizationRequests: pushedAuthorizationRequests(pool, t, now),
    auditEvents: auditEvents(pool, t, now),
    rateLimits: rateLimits(pool, t, now),
    deviceCodes: deviceCodes(pool, t, now),
    keys: keyStorage(pool, t, now),
    clients: postgresClients(pool, t.name('clients')),
    pool: given,
    migrate: () => migrate(given, { tablePrefix: prefix }),
    async probe() {
      const version = await schemaVersion(pool, { tablePrefix: prefix })
      // A newer schema is ready: migrations only add, so the processes of the
      // previous version keep serving during a rolling upgrade (migrate() of
      // this version still refuses to touch it).
      if (version < SCHEMA_VERSION) {
        throw new StorageNotMigratedError(`postgres: the tables prefixed "${prefix}" are at schema version ${version}, this grantkit needs ${SCHEMA_VERSION}; ${HOW_TO_MIGRATE}`)
      }
    },
    cleanup,
    async close() {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      // A run in progress finishes before the pool ends under it.
      await cleaning?.catch(() => {})
      unlisten()
      if (owned) await given.end()
    },
  }
}
