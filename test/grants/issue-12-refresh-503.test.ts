import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import {
  createAuthorizationServer,
  createMemoryStorage,
  hashToken,
  StorageUnavailableError,
  type AccessTokenStore,
  type AuthorizationServer,
  type GrantkitResponse,
  type RefreshTokenStore,
  type Storage,
} from '../../src/index.js'
import { createPostgresStorage } from '../../src/storage/postgres/index.js'
import { createRedisStorage, redisFailFastOptions } from '../../src/storage/redis/index.js'
import { basic, counterIds, fakeClock, ISSUER, json, tokenRequest } from '../helpers.js'
import { describePostgres, pgTables } from '../storage/pg-harness.js'
import { REDIS_URL, withDeadline } from '../storage/services.js'
import { defaultUsers } from '../users/fixtures.js'

/*
 * Issue 12: "a 503 on a refresh can cost the person their grant". The
 * rotation committed, the store failed before the new opaque access token was
 * stored, the client got 503 and kept its old refresh token, and its retry
 * read as reuse (RFC 9700 §4.14.2) and revoked the grant. A 503 must mean
 * nothing changed. Each backend is failed between the two writes, or in the
 * one step that replaced them.
 */

const CLIENT = { client_id: 'app', client_secret: 'app-secret', grant_types: ['password', 'refresh_token'], scope: 'api:read' }
const AUTH = { authorization: basic('app', 'app-secret') }

/** Switches that make a wrapped storage fail where issue 12 did. */
interface Faults {
  /** `accessTokens.save` throws StorageUnavailableError: the database went away after the rotation. */
  failAccessTokenSave?: boolean
  /** The atomic rotation that carries an access token throws StorageUnavailableError: the one step failed. */
  failRotationWithIssue?: boolean
  /** The refresh store hides `rotatesWithIssue`, as a backend written before it existed. */
  legacy?: boolean
}

const unavailable = (): Promise<never> => Promise.reject(new StorageUnavailableError('injected: the database went away'))

function faulty(storage: Storage, faults: Faults): Storage {
  const rt = storage.refreshTokens
  const refreshTokens: RefreshTokenStore = {
    save: (r) => rt.save(r),
    find: (h) => rt.find(h),
    revoke: (h) => rt.revoke(h),
    get rotatesWithIssue() {
      return faults.legacy === true ? undefined : rt.rotatesWithIssue
    },
    rotate(oldHash, next, issue) {
      if (faults.legacy === true && issue !== undefined) throw new Error('a store without rotatesWithIssue was given a third argument')
      if (faults.failRotationWithIssue === true && issue?.accessToken !== undefined) return unavailable()
      return issue === undefined ? rt.rotate(oldHash, next) : rt.rotate(oldHash, next, issue)
    },
  }
  const at = storage.accessTokens
  const accessTokens: AccessTokenStore = {
    save: (r) => (faults.failAccessTokenSave === true ? unavailable() : at.save(r)),
    find: (h) => at.find(h),
    revoke: (h) => at.revoke(h),
    revokeJti: (j, e) => at.revokeJti(j, e),
    isJtiRevoked: (j) => at.isJtiRevoked(j),
  }
  return { ...storage, refreshTokens, accessTokens }
}

interface Opened {
  storage: Storage
  clock: ReturnType<typeof fakeClock>
}

function serverOn(opened: Opened, faults: Faults): AuthorizationServer {
  return createAuthorizationServer({
    issuer: ISSUER,
    clients: [CLIENT],
    users: defaultUsers(),
    storage: faulty(opened.storage, faults),
    accessTokenFormat: 'opaque',
    deps: { now: opened.clock.now, randomId: counterIds() },
  })
}

async function firstTokens(server: AuthorizationServer): Promise<{ access_token: string; refresh_token: string }> {
  const res = await server.handle(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'api:read' }, AUTH))
  expect(res.status, res.body).toBe(200)
  return json(res) as { access_token: string; refresh_token: string }
}

