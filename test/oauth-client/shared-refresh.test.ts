/**
 * A provider that rotates refresh tokens must never see the same one twice.
 * grantkit's server revokes the whole grant on reuse, so one duplicate refresh
 * would show. Two client instances (as two processes would be: their own
 * connections, their own in-flight maps) share one PostgreSQL or Redis store;
 * 20 concurrent getAccessToken calls across them make exactly one refresh.
 */
import type { Redis } from 'ioredis'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createOAuthClient,
  createPostgresTokenStore,
  createRedisTokenStore,
  grantkit,
  migratePostgresTokenStore,
  type OAuthClient,
  type TokenStore,
} from '../../src/oauth-client/index.js'
import { Browser, encryption, REDIRECT_URI, startGrantkit, users, type RunningGrantkit } from './harness.js'
import { clearPrefix, newPool, newRedis, postgres, redis, uniqueName } from './services.js'

let gk: RunningGrantkit
let skew = 0
const keys = encryption()

beforeAll(async () => {
  gk = await startGrantkit(() => ({
    clients: [{ client_id: 'web', client_secret: 'web-secret', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], scope: 'openid offline_access api:read' }],
    users,
  }))
})

afterAll(async () => {
  await gk?.close()
})

function clientOver(store: TokenStore): OAuthClient {
  return createOAuthClient({
    providers: [grantkit({ issuer: gk.issuer, clientId: 'web', clientSecret: 'web-secret', redirectUri: REDIRECT_URI, scopes: ['openid', 'offline_access', 'api:read'] })],
    store,
    encryption: keys,
    deps: { now: () => Date.now() / 1000 + skew },
  })
}

const count = (key: string) => gk.grantCounts.get(key) ?? 0

async function exercise(a: OAuthClient, b: OAuthClient, subject: string): Promise<void> {
  skew = 0
  const { url, pending } = await a.startAuthorization('grantkit', { subject })
  const { leftTo } = await new Browser({ username: 'alice', password: 'wonderland', decision: 'allow' }).walk(url)
  const first = await a.completeAuthorization(leftTo!, pending)

  for (let round = 1; round <= 3; round++) {
    const before = count('refresh_token')
    skew += 3600
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).getAccessToken('grantkit', subject)))
    expect(new Set(tokens).size, `round ${round}: every caller gets the same token`).toBe(1)
    expect(tokens[0]).not.toBe(first.tokens.accessToken)
    expect(count('refresh_token'), `round ${round}: exactly one refresh request`).toBe(before + 1)
    expect(count('error:refresh_token:invalid_grant'), `round ${round}: no refresh token sent twice`).toBe(0)
  }
  // The grant is alive: the last token works and both instances see it.
  const res = await b.fetchWithToken('grantkit', subject, `${gk.issuer}/userinfo`)
  expect(res.status).toBe(200)
  expect(await a.getAccessToken('grantkit', subject)).toBe(await b.getAccessToken('grantkit', subject))
}

describe('two instances sharing a PostgreSQL store', () => {
  it.runIf(postgres.mustFail)('PostgreSQL must be reachable when CI=true', () => {
    throw new Error(postgres.message)
  })

  describe.skipIf(!postgres.available)('with PostgreSQL', () => {
    const table = uniqueName('grantkit_client_shared_test')
    const pools: pg.Pool[] = []
    beforeAll(async () => {
      pools.push(newPool(), newPool())
      await migratePostgresTokenStore(pools[0]!, { table })
    })
    afterAll(async () => {
      await pools[0]?.query(`DROP TABLE IF EXISTS ${table}`)
      await pools[0]?.query(`DROP TABLE IF EXISTS ${table}_used`)
      await Promise.all(pools.map((p) => p.end()))
    })

    it('20 concurrent getAccessToken calls make exactly one refresh request', async () => {
      const [a, b] = pools.map((p) => clientOver(createPostgresTokenStore(p, { table })))
      await exercise(a!, b!, 'alice-pg')
    })
  })
})

describe('two instances sharing a Redis store', () => {
  it.runIf(redis.mustFail)('Redis must be reachable when CI=true', () => {
    throw new Error(redis.message)
  })

  describe.skipIf(!redis.available)('with Redis', () => {
    const prefix = `${uniqueName('gk_shared')}:`
    const connections: Redis[] = []
    beforeAll(async () => {
      connections.push(newRedis(), newRedis())
      await Promise.all(connections.map((c) => c.connect()))
    })
    afterAll(async () => {
      if (connections[0] !== undefined) await clearPrefix(connections[0], prefix)
      connections.forEach((c) => c.disconnect())
    })

    it('20 concurrent getAccessToken calls make exactly one refresh request', async () => {
      const [a, b] = connections.map((c) => clientOver(createRedisTokenStore(c, { prefix })))
      await exercise(a!, b!, 'alice-redis')
    })
  })
})
