import { describe, expect, it } from 'vitest'
import type { AuthorizationCodeRecord, RefreshTokenRecord, Storage } from '../../src/index.js'

/** A storage under test, with the clock it reads (seconds) and a way to move it. */
export interface StorageHarness {
  storage: Storage
  now: () => number
  advance: (seconds: number) => void | Promise<void>
}

const code = (hash: string, now: number, over: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord => ({
  codeHash: hash,
  clientId: 'c',
  redirectUri: 'https://app.example/cb',
  redirectUriSent: true,
  scope: 'openid',
  sub: 'alice',
  grantId: 'g-' + hash,
  authTime: now,
  issuedAt: now,
  expiresAt: now + 60,
  ...over,
})

const refresh = (hash: string, now: number, over: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
  tokenHash: hash,
  grantId: 'g1',
  clientId: 'c',
  sub: 'alice',
  scope: 'openid offline_access',
  issuedAt: now,
  expiresAt: now + 600,
  absoluteExpiresAt: now + 6000,
  ...over,
})

/** The rules every Storage must keep. Runs against memory now; PostgreSQL and Redis join it later. */
export function storageContract(name: string, make: () => Promise<StorageHarness>): void {
  describe(`storage contract: ${name}`, () => {
    it('finds a saved opaque access token by hash until it expires', async () => {
      const h = await make()
      const now = h.now()
      await h.storage.accessTokens.save({ id: 't1', tokenHash: 'h1', clientId: 'c', sub: 's', scope: 'a', audience: ['x'], issuedAt: now, expiresAt: now + 10 })
      expect(await h.storage.accessTokens.find('h1')).toMatchObject({ id: 't1', clientId: 'c' })
      await h.advance(10)
      expect(await h.storage.accessTokens.find('h1')).toBeNull()
    })

    it('forgets a revoked opaque access token', async () => {
      const h = await make()
      const now = h.now()
      await h.storage.accessTokens.save({ id: 't1', tokenHash: 'h2', clientId: 'c', sub: 's', scope: 'a', audience: ['x'], issuedAt: now, expiresAt: now + 10 })
      await h.storage.accessTokens.revoke('h2')
      expect(await h.storage.accessTokens.find('h2')).toBeNull()
      await h.storage.accessTokens.revoke('unknown')
    })

    it('remembers a revoked jti until the token would have expired', async () => {
      const h = await make()
      await h.storage.accessTokens.revokeJti('j1', h.now() + 5)
      expect(await h.storage.accessTokens.isJtiRevoked('j1')).toBe(true)
      expect(await h.storage.accessTokens.isJtiRevoked('j2')).toBe(false)
      await h.advance(5)
      expect(await h.storage.accessTokens.isJtiRevoked('j1')).toBe(false)
    })

    it('consumes a code once, then reports reuse with its grant', async () => {
      const h = await make()
      await h.storage.authorizationCodes.save(code('c1', h.now()))
      const first = await h.storage.authorizationCodes.consume('c1')
      expect(first).toMatchObject({ outcome: 'consumed', record: { clientId: 'c', sub: 'alice' } })
      expect(await h.storage.authorizationCodes.consume('c1')).toEqual({ outcome: 'reused', grantId: 'g-c1' })
      expect(await h.storage.authorizationCodes.consume('nope')).toEqual({ outcome: 'not_found' })
    })

    it('does not hand out an expired code', async () => {
      const h = await make()
      await h.storage.authorizationCodes.save(code('c2', h.now()))
      await h.advance(60)
      expect((await h.storage.authorizationCodes.consume('c2')).outcome).toBe('not_found')
    })

    it('gives exactly one of 20 concurrent consumers the code', async () => {
      const h = await make()
      await h.storage.authorizationCodes.save(code('c3', h.now()))
      const results = await Promise.all(Array.from({ length: 20 }, () => h.storage.authorizationCodes.consume('c3')))
      expect(results.filter((r) => r.outcome === 'consumed')).toHaveLength(1)
      expect(results.filter((r) => r.outcome === 'reused')).toHaveLength(19)
    })

    it('rotates a refresh token once; the old one is then reused, the new one live', async () => {
      const h = await make()
      const now = h.now()
      await h.storage.refreshTokens.save(refresh('r1', now))
      expect(await h.storage.refreshTokens.find('r1')).toMatchObject({ record: { grantId: 'g1' }, rotated: false })
      expect(await h.storage.refreshTokens.rotate('r1', refresh('r2', now))).toBe('rotated')
      expect(await h.storage.refreshTokens.find('r1')).toMatchObject({ record: { tokenHash: 'r1' }, rotated: true })
      expect(await h.storage.refreshTokens.find('r2')).toMatchObject({ record: { tokenHash: 'r2' }, rotated: false })
      expect(await h.storage.refreshTokens.rotate('r1', refresh('r3', now))).toBe('reused')
      expect(await h.storage.refreshTokens.find('r3')).toBeNull()
      expect(await h.storage.refreshTokens.rotate('zz', refresh('r4', now))).toBe('not_found')
    })

    it('lets exactly one of 20 concurrent rotations win', async () => {
      const h = await make()
      const now = h.now()
      await h.storage.refreshTokens.save(refresh('r10', now))
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => h.storage.refreshTokens.rotate('r10', refresh(`r10-${i}`, now))))
      expect(results.filter((r) => r === 'rotated')).toHaveLength(1)
      expect(results.filter((r) => r === 'reused')).toHaveLength(19)
    })

    it('revokes a refresh token and expires one', async () => {
      const h = await make()
      const now = h.now()
      await h.storage.refreshTokens.save(refresh('r20', now))
      await h.storage.refreshTokens.revoke('r20')
      expect(await h.storage.refreshTokens.find('r20')).toBeNull()
      await h.storage.refreshTokens.save(refresh('r21', now, { expiresAt: now + 1 }))
      await h.advance(1)
      expect(await h.storage.refreshTokens.find('r21')).toBeNull()
    })

    it('remembers a revoked grant until its end', async () => {
      const h = await make()
      await h.storage.grants.revoke('g9', h.now() + 5)
      expect(await h.storage.grants.isRevoked('g9')).toBe(true)
      expect(await h.storage.grants.isRevoked('g8')).toBe(false)
      await h.advance(5)
      expect(await h.storage.grants.isRevoked('g9')).toBe(false)
    })

    it('keeps an interaction until it is consumed, once', async () => {
      const h = await make()
      const rec = {
        uid: 'i1',
        request: { clientId: 'c', redirectUri: 'https://app.example/cb', redirectUriSent: true, responseType: 'code', responseMode: 'query' as const, scope: 'openid', prompt: [] },
        browserHash: 'b',
        csrf: 'x',
        expiresAt: h.now() + 600,
      }
      await h.storage.interactions.save(rec)
      expect(await h.storage.interactions.find('i1')).toMatchObject({ uid: 'i1', csrf: 'x' })
      await h.storage.interactions.save({ ...rec, login: { sub: 'alice', authTime: h.now(), fresh: true } })
      expect((await h.storage.interactions.find('i1'))?.login?.sub).toBe('alice')
      const results = await Promise.all(Array.from({ length: 20 }, () => h.storage.interactions.consume('i1')))
      expect(results.filter((r) => r !== null)).toHaveLength(1)
      expect(await h.storage.interactions.find('i1')).toBeNull()
    })

    it('keeps sessions until they expire or are deleted', async () => {
      const h = await make()
      await h.storage.sessions.save({ idHash: 's1', sub: 'alice', authTime: h.now(), expiresAt: h.now() + 10 })
      await h.storage.sessions.save({ idHash: 's2', sub: 'bob', authTime: h.now(), expiresAt: h.now() + 100 })
      expect(await h.storage.sessions.find('s1')).toMatchObject({ sub: 'alice' })
      await h.storage.sessions.delete('s2')
      expect(await h.storage.sessions.find('s2')).toBeNull()
      await h.advance(10)
      expect(await h.storage.sessions.find('s1')).toBeNull()
    })

    it('remembers consent per person and client', async () => {
      const h = await make()
      await h.storage.consents.save('alice', 'c', 'openid profile', h.now() + 100)
      expect(await h.storage.consents.find('alice', 'c')).toBe('openid profile')
      expect(await h.storage.consents.find('alice', 'd')).toBeNull()
      expect(await h.storage.consents.find('bob', 'c')).toBeNull()
      await h.storage.consents.revoke('alice', 'c')
      expect(await h.storage.consents.find('alice', 'c')).toBeNull()
    })

    it('counts in a window, atomically, and resets', async () => {
      const h = await make()
      const counts = await Promise.all(Array.from({ length: 20 }, () => h.storage.rateLimits.increment('k', h.now() + 60)))
      expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
      await h.storage.rateLimits.reset('k')
      expect(await h.storage.rateLimits.increment('k', h.now() + 60)).toBe(1)
      await h.advance(60)
      expect(await h.storage.rateLimits.increment('k', h.now() + 60)).toBe(1)
    })

    it('marks a replay key used once, even under 20 concurrent attempts', async () => {
      const h = await make()
      const results = await Promise.all(Array.from({ length: 20 }, () => h.storage.replay.markUsed('jti-1', h.now() + 30)))
      expect(results.filter(Boolean)).toHaveLength(1)
      expect(await h.storage.replay.markUsed('jti-1', h.now() + 30)).toBe(false)
      await h.advance(30)
      expect(await h.storage.replay.markUsed('jti-1', h.now() + 30)).toBe(true)
    })
  })
}