const refresh = (server: AuthorizationServer, token: string): Promise<GrantkitResponse> =>
  server.handle(tokenRequest({ grant_type: 'refresh_token', refresh_token: token }, AUTH))

function expect503(res: GrantkitResponse): void {
  expect(res.status, res.body).toBe(503)
  expect(json(res).error).toBe('temporarily_unavailable')
  expect(json(res).refresh_token).toBeUndefined()
}

/** The old token refreshes, its successor refreshes in turn (the grant was not revoked), and the access tokens are stored. */
async function expectChainIntact(opened: Opened, oldToken: string): Promise<void> {
  const healthy = serverOn(opened, {})
  const retry = await refresh(healthy, oldToken)
  expect(retry.status, retry.body).toBe(200)
  const body = json(retry) as { access_token: string; refresh_token: string }
  expect(await opened.storage.accessTokens.find(hashToken(body.access_token))).toMatchObject({ sub: 'alice', clientId: 'app' })
  const next = await refresh(healthy, body.refresh_token)
  expect(next.status, next.body).toBe(200)
}

function suite(name: string, open: () => Promise<Opened & { close(): Promise<void> }>): void {
  describe(`issue 12, a refresh on ${name}: a 503 means nothing changed`, () => {
    it('the one step that rotates and stores the access token fails: 503, and the old refresh token still works (no reuse, grant kept)', async () => {
      const opened = await open()
      try {
        const { refresh_token } = await firstTokens(serverOn(opened, {}))
        expect503(await refresh(serverOn(opened, { failRotationWithIssue: true }), refresh_token))
        expect(await opened.storage.refreshTokens.find(hashToken(refresh_token))).toMatchObject({ rotated: false })
        await expectChainIntact(opened, refresh_token)
      } finally {
        await opened.close()
      }
    })

    it('stores the access token in the rotation itself: a separate save that would fail is never made', async () => {
      const opened = await open()
      try {
        const { refresh_token } = await firstTokens(serverOn(opened, {}))
        const res = await refresh(serverOn(opened, { failAccessTokenSave: true }), refresh_token)
        expect(res.status, res.body).toBe(200)
        const body = json(res) as { access_token: string }
        expect(await opened.storage.accessTokens.find(hashToken(body.access_token))).toMatchObject({ sub: 'alice', scope: 'api:read' })
      } finally {
        await opened.close()
      }
    })

    it('a backend without rotatesWithIssue fails between the rotation and the access-token save: 503, the rotation is undone, the old refresh token still works', async () => {
      const opened = await open()
      try {
        const { refresh_token } = await firstTokens(serverOn(opened, {}))
        expect503(await refresh(serverOn(opened, { legacy: true, failAccessTokenSave: true }), refresh_token))
        expect(await opened.storage.refreshTokens.find(hashToken(refresh_token))).toMatchObject({ rotated: false })
        await expectChainIntact(opened, refresh_token)
        // And it works end to end without faults: rotate, then save.
        const again = await firstTokens(serverOn(opened, {}))
        const res = await refresh(serverOn(opened, { legacy: true }), again.refresh_token)
        expect(res.status, res.body).toBe(200)
        expect(await opened.storage.accessTokens.find(hashToken(json(res).access_token as string))).not.toBeNull()
      } finally {
        await opened.close()
      }
    })

    it('still treats a second use of a token rotated by a delivered refresh as reuse, and revokes the grant', async () => {
      const opened = await open()
      try {
        const server = serverOn(opened, {})
        const { refresh_token } = await firstTokens(server)
        const ok = await refresh(server, refresh_token)
        expect(ok.status).toBe(200)
        expect((await refresh(server, refresh_token)).status).toBe(400)
        expect((await refresh(server, json(ok).refresh_token as string)).status).toBe(400)
      } finally {
        await opened.close()
      }
    })
  })
}

suite('memory', async () => {
  const clock = fakeClock()
  return { storage: createMemoryStorage({ now: clock.now }), clock, close: async () => {} }
})

