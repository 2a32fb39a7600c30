import { REDIS_URL } from '../storage/services.js'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { createAuthorizationServer, type Storage } from '../../src/index.js'
import { createPostgresStorage, migrate } from '../../src/storage/postgres/index.js'
import { createRedisStorage } from '../../src/storage/redis/index.js'
import { counterIds, fakeClock, ISSUER } from '../helpers.js'
import { postgresAvailable, POSTGRES_URL } from '../storage/pg-harness.js'
import { body, manageRequest, registerRequest } from './fixtures.js'

/*
 * RFC 7592 on the shared backends: the registration access token's hash is
 * part of the stored client record, so two servers on one database see the
 * same token, and a rotation at one kills the old token at the other at once.
 */

const closers: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {})
})

async function postgresPair(now: () => number): Promise<[Storage, Storage]> {
  const prefix = `gkr${randomBytes(4).toString('hex')}_`
  const pools = [new pg.Pool({ connectionString: POSTGRES_URL, max: 2 }), new pg.Pool({ connectionString: POSTGRES_URL, max: 2 })]
  for (const p of pools) p.on('error', () => {})
  await migrate(pools[0]!, { tablePrefix: prefix })
  closers.push(async () => {
    const tables = await pools[0]!.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE tablename LIKE $1`, [`${prefix.replace(/_/g, '\\_')}%`])
    if (tables.rows.length > 0) await pools[0]!.query(`DROP TABLE IF EXISTS ${tables.rows.map((r) => r.tablename).join(', ')} CASCADE`)
    for (const p of pools) await p.end()
  })
  return [createPostgresStorage({ pool: pools[0]!, tablePrefix: prefix, now }), createPostgresStorage({ pool: pools[1]!, tablePrefix: prefix, now })]
}

async function redisPair(now: () => number): Promise<[Storage, Storage]> {
  const prefix = `gkr:${randomBytes(4).toString('hex')}:`
  const a = createRedisStorage({ client: REDIS_URL, prefix, now })
  const b = createRedisStorage({ client: REDIS_URL, prefix, now })
  closers.push(async () => {
    const keys = await a.client.keys(`${prefix}*`)
    if (keys.length > 0) await a.client.del(...keys)
    await a.close()
    await b.close()
  })
  return [a, b]
}

const redisUp = await (async () => {
  const { Redis } = await import('ioredis')
  const c = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  c.on('error', () => {})
  try {
    await c.connect()
    return (await c.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    c.disconnect()
  }
})()

const backends: Array<[string, (now: () => number) => Promise<[Storage, Storage]>, boolean]> = [
  ['postgres', postgresPair, await postgresAvailable()],
  ['redis', redisPair, redisUp],
]

for (const [name, open, available] of backends) {
  describe.skipIf(!available)(`registration on ${name}, two servers`, () => {
    it('registers at one, rotates the token at the other; the old token is dead at both at once', async () => {
      const clock = fakeClock()
      const [sa, sb] = await open(clock.now)
      const make = (storage: Storage) =>
        createAuthorizationServer({ issuer: ISSUER, clients: [], storage, registration: { enabled: true }, deps: { now: clock.now, randomId: counterIds(`${name}-${randomBytes(3).toString('hex')}`) } })
      const [a, b] = [make(sa), make(sb)]
      const reg = body(await a.handle(registerRequest({ grant_types: ['client_credentials'], scope: 'api:read' })))
      expect(reg.registration_access_token).toBeTruthy()
      expect((await b.handle(manageRequest('GET', reg.registration_client_uri, reg.registration_access_token))).status).toBe(200)
      const put = await b.handle(manageRequest('PUT', reg.registration_client_uri, reg.registration_access_token, { client_id: reg.client_id, grant_types: ['client_credentials'] }))
      expect(put.status, put.body).toBe(200)
      expect((await a.handle(manageRequest('GET', reg.registration_client_uri, reg.registration_access_token))).status).toBe(401)
      const fresh = body(put).registration_access_token
      expect((await a.handle(manageRequest('DELETE', reg.registration_client_uri, fresh))).status).toBe(204)
      expect((await b.handle(manageRequest('GET', reg.registration_client_uri, fresh))).status).toBe(401)
    })
  })
}
