import { REDIS_URL } from '../storage/services.js'
import { SCHEMA_VERSION, versionTable } from '../../src/storage/postgres/schema.js'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { checkHealth, createMemoryStorage, KeyRing, StorageNotMigratedError, type KeyStore } from '../../src/index.js'
import { createPostgresStorage, type PostgresStorage } from '../../src/storage/postgres/index.js'
import { createRedisStorage } from '../../src/storage/redis/index.js'
import { layoutKey } from '../../src/storage/redis/layout.js'
import { basic, makeServer, tokenRequest } from '../helpers.js'
import { describePostgres, pgTables, POSTGRES_URL } from '../storage/pg-harness.js'
import { captureLogger } from './capture.js'

describe('checkHealth', () => {
  it('is ok for a server on memory storage with its keys', async () => {
    const { server } = makeServer()
    expect(await checkHealth(server)).toEqual({ status: 'ok', checks: { storage: { status: 'ok' }, keys: { status: 'ok' } } })
  })

  it('fails the keys check when the key store has no usable key', async () => {
    const ring = new KeyRing()
    const broken: KeyStore = {
      signingKey: () => { throw new Error('shared keys: no key loaded') },
      publishedKeys: (now) => ring.publishedKeys(now),
      findKey: (kid, now) => ring.findKey(kid, now),
      signingKeyFor: (alg, now) => ring.signingKeyFor(alg, now),
    }
    const { server } = makeServer({ keys: broken })
    expect(await checkHealth(server)).toEqual({ status: 'fail', checks: { storage: { status: 'ok' }, keys: { status: 'fail', detail: 'no usable signing key' } } })
  })

  it('fails, within its timeout, a storage that does not answer', async () => {
    const storage = createMemoryStorage()
    const logger = captureLogger()
    const { server } = makeServer({ storage: { ...storage, probe: () => new Promise<void>(() => {}) }, logger })
    const started = Date.now()
    const report = await checkHealth(server, { timeout: 0.1 })
    expect(Date.now() - started).toBeLessThan(1000)
    expect(report).toEqual({ status: 'fail', checks: { storage: { status: 'fail', detail: 'no answer within 0.1 s' }, keys: { status: 'ok' } } })
    expect(logger.lines).toEqual([{ level: 'warn', obj: { check: 'storage', detail: 'no answer within 0.1 s' }, msg: 'health check failed: storage' }])
  })

  it('reports a storage that is not migrated with what to run, at error in the log', async () => {
    const storage = createMemoryStorage()
    const logger = captureLogger()
    const probe = async () => { throw new StorageNotMigratedError('postgres: schema version 2, this grantkit needs 4; run migrate()') }
    const { server } = makeServer({ storage: { ...storage, probe }, logger })
    const report = await checkHealth(server)
    expect(report.checks.storage).toEqual({ status: 'fail', detail: 'not migrated: postgres: schema version 2, this grantkit needs 4; run migrate()' })
    expect(logger.lines[0]!.level).toBe('error')
  })

  it("falls back to a lookup for a storage without probe, and keeps a driver's message out of the report", async () => {
    const storage = createMemoryStorage()
    const logger = captureLogger()
    const { probe: _none, ...plain } = storage as typeof storage & { probe?: unknown }
    const failing = { ...plain, accessTokens: { ...storage.accessTokens, find: async () => { throw new Error('connect to 10.1.2.3:5432 failed') } } }
    const { server } = makeServer({ storage: failing, logger })
    const report = await checkHealth(server)
    expect(report.checks.storage).toEqual({ status: 'fail', detail: 'probe failed (Error)' })
    expect(JSON.stringify(report)).not.toContain('10.1.2.3')
    expect(logger.lines[0]!.obj.err).toEqual({ name: 'Error', message: 'connect to 10.1.2.3:5432 failed' })
  })

  it('refuses a timeout that is not a positive number of seconds', async () => {
    const { server } = makeServer()
    await expect(checkHealth(server, { timeout: 0 })).rejects.toThrow('timeout: must be a positive number of seconds')
  })
})

