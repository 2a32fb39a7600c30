import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createAesKeyWrapper, createSharedKeyStore, hashToken, sealKeyRecords } from '../../src/index.js'
import { exportPrivateJwk, generateSigningKey } from '../../src/keys/signing-key.js'
import { createPostgresStorage, migrate, schemaSql, SCHEMA_VERSION, SchemaVersionError, schemaVersion } from '../../src/storage/postgres/index.js'
import { runMigrations } from '../../src/storage/postgres/migrate.js'
import { MIGRATIONS, TABLES, versionTable, type Migration } from '../../src/storage/postgres/schema.js'
import { basic, fakeClock, json, makeServer, tokenRequest } from '../helpers.js'
import { describePostgres, pgTables } from './pg-harness.js'

/** The schema grantkit 0.1.0 shipped (`git show v0.1.0:src/storage/postgres/schema.sql`), for the default prefix. */
const SCHEMA_0_1_0 = readFileSync(new URL('./fixtures/schema-0.1.0.sql', import.meta.url), 'utf8')

describe('postgres migrations', () => {
  it('keeps migration 1 exactly the 0.1.0 schema', () => {
    const statements = (sql: string): string => sql.replace(/^--.*\n/gm, '').trim()
    expect(MIGRATIONS[0]!.version).toBe(1)
    expect(statements(MIGRATIONS[0]!.sql('grantkit_'))).toBe(statements(SCHEMA_0_1_0))
  })

  it('numbers migrations 1, 2, 3, … with the latest as the schema version', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1))
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length)
  })
})