describePostgres('postgres', () => {
  const db = pgTables()
  const open = async (): Promise<Opened & { prefix: string; close(): Promise<void> }> => {
    const clock = fakeClock()
    const prefix = await db.fresh()
    const storage = createPostgresStorage({ pool: db.pool, tablePrefix: prefix, now: clock.now })
    return { storage, clock, prefix, close: () => db.drop(prefix) }
  }
  suite('postgres', open)

  it('issue 12 on postgres: the access-token insert fails inside the rotation statement (connection lost): 503, and the old refresh token still works', async () => {
    const opened = await open()
    const { prefix } = opened
    try {
      const { refresh_token } = await firstTokens(serverOn(opened, {}))
      // A trigger fails the second write of the statement with SQLSTATE 08006
      // (connection failure), as a database going away between the writes would.
      await db.pool.query(`CREATE FUNCTION ${prefix}fail() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected: connection lost' USING ERRCODE = '08006'; END $$`)
      await db.pool.query(`CREATE TRIGGER ${prefix}fail BEFORE INSERT ON ${prefix}access_tokens FOR EACH ROW EXECUTE FUNCTION ${prefix}fail()`)
      expect503(await refresh(serverOn(opened, {}), refresh_token))
      expect(await opened.storage.refreshTokens.find(hashToken(refresh_token))).toMatchObject({ rotated: false })
      const rows = await db.pool.query(`SELECT count(*)::int AS n FROM ${prefix}refresh_tokens`)
      expect(rows.rows[0].n).toBe(1)
      await db.pool.query(`DROP TRIGGER ${prefix}fail ON ${prefix}access_tokens`)
      await expectChainIntact(opened, refresh_token)
    } finally {
      await db.pool.query(`DROP FUNCTION IF EXISTS ${prefix}fail() CASCADE`)
      await opened.close()
    }
  })
})

const redis = new Redis(REDIS_URL, { ...redisFailFastOptions, lazyConnect: true, retryStrategy: () => null })
redis.on('error', () => {})
// Bounded: no test timeout applies while the file is imported.
const redisUp = await withDeadline(3000, 'Redis', () => redis.connect()).then(
  () => true,
  () => false,
)
afterAll(() => void redis.disconnect())
;(redisUp ? describe : describe.skip)('redis', () => {
  const run = `grantkit-test:issue12:${Date.now().toString(36)}:`
  let n = 0
  const open = async (): Promise<Opened & { prefix: string; close(): Promise<void> }> => {
    const clock = fakeClock()
    const prefix = `${run}${++n}:`
    const storage = createRedisStorage({ client: redis, prefix, now: clock.now })
    return {
      storage,
      clock,
      prefix,
      async close() {
        const keys = await redis.keys(`${prefix}*`)
        if (keys.length > 0) await redis.del(...keys)
      },
    }
  }
  suite('redis', open)

  it('issue 12 on redis: a rotation whose access-token write fails inside the script leaves the old token unrotated and nothing stored', async () => {
    const opened = await open()
    try {
      const now = opened.clock.now()
      const rt = { tokenHash: 'r1', grantId: 'g', clientId: 'app', sub: 'alice', scope: 'api:read', issuedAt: now, expiresAt: now + 600, absoluteExpiresAt: now + 6000 }
      await opened.storage.refreshTokens.save(rt)
      // An expiry Redis refuses (PX out of range) makes the script fail at its first write.
      const bad = { id: 'a', tokenHash: 'a1', clientId: 'app', sub: 'alice', scope: 'api:read', audience: [], issuedAt: now, expiresAt: 1e30 }
      await expect(opened.storage.refreshTokens.rotate('r1', { ...rt, tokenHash: 'r2' }, { accessToken: bad })).rejects.toThrow()
      expect(await opened.storage.refreshTokens.find('r1')).toMatchObject({ rotated: false })
      expect(await opened.storage.refreshTokens.find('r2')).toBeNull()
      expect(await redis.exists(`${opened.prefix}at:a1`)).toBe(0)
    } finally {
      await opened.close()
    }
  })
})
