import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuthorizationServer, hashToken, StorageUnavailableError, type AuthorizationServer, type Storage } from '../../src/index.js'
import { createPostgresStorage } from '../../src/storage/postgres/index.js'
import { createRedisStorage, redisFailFastOptions } from '../../src/storage/redis/index.js'
import { basic, clients, counterIds, ISSUER, json, tokenRequest } from '../helpers.js'
import { PG_MODULES, REDIS_MODULES } from './client-modules.js'
import { FreezeProxy, throughProxy } from './freeze-proxy.js'
import { describePostgres, pgTables } from './pg-harness.js'
import { deleteRedisPrefix, redisAnswers } from './redis-harness.js'
import { ENDPOINTS, POSTGRES_URL, REDIS_URL, withDeadline } from './services.js'

/*
 * Issue 16, frozen database: with the database stopped (not closed), a request
 * already sent must get 503 temporarily_unavailable with Retry-After within the
 * storage's deadline, and once the database answers again the storage must
 * work, on connections that carry no late answer of a call that gave up. The
 * freeze is a proxy's (FreezeProxy), never the shared server's.
 */

/** The storage's deadline in these tests, seconds; the margin allows for a loaded machine. */
const TIMEOUT = 0.6
const MARGIN_MS = 1500

const web = {
  client_id: 'web',
  token_endpoint_auth_method: 'none' as const,
  redirect_uris: ['https://app.example/cb'],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  scope: 'openid',
}

function serverOn(storage: Storage): AuthorizationServer {
  return createAuthorizationServer({ issuer: ISSUER, clients: [...clients, web], interaction: { url: (uid) => `https://login.example/${uid}` }, storage, accessTokenFormat: 'opaque', deps: { randomId: counterIds() } })
}

const token = (server: AuthorizationServer) => server.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))
const authorize = (server: AuthorizationServer) =>
  server.authorize({
    method: 'GET',
    url: new URL(`${ISSUER}/authorize?client_id=web&response_type=code&redirect_uri=${encodeURIComponent('https://app.example/cb')}&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`),
    headers: {},
  })

/** The response and how long it took, in milliseconds. */
async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now()
  const value = await work
  return { value, ms: performance.now() - start }
}

