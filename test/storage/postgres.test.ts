import { readFileSync } from 'node:fs'
import net from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StorageUnavailableError, type GrantkitEvent } from '../../src/index.js'
import { createPostgresStorage, migrate, schemaSql, SCHEMA_SQL, type PostgresStorage } from '../../src/storage/postgres/index.js'
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/storage/postgres/schema.js'
import { isUnavailable } from '../../src/storage/postgres/errors.js'
import { runStorageConformance } from '../../src/testing/storage-conformance.js'
import { basic, fakeClock, json, makeServer, tokenRequest } from '../helpers.js'
import { PG_MODULES } from './client-modules.js'
import { describePostgres, pgTables, POSTGRES_URL } from './pg-harness.js'

describe('postgres schema', () => {
  it('ships schema.sql equal to the schema in code', () => {
    const file = readFileSync(new URL('../../src/storage/postgres/schema.sql', import.meta.url), 'utf8')
    expect(file).toBe(SCHEMA_SQL)
  })

  it('refuses a table prefix that could inject SQL or overflow identifiers', () => {
    expect(() => schemaSql('x; DROP TABLE y; --')).toThrow(/tablePrefix/)
    expect(() => schemaSql('Upper_')).toThrow(/tablePrefix/)
    expect(() => schemaSql('a'.repeat(25))).toThrow(/tablePrefix/)
    expect(() => createPostgresStorage({ connectionString: POSTGRES_URL, tablePrefix: 'bad-prefix' })).toThrow(/tablePrefix/)
  })

  it('refuses both or neither of pool and connectionString', () => {
    expect(() => createPostgresStorage({} as never)).toThrow(/pool/)
    expect(() => createPostgresStorage({ pool: new pg.Pool(), connectionString: POSTGRES_URL })).toThrow(/pool/)
    expect(() => createPostgresStorage({ connectionString: POSTGRES_URL, cleanupInterval: 0 })).toThrow(/cleanupInterval/)
  })

  it('classifies connection failures, and only those, as unavailable', () => {
    expect(isUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe(true)
    expect(isUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true)
    expect(isUnavailable(Object.assign(new Error('too many connections'), { code: '53300' }))).toBe(true)
    expect(isUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true)
    expect(isUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true)
    expect(isUnavailable(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]))).toBe(true)
    expect(isUnavailable(Object.assign(new Error('syntax error'), { code: '42601' }))).toBe(false)
    expect(isUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false)
    expect(isUnavailable(new TypeError('x'))).toBe(false)
  })
})

// The conformance kit (its atomicity tests included) once per end of the pg
// peer range: the pool passed in is the application's, of whatever version.
describePostgres.each(PG_MODULES)('postgres storage on $name', ({ name, Pool }) => {
  const db = pgTables({}, Pool)

  runStorageConformance(`postgres (${name})`, async () => {
    const clock = fakeClock()
    const prefix = await db.empty()
    const storage = createPostgresStorage({ pool: db.pool, tablePrefix: prefix, now: clock.now })
    return { storage, now: clock.now, advance: clock.advance, close: () => storage.close() }
  }, { features: ['deviceFlow', 'sharedKeys', 'storedClients', 'pushedAuthorization'] })

  it('migrates one fresh prefix once under concurrent callers on this pool', async () => {
    const prefix = db.name()
    const results = await Promise.all(Array.from({ length: 5 }, () => migrate(db.pool, { tablePrefix: prefix })))
    // Each migration is applied by exactly one caller (they take turns under the advisory lock, one step each).
    const applied = results.flatMap((r) => r.applied.map((m) => m.version))
    expect(applied.sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.version))
    expect(results.every((r) => r.version === SCHEMA_VERSION)).toBe(true)
  })
})

