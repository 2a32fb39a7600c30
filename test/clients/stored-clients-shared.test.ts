import { REDIS_URL } from '../storage/services.js'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { createAuthorizationServer, type AuthorizationServer, type Storage } from '../../src/index.js'
import { createPostgresStorage, migrate } from '../../src/storage/postgres/index.js'
import { createRedisStorage, redisFailFastOptions } from '../../src/storage/redis/index.js'
import { basic, counterIds, fakeClock, ISSUER, tokenRequest } from '../helpers.js'
import { postgresAvailable, POSTGRES_URL } from '../storage/pg-harness.js'

/*
 * Two servers, each with its own storage connection, on one PostgreSQL
 * database and on one Redis: what one changes is in force on the other within
 * clientCacheTtl, and not before.
 */

const TTL = 20

async function redisAvailable(): Promise<boolean> {
  const client = new Redis(REDIS_URL, { ...redisFailFastOptions, lazyConnect: true, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    if (process.env.CI === 'true') throw new Error(`Redis at ${REDIS_URL} is unreachable and CI=true`)
    return false
  } finally {
    client.disconnect()
  }
}

interface Backend {
  /** A fresh namespace and two storages on it with separate connections, on `now`. */
  open(now: () => number): Promise<{ a: Storage; b: Storage }>
}

const closers: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {})
})

const postgres: Backend = {
  async open(now) {
    const prefix = `gkc${randomBytes(4).toString('hex')}_`
    const pools = [new pg.Pool({ connectionString: POSTGRES_URL, max: 3 }), new pg.Pool({ connectionString: POSTGRES_URL, max: 3 })]
    for (const p of pools) p.on('error', () => {})
    await migrate(pools[0]!, { tablePrefix: prefix })
    const [a, b] = pools.map((pool) => createPostgresStorage({ pool, tablePrefix: prefix, now }))
    closers.push(async () => {
      const tables = await pools[0]!.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE tablename LIKE $1`, [`${prefix.replace(/_/g, '\\_')}%`])
      if (tables.rows.length > 0) await pools[0]!.query(`DROP TABLE IF EXISTS ${tables.rows.map((r) => r.tablename).join(', ')} CASCADE`)
      for (const p of pools) await p.end()
    })
    return { a: a!, b: b! }
  },
}

const redis: Backend = {
  async open(now) {
    const prefix = `gkc:${randomBytes(4).toString('hex')}:`
    const [a, b] = [createRedisStorage({ client: REDIS_URL, prefix, now }), createRedisStorage({ client: REDIS_URL, prefix, now })]
    closers.push(async () => {
      const keys: string[] = []
      let cursor = '0'
      do {
        const [next, found] = await a.client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
        cursor = next
        keys.push(...found)
      } while (cursor !== '0')
      if (keys.length > 0) await a.client.del(...keys)
      await a.close()
      await b.close()
    })
    return { a, b }
  },
}

const backends: Array<[string, Backend, boolean]> = [
  ['postgres', postgres, await postgresAvailable()],
  ['redis', redis, await redisAvailable()],
]

const service = { grant_types: ['client_credentials'], scope: 'api:read api:write' }

async function status(server: AuthorizationServer, id: string, secret: string, scope?: string): Promise<number> {
  const res = await server.token(tokenRequest({ grant_type: 'client_credentials', ...(scope !== undefined && { scope }) }, { authorization: basic(id, secret) }))
  return res.status
}

for (const [name, backend, available] of backends) {
  describe.skipIf(!available)(`stored clients shared by two servers on ${name}`, () => {
    async function pair() {
      const clock = fakeClock()
      const { a, b } = await backend.open(clock.now)
      const make = (storage: Storage) =>
        createAuthorizationServer({ issuer: ISSUER, clients: [], storage, clientCacheTtl: TTL, deps: { now: clock.now, randomId: counterIds(name) } })
      return { clock, a: make(a), b: make(b) }
    }

    it(`a deletion is in force on the other server after ${TTL} s, and not before`, async () => {
      const { clock, a, b } = await pair()
      const { client, secret } = await a.clients.create(service)
      expect(await status(b, client.clientId, secret!)).toBe(200)
      await a.clients.delete(client.clientId)
      expect(await status(a, client.clientId, secret!)).toBe(401)
      clock.advance(TTL - 1)
      expect(await status(b, client.clientId, secret!)).toBe(200)
      clock.advance(1)
      expect(await status(b, client.clientId, secret!)).toBe(401)
    })

    it('an update is in force on the other server within the bound', async () => {
      const { clock, a, b } = await pair()
      const { client, secret } = await a.clients.create(service)
      expect(await status(b, client.clientId, secret!, 'api:write')).toBe(200)
      await a.clients.update(client.clientId, { ...service, scope: 'api:read' })
      clock.advance(TTL - 1)
      expect(await status(b, client.clientId, secret!, 'api:write')).toBe(200)
      clock.advance(1)
      expect(await status(b, client.clientId, secret!, 'api:write')).toBe(400)
      expect(await status(b, client.clientId, secret!, 'api:read')).toBe(200)
    })

    it('a rotated secret works on the other server at once, and the old one ends at its time', async () => {
      const { clock, a, b } = await pair()
      const { client, secret: old } = await a.clients.create(service)
      expect(await status(b, client.clientId, old!)).toBe(200)
      clock.advance(2)
      const rotated = await a.clients.rotateSecret(client.clientId, { oldSecretValidUntil: clock.now() + 10 })
      expect(await status(b, client.clientId, rotated.secret)).toBe(200)
      expect(await status(b, client.clientId, old!)).toBe(200)
      clock.advance(10)
      expect(await status(b, client.clientId, old!)).toBe(401)
      expect(await status(a, client.clientId, old!)).toBe(401)
    })

    it('a concurrent rotation from both servers leaves exactly one secret in force with the version counted once per change', async () => {
      const { a, b } = await pair()
      const { client } = await a.clients.create(service)
      const [ra, rb] = await Promise.all([a.clients.rotateSecret(client.clientId, { oldSecretValidUntil: 0 }), b.clients.rotateSecret(client.clientId, { oldSecretValidUntil: 0 })])
      const stored = await a.clients.get(client.clientId)
      expect(stored?.version).toBe(3)
      const ok = [await status(a, client.clientId, ra.secret), await status(a, client.clientId, rb.secret)]
      expect(ok.sort()).toEqual([200, 401])
    })
  })
}