/** What every backend must show while frozen and after. */
function freezeSuite(setup: () => Promise<{ storage: Storage; proxy: FreezeProxy; accessTokenOf: (hash: string) => Promise<unknown>; close: () => Promise<void> }>) {
  let env: Awaited<ReturnType<typeof setup>>
  let server: AuthorizationServer
  beforeAll(async () => {
    env = await setup()
    server = serverOn(env.storage)
  })
  afterAll(async () => {
    env.proxy.thaw()
    await env.close()
    await env.proxy.stop()
  })

  it('answers a request in flight with 503 and Retry-After within the deadline, and works again after the freeze without reusing a stale connection', async () => {
    expect((await token(server)).status).toBe(200)
    env.proxy.freeze()
    // Two requests already sent when the database stops answering, and one more after.
    const first = timed(token(server))
    const second = timed(token(server))
    const { value: page, ms: pageMs } = await timed(authorize(server))
    for (const { value: res, ms } of [await first, await second]) {
      expect(res.status).toBe(503)
      expect(json(res).error).toBe('temporarily_unavailable')
      expect(res.headers['retry-after']).toBe('5')
      expect(ms).toBeLessThan(TIMEOUT * 1000 + MARGIN_MS)
    }
    // The authorization endpoint's page says the same to a person, Retry-After included.
    expect(page.status).toBe(503)
    expect(page.headers['retry-after']).toBe('5')
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.headers.location).toBeUndefined()
    expect(pageMs).toBeLessThan(TIMEOUT * 1000 + MARGIN_MS)
    // Held long enough that every late answer is due once the proxy forwards again.
    await new Promise((r) => setTimeout(r, 300))
    env.proxy.thaw()

    // Each call gets its own answer: a token stored now is the one found.
    for (let i = 0; i < 3; i++) {
      const res = await withDeadline(10_000, 'token after thaw', () => token(server))
      expect(res.status).toBe(200)
      const accessToken = json(res).access_token as string
      expect(await env.accessTokenOf(hashToken(accessToken))).toMatchObject({ clientId: 'svc' })
    }
  })

  it('holds a token save that waited behind a stuck batch to its own deadline, not a deadline more', async () => {
    const record = () => ({ id: randomBytes(4).toString('hex'), tokenHash: randomBytes(16).toString('hex'), clientId: 'svc', sub: 'svc', scope: 'api:read', audience: ['x'], issuedAt: 1, expiresAt: 4e9 })
    // Connected first: the freeze is to hit a statement, not the connection's set-up.
    await env.storage.accessTokens.save(record())
    env.proxy.freeze()
    try {
      const failed = (p: Promise<void>) => p.then(() => undefined, (e: unknown) => e)
      // The first save goes out and hangs; the next ones, made while it hangs, wait for the next batch.
      const stuck = timed(failed(env.storage.accessTokens.save(record())))
      await new Promise((r) => setTimeout(r, TIMEOUT * 100))
      const waiting = [timed(failed(env.storage.accessTokens.save(record()))), timed(failed(env.storage.accessTokens.save(record())))]
      // Sent with a fresh deadline once the stuck one failed, they would take almost two deadlines (about 1.1 s).
      for (const { value: err, ms } of [await stuck, ...(await Promise.all(waiting))]) {
        expect(err).toBeInstanceOf(StorageUnavailableError)
        expect(ms).toBeLessThan(TIMEOUT * 1000 + 350)
      }
    } finally {
      env.proxy.thaw()
    }
  })

  it('fails a storage call itself, not only the endpoint, with StorageUnavailableError past the deadline', async () => {
    env.proxy.freeze()
    try {
      const { value: err, ms } = await timed(env.storage.replay.markUsed(`k-${randomBytes(4).toString('hex')}`, 4e9).then(() => undefined, (e: unknown) => e))
      expect(err).toBeInstanceOf(StorageUnavailableError)
      expect(ms).toBeLessThan(TIMEOUT * 1000 + MARGIN_MS)
    } finally {
      env.proxy.thaw()
    }
    expect(await env.storage.replay.markUsed(`k-${randomBytes(4).toString('hex')}`, 4e9)).toBe(true)
  })
}

describePostgres.each(PG_MODULES)('frozen PostgreSQL ($name), issue 16', ({ Pool }) => {
  const db = pgTables()
  freezeSuite(async () => {
    const prefix = await db.fresh()
    const proxy = new FreezeProxy(ENDPOINTS.postgres.host, ENDPOINTS.postgres.port)
    await proxy.start()
    const pool = new Pool({ connectionString: throughProxy(POSTGRES_URL, proxy), max: 4, connectionTimeoutMillis: 5000 })
    pool.on('error', () => {})
    const storage = createPostgresStorage({ pool, tablePrefix: prefix, timeout: TIMEOUT })
    return {
      storage,
      proxy,
      accessTokenOf: (hash) => storage.accessTokens.find(hash),
      close: async () => {
        await pool.end()
        await db.drop(prefix)
      },
    }
  })

  it('destroys a connection whose statement outlived the deadline instead of returning it to the pool', async () => {
    const prefix = await db.fresh()
    const proxy = new FreezeProxy(ENDPOINTS.postgres.host, ENDPOINTS.postgres.port)
    await proxy.start()
    const pool = new Pool({ connectionString: throughProxy(POSTGRES_URL, proxy), max: 1, connectionTimeoutMillis: 5000 })
    pool.on('error', () => {})
    const removed: unknown[] = []
    pool.on('remove', (c) => removed.push(c))
    const storage = createPostgresStorage({ pool, tablePrefix: prefix, timeout: TIMEOUT })
    try {
      await storage.replay.markUsed('warm', 4e9)
      expect(pool.totalCount).toBe(1)
      proxy.freeze()
      await expect(storage.replay.markUsed('during', 4e9)).rejects.toBeInstanceOf(StorageUnavailableError)
      // Out of the pool at once, and its socket closed (the proxy sees it go) even though the server never answered.
      expect(pool.totalCount).toBe(0)
      await expect.poll(() => removed.length, { timeout: 2000 }).toBe(1)
      // A transaction is held to the same deadline, and its connection goes the same way.
      // (Here it is still waiting for a new connection, which the frozen server never completes: no stale one is handed out.)
      await expect(storage.keys.initialize({ kid: 'k', privateJwk: '{}', activeFrom: 0, createdAt: 0 })).rejects.toBeInstanceOf(StorageUnavailableError)
      expect(pool.idleCount).toBe(0)
      proxy.thaw()
      // 'during' may or may not have been recorded: the server got it. Either way the answer is this call's own.
      expect(await storage.replay.markUsed('after', 4e9)).toBe(true)
      expect(await storage.replay.markUsed('after', 4e9)).toBe(false)
    } finally {
      proxy.thaw()
      await pool.end()
      await proxy.stop()
      await db.drop(prefix)
    }
  })

  it('sets the deadline as statement_timeout on a pool it creates, so the server cancels a statement stuck on a lock', async () => {
    const prefix = await db.fresh()
    const storage = createPostgresStorage({ connectionString: POSTGRES_URL, tablePrefix: prefix, timeout: TIMEOUT })
    const shown = await storage.pool.query<{ statement_timeout: string }>('SHOW statement_timeout')
    expect(shown.rows[0]!.statement_timeout).toBe(`${Math.ceil(TIMEOUT * 1000)}ms`)
    await storage.close()
    await db.drop(prefix)
  })

  it('refuses a timeout that is not a positive number of seconds', () => {
    expect(() => createPostgresStorage({ connectionString: POSTGRES_URL, timeout: 0 })).toThrow(/^timeout: must be a positive number of seconds/)
    expect(() => createPostgresStorage({ connectionString: POSTGRES_URL, timeout: '2' as never })).toThrow(/^timeout:/)
  })
})

