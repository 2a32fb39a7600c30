import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createAuthorizationServer, type AuthorizationServer, type Storage } from '../../src/index.js'
import { createPostgresStorage } from '../../src/storage/postgres/index.js'
import { createRedisStorage } from '../../src/storage/redis/index.js'
import { clientCutoffKey, consentCutoffKey, subjectCutoffKey } from '../../src/tokens/cutoff.js'
import { basic, clients, ISSUER, json, tokenRequest } from '../helpers.js'
import { describePostgres, pgTables } from './pg-harness.js'
import { POSTGRES_URL, REDIS_URL } from './services.js'

/*
 * Issue 16: round trips to the database per request, counted at the driver
 * (pg client queries, ioredis commands), and the cutoff folded into the token
 * read without weakening it: a cutoff written through another process's
 * storage is in force at the very next introspection.
 */

const rs = { client_id: 'rs', client_secret: 'rs-secret', grant_types: ['client_credentials'], scope: 'api:read', introspection_allowed: true }

function serverOn(storage: Storage): AuthorizationServer {
  return createAuthorizationServer({ issuer: ISSUER, clients: [...clients, rs], storage, accessTokenFormat: 'opaque' })
}

const issue = async (server: AuthorizationServer): Promise<string> => {
  const res = await server.token(tokenRequest({ grant_type: 'client_credentials', scope: 'api:read' }, { authorization: basic('svc', 'svc-secret') }))
  expect(res.status).toBe(200)
  return json(res).access_token as string
}
const introspect = async (server: AuthorizationServer, token: string): Promise<Record<string, unknown>> =>
  json(await server.handle(tokenRequest({ token }, { authorization: basic('rs', 'rs-secret') }, '/introspect')))

/** The checks every backend passes, given a counter of its round trips and two storages on one database. */
function suite(setup: () => Promise<{ a: Storage; b: Storage; count: () => number; close: () => Promise<void> }>) {
  let env: Awaited<ReturnType<typeof setup>>
  afterAll(async () => env?.close())

  it('issues a client_credentials token in 1 round trip and introspects it in 1', async () => {
    env = await setup()
    const server = serverOn(env.a)
    await introspect(server, await issue(server)) // warm-up: the layout check, prepared statements
    // The start-up's background reads (stored clients that configured ones shadow) end; then nothing runs while idle.
    await new Promise((r) => setTimeout(r, 300))
    let before = env.count()
    await new Promise((r) => setTimeout(r, 100))
    expect(env.count()).toBe(before)
    const token = await issue(server)
    expect(env.count() - before).toBe(1)
    before = env.count()
    expect((await introspect(server, token)).active).toBe(true)
    expect(env.count() - before).toBe(1)
  })

  it('a cutoff set through another process is in force at the next introspection, for each of its keys', async () => {
    const a = serverOn(env.a)
    for (const key of [clientCutoffKey('svc'), consentCutoffKey('svc', 'svc'), subjectCutoffKey('svc')]) {
      const token = await issue(a)
      expect((await introspect(a, token)).active).toBe(true)
      // Another process (its own storage, its own connections) revokes; no cache may keep the token alive here.
      await env.b.tokenCutoffs!.set(key, Math.floor(Date.now() / 1000), Math.floor(Date.now() / 1000) + 3600)
      expect(await introspect(a, token)).toEqual({ active: false })
      // Tokens issued later than the cutoff's second live again.
      await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)))
      expect((await introspect(a, await issue(a))).active).toBe(true)
    }
  }, 20_000)
}

describePostgres('PostgreSQL round trips (issue 16)', () => {
  const db = pgTables()
  suite(async () => {
    const prefix = await db.fresh()
    let queries = 0
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 })
    pool.on('error', () => {})
    // Every statement on a pooled client, however it is sent (pool.query checks a client out too).
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown
      ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        queries++
        return query(...args)
      }
    })
    const a = createPostgresStorage({ pool, tablePrefix: prefix })
    const b = createPostgresStorage({ pool: db.pool, tablePrefix: prefix })
    return { a, b, count: () => queries, close: () => pool.end() }
  })
})

describe('Redis round trips (issue 16)', () => {
  suite(async () => {
    const prefix = `gkrt-${randomBytes(4).toString('hex')}:`
    const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
    const other = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
    let commands = 0
    const send = client.sendCommand.bind(client)
    client.sendCommand = ((...args: Parameters<typeof send>) => {
      commands++
      return send(...args)
    }) as typeof client.sendCommand
    const a = createRedisStorage({ client, prefix })
    const b = createRedisStorage({ client: other, prefix })
    return {
      a,
      b,
      count: () => commands,
      async close() {
        const keys = await other.keys(`${prefix}*`)
        if (keys.length > 0) await other.del(...keys)
        client.disconnect()
        other.disconnect()
      },
    }
  })
})