describePostgres('postgres storage', () => {
  const db = pgTables()

  const open = async (now = fakeClock().now): Promise<{ storage: PostgresStorage; prefix: string }> => {
    const prefix = await db.fresh()
    return { storage: createPostgresStorage({ pool: db.pool, tablePrefix: prefix, now }), prefix }
  }

  it('migrates idempotently, also from several processes at once', async () => {
    const prefix = await db.fresh()
    await migrate(db.pool, { tablePrefix: prefix })
    const other = `${prefix}x_`
    await Promise.all(Array.from({ length: 5 }, () => migrate(db.pool, { tablePrefix: other })))
    const tables = await db.pool.query(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename LIKE $1`, [`${other.replace(/_/g, '\\_')}%`])
    // The 16 tables of records (stored clients since migration 2, token cutoffs since 4, pushed requests since 5, audit events since 6) and the schema version table.
    expect(tables.rows[0].n).toBe(16 + 1)
    await db.drop(other)
    const indexes = await db.pool.query(`SELECT indexname FROM pg_indexes WHERE tablename = $1`, [`${prefix}access_tokens`])
    expect(indexes.rows.map((r) => r.indexname)).toContain(`${prefix}access_tokens_expires_at`)
  })

  it('says how to create the tables when they are missing', async () => {
    const storage = createPostgresStorage({ pool: db.pool, tablePrefix: 'gk_never_migrated_' })
    await expect(storage.sessions.find('x')).rejects.toThrow(/does not exist; create the tables with migrate\(\)/)
  })

  it('compares expiry against the clock it is given, not the database clock', async () => {
    // The fake clock is years ahead of the database's now(): a query using now() would keep these alive.
    const clock = fakeClock(4_000_000_000)
    const { storage } = await open(clock.now)
    await storage.sessions.save({ idHash: 's', sub: 'a', authTime: 1, expiresAt: 3_000_000_000 })
    expect(await storage.sessions.find('s')).toBeNull()
    clock.set(2_000_000_000)
    expect(await storage.sessions.find('s')).not.toBeNull()
  })

  it('cleanup() deletes expired rows and keeps live ones, device codes until their retention ends', async () => {
    const clock = fakeClock()
    const { storage, prefix } = await open(clock.now)
    const now = clock.now()
    await storage.sessions.save({ idHash: 'old', sub: 'a', authTime: now, expiresAt: now + 10 })
    await storage.sessions.save({ idHash: 'new', sub: 'a', authTime: now, expiresAt: now + 10_000 })
    await storage.replay.markUsed('j', now + 10)
    await storage.rateLimits.increment('k', now + 10)
    await storage.deviceCodes.save({ deviceCodeHash: 'd', userCodeHash: 'u', clientId: 'tv', scope: 'openid', interval: 5, issuedAt: now, expiresAt: now + 10, status: 'pending' })
    await storage.authorizationCodes.save({ codeHash: 'c', clientId: 'c', redirectUri: 'https://a/cb', redirectUriSent: true, scope: 'openid', sub: 'a', grantId: 'g', authTime: now, issuedAt: now, expiresAt: now + 10 })
    clock.advance(10)
    expect(await storage.cleanup()).toBe(4)
    const count = async (table: string): Promise<number> => (await db.pool.query(`SELECT count(*)::int AS n FROM ${prefix}${table}`)).rows[0].n
    expect(await count('sessions')).toBe(1)
    expect(await count('device_codes')).toBe(1)
    expect(await storage.deviceCodes.poll('d', 'tv', clock.now())).toMatchObject({ deviceCodeHash: 'd' })
    clock.advance(3600)
    expect(await storage.cleanup()).toBe(1)
    expect(await count('device_codes')).toBe(0)
    expect(await storage.cleanup()).toBe(0)
  })

  it('cleanup() deletes, in every table, the rows past expiry and past every grace window, and keeps the rest', async () => {
    const clock = fakeClock()
    const { storage, prefix } = await open(clock.now)
    const t = clock.now()
    const count = async (table: string): Promise<number> => (await db.pool.query(`SELECT count(*)::int AS n FROM ${prefix}${table}`)).rows[0].n
    // For each table, one row that ends at t + 10 and one that lives on.
    for (const [hash, end] of [['old', t + 10], ['new', t + 10_000]] as const) {
      await storage.accessTokens.save({ id: hash, tokenHash: hash, clientId: 'c', sub: 's', scope: '', audience: [], issuedAt: t, expiresAt: end })
      await storage.accessTokens.revokeJti(hash, end)
      await storage.authorizationCodes.save({ codeHash: hash, clientId: 'c', redirectUri: 'https://a/cb', redirectUriSent: true, scope: 'openid', sub: 'a', grantId: 'g', authTime: t, issuedAt: t, expiresAt: end })
      await storage.authorizationCodes.consume(hash) // a consumed code's tombstone stays until the code's expiry
      await storage.refreshTokens.save({ tokenHash: hash, grantId: 'g', clientId: 'c', sub: 's', scope: 'x', issuedAt: t, expiresAt: end, absoluteExpiresAt: end })
      await storage.grants.revoke(hash, end)
      await storage.replay.markUsed(hash, end)
      await storage.interactions.save({ uid: hash, request: { clientId: 'c', redirectUri: 'https://a/cb', redirectUriSent: true, responseType: 'code', responseMode: 'query', scope: 'x', prompt: [] }, browserHash: 'b', csrf: 'x', expiresAt: end })
      await storage.sessions.save({ idHash: hash, sub: 'a', authTime: t, expiresAt: end })
      await storage.consents.save(hash, 'c', 'x', end)
      await storage.rateLimits.increment(hash, end)
      await storage.deviceCodes.save({ deviceCodeHash: hash, userCodeHash: `u-${hash}`, clientId: 'tv', scope: 'x', interval: 5, issuedAt: t, expiresAt: end, status: 'pending' })
    }
    await storage.keys.initialize({ kid: 'k1', privateJwk: '{}', activeFrom: t, createdAt: t })
    await storage.keys.rotate({ kid: 'k2', privateJwk: '{}', activeFrom: t, createdAt: t }, { retiredAt: t, publishedUntil: t + 10 })
    const tables = ['access_tokens', 'revoked_jtis', 'authorization_codes', 'refresh_tokens', 'revoked_grants', 'replay', 'interactions', 'sessions', 'consents', 'rate_limits', 'device_codes', 'signing_keys']

    clock.advance(9)
    expect(await storage.cleanup()).toBe(0)
    clock.advance(1)
    // Everything that ended at t + 10 goes, but device codes, kept an hour past expiry for late polls.
    expect(await storage.cleanup()).toBe(11)
    for (const table of tables) expect(await count(table), table).toBe(table === 'device_codes' ? 2 : 1)
    clock.advance(3600)
    expect(await storage.cleanup()).toBe(1)
    for (const table of tables) expect(await count(table), table).toBe(1)
    expect(await storage.sessions.find('new')).not.toBeNull()
    expect(await storage.grants.isRevoked('new')).toBe(true)
  })

  it('cleanup() deletes a backlog in bounded batches, and several processes may clean at once', async () => {
    const clock = fakeClock()
    const { storage, prefix } = await open(clock.now)
    const t = clock.now()
    await db.pool.query(`INSERT INTO ${prefix}replay (key, expires_at) SELECT 'k' || i, $1 FROM generate_series(1, 4500) AS i`, [t + 1])
    await db.pool.query(`INSERT INTO ${prefix}replay (key, expires_at) VALUES ('live', $1)`, [t + 100])
    clock.advance(1)
    const other = createPostgresStorage({ pool: db.pool, tablePrefix: prefix, now: clock.now })
    const statements: string[] = []
    const spy = db.pool.query.bind(db.pool)
    const counted = {
      query: ((text: string, values?: unknown[]) => (statements.push(text), spy(text, values))) as typeof db.pool.query,
      // Statements also run on a checked-out client (each call's deadline is kept per connection): count those too.
      connect: async () => {
        const c = await db.pool.connect()
        return {
          query: (text: string, values?: unknown[]) => (statements.push(text), c.query(text, values)),
          release: (err?: Error | boolean) => c.release(err),
          on: c.on.bind(c),
          removeListener: c.removeListener.bind(c),
        }
      },
      on: db.pool.on.bind(db.pool),
      end: async () => {},
    }
    const third = createPostgresStorage({ pool: counted as unknown as typeof db.pool, tablePrefix: prefix, now: clock.now })
    const deleted = await Promise.all([storage.cleanup(), other.cleanup(), third.cleanup()])
    expect(deleted.reduce((a, b) => a + b, 0)).toBe(4500)
    expect((await db.pool.query(`SELECT key FROM ${prefix}replay`)).rows).toEqual([{ key: 'live' }])
    expect(statements.some((s) => /DELETE/.test(s))).toBe(true)
    // No statement deletes more than a batch.
    expect(statements.every((s) => !/DELETE/.test(s) || /LIMIT \$2/.test(s))).toBe(true)
  })

  it('runs cleanup in the background when given an interval', async () => {
    const clock = fakeClock()
    const prefix = await db.fresh()
    const storage = createPostgresStorage({ pool: db.pool, tablePrefix: prefix, now: clock.now, cleanupInterval: 0.02 })
    await storage.replay.markUsed('j', clock.now() + 1)
    clock.advance(1)
    await expect.poll(async () => (await db.pool.query(`SELECT count(*)::int AS n FROM ${prefix}replay`)).rows[0].n).toBe(0)
    await storage.close()
  })

  it('rolls back a key rotation whose insert fails: no retirement without the new key', async () => {
    const clock = fakeClock()
    const { storage } = await open(clock.now)
    const now = clock.now()
    const k1 = { kid: 'k1', privateJwk: '{}', activeFrom: now, createdAt: now }
    await storage.keys.initialize(k1)
    await expect(storage.keys.rotate({ ...k1 }, { retiredAt: now + 10, publishedUntil: now + 100 })).rejects.toThrow(/duplicate key/)
    expect(await storage.keys.list()).toEqual([k1])
  })

  it('rotates a refresh token with its successor in one statement: a failed insert leaves the old one unrotated', async () => {
    const clock = fakeClock()
    const { storage } = await open(clock.now)
    const now = clock.now()
    const rec = { tokenHash: 'r1', grantId: 'g', clientId: 'c', sub: 's', scope: 'x', issuedAt: now, expiresAt: now + 60, absoluteExpiresAt: now + 600 }
    await storage.refreshTokens.save(rec)
    await storage.refreshTokens.save({ ...rec, tokenHash: 'r2' })
    await expect(storage.refreshTokens.rotate('r1', { ...rec, tokenHash: 'r2' })).rejects.toThrow(/duplicate key/)
    expect(await storage.refreshTokens.find('r1')).toEqual({ record: rec, rotated: false })
  })

  it('stores only the hash of an opaque access token', async () => {
    const { storage, prefix } = await open()
    const { server } = makeServer({ storage, accessTokenFormat: 'opaque' })
    const res = await server.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))
    expect(res.status).toBe(200)
    const token = json(res).access_token as string
    const rows = await db.pool.query(`SELECT token_hash, record::text AS record FROM ${prefix}access_tokens`)
    expect(rows.rows).toHaveLength(1)
    expect(rows.rows[0].token_hash).not.toBe(token)
    expect(rows.rows[0].record).not.toContain(token)
  })
})

describePostgres('postgres storage when the database is unreachable', () => {
  const db = pgTables()

  /** A TCP proxy to PostgreSQL that can be taken down and brought back on the same port. */
  class Proxy {
    private server: net.Server | undefined
    private readonly sockets = new Set<net.Socket>()
    port = 0
    async up(): Promise<void> {
      const target = new URL(POSTGRES_URL)
      this.server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname)
        for (const s of [client, upstream]) {
          this.sockets.add(s)
          s.on('close', () => this.sockets.delete(s))
          s.on('error', () => {})
        }
        client.pipe(upstream).pipe(client)
        client.on('close', () => upstream.destroy())
        upstream.on('close', () => client.destroy())
      })
      await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve))
      this.port = (this.server.address() as net.AddressInfo).port
    }
    async down(): Promise<void> {
      for (const s of this.sockets) s.destroy()
      await new Promise<void>((resolve) => this.server!.close(() => resolve()))
    }
  }

  /** The given database's URL (user, password, database, options) through another port on 127.0.0.1. */
  const throughPort = (port: number): string => {
    const url = new URL(POSTGRES_URL)
    url.hostname = '127.0.0.1'
    url.port = String(port)
    return url.toString()
  }

  const outage = (prefix: string, url: string, extra: pg.PoolConfig = {}): { storage: PostgresStorage; pool: pg.Pool; errors: unknown[] } => {
    const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: 2000, max: 2, ...extra })
    const errors: unknown[] = []
    const storage = createPostgresStorage({ pool, tablePrefix: prefix, onError: (e) => errors.push(e) })
    return { storage, pool, errors }
  }

  const tokenOnce = async (server: ReturnType<typeof makeServer>['server']) =>
    server.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))

  let prefix = ''
  beforeAll(async () => {
    prefix = await db.fresh()
  })
  afterAll(async () => {
    await db.drop(prefix)
  })

  const rows = async (): Promise<number> => (await db.pool.query(`SELECT count(*)::int AS n FROM ${prefix}access_tokens`)).rows[0].n

  it('throws StorageUnavailableError for a closed port, from plain statements and transactions alike', async () => {
    const { storage, pool } = outage(prefix, throughPort(1))
    await expect(storage.accessTokens.find('x')).rejects.toBeInstanceOf(StorageUnavailableError)
    await expect(storage.authorizationCodes.consume('x')).rejects.toBeInstanceOf(StorageUnavailableError)
    await expect(storage.keys.initialize({ kid: 'k', privateJwk: '{}', activeFrom: 0, createdAt: 0 })).rejects.toBeInstanceOf(StorageUnavailableError)
    await expect(storage.migrate()).rejects.toBeInstanceOf(StorageUnavailableError)
    await expect(storage.cleanup()).rejects.toBeInstanceOf(StorageUnavailableError)
    const err = await storage.replay.markUsed('x', 1).catch((e: unknown) => e)
    expect((err as Error).message).toMatch(/^postgres: /)
    expect((err as Error).cause).toMatchObject({ code: 'ECONNREFUSED' })
    await pool.end()
  })

  it('answers 503 temporarily_unavailable at the token endpoint and issues nothing', async () => {
    const { storage, pool } = outage(prefix, throughPort(1))
    const { server } = makeServer({ storage, accessTokenFormat: 'opaque' })
    const events: GrantkitEvent[] = []
    server.on('*', (e) => events.push(e))
    const res = await tokenOnce(server)
    expect(res.status).toBe(503)
    expect(json(res)).toMatchObject({ error: 'temporarily_unavailable' })
    expect(res.headers['retry-after']).toBe('5')
    expect(events.map((e) => e.type)).toContain('storage.unavailable')
    expect(events.map((e) => e.type)).not.toContain('token.issued')
    await pool.end()
  })

  it('answers 503 while the database is gone and recovers without a restart when it is back', async () => {
    const proxy = new Proxy()
    await proxy.up()
    const { storage, pool } = outage(prefix, throughPort(proxy.port))
    const { server } = makeServer({ storage, accessTokenFormat: 'opaque' })
    const before = await rows()
    expect((await tokenOnce(server)).status).toBe(200)
    expect(await rows()).toBe(before + 1)

    await proxy.down()
    for (let i = 0; i < 3; i++) {
      const res = await tokenOnce(server)
      expect(res.status).toBe(503)
      expect(json(res).error).toBe('temporarily_unavailable')
    }
    expect(await rows()).toBe(before + 1)

    await proxy.up()
    expect((await tokenOnce(server)).status).toBe(200)
    expect(await rows()).toBe(before + 2)
    await pool.end()
    await proxy.down()
  })

  it('answers 503 when its connection is terminated mid-statement, and the next request succeeds', async () => {
    const app = `grantkit-fault-${process.pid}-${Date.now()}`
    const { storage, pool } = outage(prefix, POSTGRES_URL, { application_name: app })
    const { server } = makeServer({ storage, accessTokenFormat: 'opaque' })
    expect((await tokenOnce(server)).status).toBe(200)
    const before = await rows()

    // Hold a lock so the token's INSERT waits, then kill the backend that waits.
    const locker = await db.pool.connect()
    await locker.query('BEGIN')
    await locker.query(`LOCK TABLE ${prefix}access_tokens IN ACCESS EXCLUSIVE MODE`)
    const pending = tokenOnce(server)
    await expect
      .poll(async () => (await db.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [app])).rows[0].n, { timeout: 5000 })
      .toBe(1)
    await db.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [app])
    const res = await pending
    await locker.query('ROLLBACK')
    locker.release()
    expect(res.status).toBe(503)
    expect(json(res).error).toBe('temporarily_unavailable')
    expect(await rows()).toBe(before)

    expect((await tokenOnce(server)).status).toBe(200)
    expect(await rows()).toBe(before + 1)
    await pool.end()
  })

  it('survives idle connections being terminated: no crash, the pool reconnects', async () => {
    const app = `grantkit-idle-${process.pid}-${Date.now()}`
    const { storage, pool, errors } = outage(prefix, POSTGRES_URL, { application_name: app })
    await Promise.all([storage.replay.markUsed('a', 1e10), storage.replay.markUsed('b', 1e10)])
    await db.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [app])
    // Each idle connection reports its end through onError, and the pool drops it.
    await expect.poll(() => errors.length).toBe(2)
    expect(errors[0]).toBeInstanceOf(StorageUnavailableError)
    expect(pool.totalCount).toBe(0)
    expect(await storage.replay.markUsed('c', 1e10)).toBe(true)
    expect(await storage.replay.markUsed('a', 1e10)).toBe(false)
    await pool.end()
  })
})