describePostgres('checkHealth on PostgreSQL', () => {
  const tables = pgTables()
  const opened: PostgresStorage[] = []
  afterAll(async () => {
    for (const s of opened) await s.close()
  })
  const storageOn = (prefix: string, connectionString = POSTGRES_URL): PostgresStorage => {
    const s = createPostgresStorage({ connectionString, tablePrefix: prefix })
    opened.push(s)
    return s
  }

  it('is ok on a migrated database', async () => {
    const { server } = makeServer({ storage: storageOn(await tables.fresh()) })
    expect((await checkHealth(server)).status).toBe('ok')
  })

  it('stays ok on a schema a newer grantkit migrated, so old processes keep serving through a rolling upgrade', async () => {
    const prefix = await tables.fresh()
    const storage = storageOn(prefix)
    await storage.pool.query(`INSERT INTO ${versionTable(prefix)} (version, description) VALUES (${SCHEMA_VERSION + 1}, 'from a later grantkit')`)
    const { server } = makeServer({ storage })
    expect(await checkHealth(server)).toMatchObject({ status: 'ok' })
  })

  it('fails on tables not migrated, saying what to run', async () => {
    const { server } = makeServer({ storage: storageOn(tables.name()) })
    const report = await checkHealth(server)
    expect(report.status).toBe('fail')
    expect(report.checks.storage.detail).toMatch(/^not migrated: postgres: the tables prefixed "gk\w+" are at schema version 0, this grantkit needs \d+; create the tables with migrate\(\) \(grantkit migrate --storage postgres:\/\/…\)/)
  })

  it('fails on a database that cannot be reached, without naming it', async () => {
    const url = new URL(POSTGRES_URL)
    url.port = '1'
    const { server } = makeServer({ storage: storageOn('grantkit_', url.toString()) })
    const report = await checkHealth(server)
    expect(report.checks.storage).toEqual({ status: 'fail', detail: 'unreachable' })
  })

  it('answers a request on tables not migrated with 503 and a log line saying what to run, not a bare 500', async () => {
    const logger = captureLogger()
    const { server } = makeServer({ storage: storageOn(tables.name()), accessTokenFormat: 'opaque', logger })
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(logger.lines).toEqual([
      expect.objectContaining({ level: 'error', obj: expect.objectContaining({ status: 503, reason: expect.stringMatching(/^storage not migrated: postgres: relation "gk\w+access_tokens" does not exist; create the tables with migrate\(\) \(grantkit migrate/) }) }),
    ])
  })
})


describe('checkHealth on Redis', () => {
  it('fails while Redis cannot be reached', async () => {
    const storage = createRedisStorage({ client: 'redis://127.0.0.1:1' })
    try {
      const { server } = makeServer({ storage })
      expect((await checkHealth(server)).checks.storage).toEqual({ status: 'fail', detail: 'unreachable' })
    } finally {
      await storage.close()
    }
  })

  it('is ok on a reachable Redis, and fails on a key layout it does not know', async () => {
    const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 })
    probe.on('error', () => {})
    const up = await probe.connect().then(() => true, () => false)
    if (!up) {
      if (process.env.CI === 'true') throw new Error(`Redis at ${REDIS_URL} is unreachable and CI=true`)
      probe.disconnect()
      return
    }
    const prefix = `gkhealth${Date.now()}:`
    const storage = createRedisStorage({ client: REDIS_URL, prefix })
    try {
      const { server } = makeServer({ storage })
      expect((await checkHealth(server)).status).toBe('ok')
      await probe.set(layoutKey(prefix), '99')
      const report = await checkHealth(server)
      expect(report.checks.storage.status).toBe('fail')
      expect(report.checks.storage.detail).toMatch(/use layout "99"/)
    } finally {
      await probe.del(layoutKey(prefix))
      probe.disconnect()
      await storage.close()
    }
  })
})