describePostgres('postgres migrations on a database', () => {
  const db = pgTables()
  const versions = async (prefix: string): Promise<number[]> =>
    (await db.pool.query<{ version: number }>(`SELECT version FROM ${versionTable(prefix)} ORDER BY version`)).rows.map((r) => r.version)

  it('applies every migration to a fresh database, records each, and then has nothing to do', async () => {
    const prefix = db.name()
    expect(await schemaVersion(db.pool, { tablePrefix: prefix })).toBe(0)
    const first = await migrate(db.pool, { tablePrefix: prefix })
    expect(first).toEqual({ applied: MIGRATIONS.map((m) => ({ version: m.version, description: m.description })), version: SCHEMA_VERSION })
    expect(await versions(prefix)).toEqual(MIGRATIONS.map((m) => m.version))
    expect(await schemaVersion(db.pool, { tablePrefix: prefix })).toBe(SCHEMA_VERSION)
    expect(await migrate(db.pool, { tablePrefix: prefix })).toEqual({ applied: [], version: SCHEMA_VERSION })
    await db.drop(prefix)
  })

  it('applies each migration once when several processes migrate one fresh prefix together', async () => {
    const prefix = db.name()
    const results = await Promise.all(Array.from({ length: 8 }, () => migrate(db.pool, { tablePrefix: prefix })))
    for (const r of results) expect(r.version).toBe(SCHEMA_VERSION)
    const applied = results.flatMap((r) => r.applied.map((m) => m.version)).sort((a, b) => a - b)
    expect(applied).toEqual(MIGRATIONS.map((m) => m.version))
    expect(await versions(prefix)).toEqual(MIGRATIONS.map((m) => m.version))
    await db.drop(prefix)
  })

  // Migrations that fail if run twice or out of order, to show the runner applies them once each, in order, one at a time.
  const strict = (log: string): Migration[] => [
    { version: 1, description: 'a table', sql: (p) => `CREATE TABLE ${p}t (id integer PRIMARY KEY); INSERT INTO ${log} VALUES (1);` },
    { version: 2, description: 'a column', sql: (p) => `ALTER TABLE ${p}t ADD COLUMN name text NOT NULL DEFAULT ''; INSERT INTO ${log} VALUES (2);` },
    { version: 3, description: 'an index', sql: (p) => `CREATE INDEX ${p}t_name ON ${p}t (name); INSERT INTO ${log} VALUES (3);` },
  ]

  it('runs non-idempotent migrations once each, in order, under 10 concurrent callers', async () => {
    const prefix = db.name()
    const log = `${prefix}log`
    await db.pool.query(`CREATE TABLE ${log} (version integer NOT NULL)`)
    try {
      const results = await Promise.all(Array.from({ length: 10 }, () => runMigrations(db.pool, prefix, strict(log))))
      expect(results.every((r) => r.version === 3)).toBe(true)
      expect(results.flatMap((r) => r.applied.map((m) => m.version)).sort()).toEqual([1, 2, 3])
      // Each migration ran exactly once, and in order.
      const ran = await db.pool.query<{ version: number }>(`SELECT version FROM ${log}`)
      expect(ran.rows.map((r) => r.version)).toEqual([1, 2, 3])
      expect(await versions(prefix)).toEqual([1, 2, 3])
    } finally {
      await db.pool.query(`DROP TABLE IF EXISTS ${log}, ${prefix}t, ${versionTable(prefix)}`)
    }
  })

  it('rolls back a failing migration whole, keeps the ones before it, and resumes from it', async () => {
    const prefix = db.name()
    const log = `${prefix}log`
    await db.pool.query(`CREATE TABLE ${log} (version integer NOT NULL)`)
    try {
      const [one, two, three] = strict(log)
      const broken: Migration = { ...two!, sql: (p) => `ALTER TABLE ${p}t ADD COLUMN name text; SELECT 1/0;` }
      await expect(runMigrations(db.pool, prefix, [one!, broken, three!])).rejects.toThrow(/division by zero/)
      expect(await versions(prefix)).toEqual([1])
      const cols = await db.pool.query(`SELECT column_name FROM information_schema.columns WHERE table_name = $1`, [`${prefix}t`])
      expect(cols.rows.map((r) => r.column_name)).toEqual(['id'])
      expect(await runMigrations(db.pool, prefix, [one!, two!, three!])).toEqual({ applied: [{ version: 2, description: 'a column' }, { version: 3, description: 'an index' }], version: 3 })
    } finally {
      await db.pool.query(`DROP TABLE IF EXISTS ${log}, ${prefix}t, ${versionTable(prefix)}`)
    }
  })

  it('refuses a database migrated by a newer grantkit', async () => {
    const prefix = await db.fresh()
    await db.pool.query(`INSERT INTO ${versionTable(prefix)} (version, description) VALUES ($1, 'from the future')`, [SCHEMA_VERSION + 1])
    const err = await migrate(db.pool, { tablePrefix: prefix }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SchemaVersionError)
    expect((err as Error).message).toMatch(new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this grantkit knows \\(${SCHEMA_VERSION}\\)`))
    await db.drop(prefix)
  })

  it('finds a database created from schema.sql up to date', async () => {
    const prefix = db.name()
    await db.pool.query(schemaSql(prefix))
    expect(await migrate(db.pool, { tablePrefix: prefix })).toEqual({ applied: [], version: SCHEMA_VERSION })
    await db.drop(prefix)
  })

  it('upgrades a 0.1.0 database with live records: its tokens and keys stay valid', async () => {
    const clock = fakeClock()
    const now = clock.now()
    const prefix = db.name()
    // The database as grantkit 0.1.0 left it: its schema, no version table, records in the 0.1.0 format (no "$v").
    await db.pool.query(SCHEMA_0_1_0.replaceAll('grantkit_', prefix))
    const accessToken = 'opaque-access-token-from-v0_1_0'
    const access = { id: 'at-1', tokenHash: hashToken(accessToken), clientId: 'svc', sub: 'svc', scope: 'api:read', audience: ['https://api.example'], issuedAt: now - 10, expiresAt: now + 3600 }
    await db.pool.query(`INSERT INTO ${prefix}access_tokens (token_hash, record, expires_at) VALUES ($1, $2, $3)`, [access.tokenHash, JSON.stringify(access), access.expiresAt])
    const refresh = { tokenHash: hashToken('refresh-from-0.1.0'), grantId: 'g-1', clientId: 'svc', sub: 'alice', scope: 'openid offline_access', issuedAt: now - 10, expiresAt: now + 86400, absoluteExpiresAt: now + 30 * 86400, authTime: now - 20 }
    await db.pool.query(`INSERT INTO ${prefix}refresh_tokens (token_hash, grant_id, record, rotated, expires_at) VALUES ($1, $2, $3, false, $4)`, [refresh.tokenHash, refresh.grantId, JSON.stringify(refresh), refresh.expiresAt])
    const key = generateSigningKey('ES256')
    await db.pool.query(`INSERT INTO ${prefix}signing_keys (kid, private_jwk, active_from, retired_at, published_until, created_at) VALUES ($1, $2, $3, NULL, NULL, $4)`, [key.kid, JSON.stringify(exportPrivateJwk(key)), now - 100, now - 100])
    expect(await schemaVersion(db.pool, { tablePrefix: prefix })).toBe(0)
    const session = { idHash: hashToken('session-from-0.1.0'), sub: 'alice', authTime: now - 30, expiresAt: now + 3600 }
    await db.pool.query(`INSERT INTO ${prefix}sessions (id_hash, sub, auth_time, expires_at) VALUES ($1, $2, $3, $4)`, [session.idHash, session.sub, session.authTime, session.expiresAt])

    const result = await migrate(db.pool, { tablePrefix: prefix })
    expect(result.version).toBe(SCHEMA_VERSION)
    expect(result.applied.map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version))
    expect(await versions(prefix)).toEqual(MIGRATIONS.map((m) => m.version))
    const tables = await db.pool.query(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = ANY($1)`, [TABLES.map((t) => prefix + t)])
    expect(tables.rows[0].n).toBe(TABLES.length)

    const storage = createPostgresStorage({ pool: db.pool, tablePrefix: prefix, now: clock.now })
    expect(await storage.accessTokens.find(access.tokenHash)).toEqual(access)
    expect(await storage.refreshTokens.find(refresh.tokenHash)).toEqual({ record: refresh, rotated: false })
    // The old refresh token still rotates, and the successor is written in the current format beside it.
    const next = { ...refresh, tokenHash: hashToken('refresh-after-upgrade') }
    expect(await storage.refreshTokens.rotate(refresh.tokenHash, next)).toBe('rotated')
    expect(await storage.refreshTokens.find(next.tokenHash)).toEqual({ record: next, rotated: false })

    // A 0.1.0 session loads without sid or clients, is listed, and takes both once saved again (migration 2).
    expect(await storage.sessions.find(session.idHash)).toEqual(session)
    expect(await storage.sessions.listBySub!('alice')).toEqual([session])
    await storage.sessions.save({ ...session, sid: 'sid-after-upgrade' })
    await storage.sessions.addClient!(session.idHash, 'web')
    expect(await storage.sessions.findBySid!('sid-after-upgrade')).toEqual({ ...session, sid: 'sid-after-upgrade', clients: ['web'] })

    // The server introspects the 0.1.0 token as active, and signs with the 0.1.0 key.
    // 0.1.0 stored the key in clear: it is refused until "grantkit keys seal" (sealKeyRecords) seals it.
    const keyEncryption = createAesKeyWrapper(randomBytes(32))
    await expect(createSharedKeyStore(storage.keys, { now: clock.now, keyEncryption })).rejects.toThrow(/not sealed/)
    expect(await sealKeyRecords(storage.keys, { keyEncryption })).toEqual({ sealed: [key.kid], unchanged: [] })
    const keys = await createSharedKeyStore(storage.keys, { now: clock.now, keyEncryption })
    try {
      expect(keys.signingKey(now).kid).toBe(key.kid)
      const { server } = makeServer({ storage, keys, accessTokenFormat: 'opaque' })
      const intro = await server.introspect(tokenRequest({ token: accessToken }, { authorization: basic('svc', 'svc-secret') }, '/introspect'))
      expect(json(intro)).toMatchObject({ active: true, client_id: 'svc', scope: 'api:read' })
    } finally {
      keys.close()
    }
    await db.drop(prefix)
  })
})