const redisUp = await redisAnswers()

/**
 * A Redis storage behind a freeze proxy, under a prefix of its own. `storageOn`
 * gets the proxied URL and makes the storage; `release` ends what it opened.
 */
async function frozenRedis(prefix: string, storageOn: (url: string) => { storage: Storage; release: () => unknown }) {
  const proxy = new FreezeProxy(ENDPOINTS.redis.host, ENDPOINTS.redis.port)
  await proxy.start()
  const { storage, release } = storageOn(throughProxy(REDIS_URL, proxy))
  return {
    storage,
    proxy,
    accessTokenOf: (hash: string) => storage.accessTokens.find(hash),
    close: async () => {
      await deleteRedisPrefix(prefix)
      await release()
    },
  }
}

describe.skipIf(!redisUp).each(REDIS_MODULES)('frozen Redis ($name), issue 16', ({ Redis: Client }) => {
  const prefix = `gk16-${randomBytes(4).toString('hex')}:`
  freezeSuite(() =>
    frozenRedis(prefix, (url) => {
      // A client of our own with the fail-fast options, as the docs ask, and the storage's deadline as its commandTimeout.
      const client = new Client(url, { ...redisFailFastOptions, commandTimeout: TIMEOUT * 1000 })
      client.on('error', () => {})
      return { storage: createRedisStorage({ client, prefix, timeout: TIMEOUT }), release: () => client.disconnect() }
    }),
  )
})

// The storage's own client (a URL) relies on its commandTimeout alone, with no timer of the storage racing it.
describe.skipIf(!redisUp)('frozen Redis, client made by the storage from a URL, issue 16', () => {
  const prefix = `gk16u-${randomBytes(4).toString('hex')}:`
  freezeSuite(() =>
    frozenRedis(prefix, (url) => {
      const storage = createRedisStorage({ client: url, prefix, timeout: TIMEOUT })
      return { storage, release: () => storage.close() }
    }),
  )
})

describe.skipIf(!redisUp)('Redis storage timeout option', () => {
  it('gives a client it creates the deadline as commandTimeout', async () => {
    const storage = createRedisStorage({ client: REDIS_URL, prefix: 'gk16-opt:', timeout: 0.25 })
    expect((storage.client as Redis).options.commandTimeout).toBe(250)
    await storage.close()
  })
  it('refuses a timeout that is not a positive number of seconds', () => {
    expect(() => createRedisStorage({ client: REDIS_URL, timeout: -1 })).toThrow(/^timeout: must be a positive number of seconds/)
  })
})
