import { describe, expect, it } from 'vitest'
import { createAuthorizationServer, createMemoryStorage, StorageUnavailableError } from '../../src/index.js'
import type { AccessTokenRecord, RefreshTokenRecord } from '../../src/storage/types.js'
import { ExpiringMap } from '../../src/storage/memory-expiring.js'
import { basic, clients, counterIds, fakeClock, ISSUER, json, tokenRequest } from '../helpers.js'

const T0 = 1_800_000_000

const token = (hash: string, expiresAt: number): AccessTokenRecord & { tokenHash: string } => ({
  id: `id-${hash}`,
  tokenHash: hash,
  clientId: 'c',
  sub: 'c',
  scope: 'api:read',
  audience: ['https://api.example'],
  issuedAt: T0,
  expiresAt,
})

const refresh = (hash: string, expiresAt: number): RefreshTokenRecord => ({
  tokenHash: hash,
  grantId: `g-${hash}`,
  clientId: 'c',
  sub: 'alice',
  scope: 'api:read',
  issuedAt: T0,
  expiresAt,
  absoluteExpiresAt: expiresAt,
})

describe('memory storage maxRecords', () => {
  it('refuses a bound that is not a positive integer, naming the option', () => {
    for (const maxRecords of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createMemoryStorage({ maxRecords })).toThrow(/maxRecords/)
    }
  })

  it('holds any number of records without a bound', async () => {
    const s = createMemoryStorage({ now: () => T0 })
    for (let i = 0; i < 1000; i++) await s.accessTokens.save(token(`h${i}`, T0 + 10))
    for (let i = 0; i < 1000; i++) expect(await s.accessTokens.find(`h${i}`)).not.toBeNull()
  })

  it('gives up expired records first when full', async () => {
    const clock = fakeClock(T0)
    const s = createMemoryStorage({ now: clock.now, maxRecords: 3 })
    await s.accessTokens.save(token('long', T0 + 100))
    await s.accessTokens.save(token('short-1', T0 + 5))
    await s.consents.save('alice', 'c', 'api:read', T0 + 50)
    clock.advance(10)
    // Full: the expired token makes room, the live ones stay.
    await s.accessTokens.save(token('new', T0 + 100))
    expect(await s.accessTokens.find('long')).not.toBeNull()
    expect(await s.accessTokens.find('new')).not.toBeNull()
    expect(await s.consents.find('alice', 'c')).toBe('api:read')
  })

  it('then evicts the live record that expires soonest, across stores', async () => {
    const s = createMemoryStorage({ now: () => T0, maxRecords: 3 })
    await s.accessTokens.save(token('a', T0 + 300))
    await s.refreshTokens.save(refresh('r', T0 + 100))
    await s.consents.save('alice', 'c', 'api:read', T0 + 200)
    await s.accessTokens.save(token('b', T0 + 400))
    // The refresh token expired soonest: it went (the client signs in again), nothing else did.
    expect(await s.refreshTokens.find('r')).toBeNull()
    expect(await s.accessTokens.find('a')).not.toBeNull()
    expect(await s.accessTokens.find('b')).not.toBeNull()
    expect(await s.consents.find('alice', 'c')).toBe('api:read')
    await s.accessTokens.save(token('c', T0 + 500))
    expect(await s.consents.find('alice', 'c')).toBeNull()
  })

  it('never evicts a redeemed code or a rotated refresh token: reuse is still detected', async () => {
    const s = createMemoryStorage({ now: () => T0, maxRecords: 3 })
    await s.authorizationCodes.save({
      codeHash: 'code', clientId: 'c', redirectUri: 'https://app.example/cb', redirectUriSent: true,
      scope: 'api:read', sub: 'alice', grantId: 'g1', authTime: T0, issuedAt: T0, expiresAt: T0 + 60,
    })
    expect((await s.authorizationCodes.consume('code')).outcome).toBe('consumed')
    await s.refreshTokens.save(refresh('r1', T0 + 30))
    expect(await s.refreshTokens.rotate('r1', refresh('r2', T0 + 1000))).toBe('rotated')
    // Full of a redeemed code, a rotated token and its successor: a new token may only push out the successor.
    await s.accessTokens.save(token('a', T0 + 2000))
    expect(await s.authorizationCodes.consume('code')).toEqual({ outcome: 'reused', grantId: 'g1' })
    expect(await s.refreshTokens.rotate('r1', refresh('r3', T0 + 1000))).toBe('reused')
    expect(await s.refreshTokens.find('r2')).toBeNull()
    expect(await s.accessTokens.find('a')).not.toBeNull()
  })

  it('never evicts a replay marker; when only those are left it refuses new records with StorageUnavailableError', async () => {
    const s = createMemoryStorage({ now: () => T0, maxRecords: 2 })
    expect(await s.replay.markUsed('jti-1', T0 + 300)).toBe(true)
    expect(await s.replay.markUsed('jti-2', T0 + 300)).toBe(true)
    await expect(s.accessTokens.save(token('a', T0 + 10))).rejects.toBeInstanceOf(StorageUnavailableError)
    await expect(s.replay.markUsed('jti-3', T0 + 300)).rejects.toBeInstanceOf(StorageUnavailableError)
    await expect(s.rateLimits.increment('ip:1', T0 + 60)).rejects.toBeInstanceOf(StorageUnavailableError)
    // Still remembered: a replay is still refused.
    expect(await s.replay.markUsed('jti-1', T0 + 300)).toBe(false)
    expect(await s.accessTokens.find('a')).toBeNull()
  })

  it('always stores a revocation, past the bound if it must', async () => {
    const s = createMemoryStorage({ now: () => T0, maxRecords: 1 })
    expect(await s.replay.markUsed('jti-1', T0 + 300)).toBe(true)
    await s.accessTokens.revokeJti('jwt-1', T0 + 600)
    await s.grants.revoke('g1', T0 + 600)
    await s.tokenCutoffs.set('client:c', T0, T0 + 600)
    expect(await s.accessTokens.isJtiRevoked('jwt-1')).toBe(true)
    expect(await s.grants.isRevoked('g1')).toBe(true)
    expect(await s.tokenCutoffs.latest(['client:c'])).toBe(T0)
    expect(await s.replay.markUsed('jti-1', T0 + 300)).toBe(false)
  })

  it('refuses a rotation it has no room for and leaves the old token unrotated, so the client can retry', async () => {
    const s = createMemoryStorage({ now: () => T0, maxRecords: 2 })
    await s.refreshTokens.save(refresh('r1', T0 + 100))
    expect(await s.replay.markUsed('jti-1', T0 + 300)).toBe(true)
    await expect(s.refreshTokens.rotate('r1', refresh('r2', T0 + 100), { accessToken: token('a', T0 + 50) })).rejects.toBeInstanceOf(StorageUnavailableError)
    expect(await s.refreshTokens.find('r1')).toEqual({ record: refresh('r1', T0 + 100), rotated: false })
    expect(await s.refreshTokens.find('r2')).toBeNull()
    expect(await s.accessTokens.find('a')).toBeNull()
  })

  it('makes room for a rotation by evicting another record, never the token being rotated', async () => {
    const s = createMemoryStorage({ now: () => T0, maxRecords: 3 })
    await s.refreshTokens.save(refresh('r1', T0 + 10))
    await s.accessTokens.save(token('old', T0 + 20))
    await s.accessTokens.save(token('older', T0 + 30))
    expect(await s.refreshTokens.rotate('r1', refresh('r2', T0 + 100), { accessToken: token('a', T0 + 50) })).toBe('rotated')
    expect(await s.refreshTokens.find('r1')).toMatchObject({ rotated: true })
    expect(await s.refreshTokens.find('r2')).toMatchObject({ rotated: false })
    expect(await s.accessTokens.find('a')).not.toBeNull()
    expect(await s.accessTokens.find('old')).toBeNull()
    expect(await s.accessTokens.find('older')).toBeNull()
  })

  it('a full server evicts its oldest opaque token to issue a new one', async () => {
    const clock = fakeClock(T0)
    const server = createAuthorizationServer({
      issuer: ISSUER, clients, accessTokenFormat: 'opaque',
      storage: createMemoryStorage({ now: clock.now, maxRecords: 2 }),
      deps: { now: clock.now, randomId: counterIds() },
    })
    const issue = async (): Promise<string> => {
      const res = await server.handle(tokenRequest({ grant_type: 'client_credentials', scope: 'api:read' }, { authorization: basic('svc', 'svc-secret') }))
      expect(res.status).toBe(200)
      clock.advance(1)
      return json(res).access_token as string
    }
    const introspect = async (t: string): Promise<unknown> =>
      json(await server.handle(tokenRequest({ token: t }, { authorization: basic('svc', 'svc-secret') }, '/introspect'))).active
    const [first, second, third] = [await issue(), await issue(), await issue()]
    expect(await introspect(first!)).toBe(false)
    expect(await introspect(second!)).toBe(true)
    expect(await introspect(third!)).toBe(true)
  })

  it('a server whose storage is full of what it may not give up answers 503 temporarily_unavailable and issues nothing', async () => {
    const storage = createMemoryStorage({ now: () => T0, maxRecords: 1 })
    await storage.replay.markUsed('jti-1', T0 + 3600)
    const server = createAuthorizationServer({ issuer: ISSUER, clients, accessTokenFormat: 'opaque', storage, deps: { now: () => T0 } })
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials', scope: 'api:read' }, { authorization: basic('svc', 'svc-secret') }))
    expect(res.status).toBe(503)
    expect(json(res).error).toBe('temporarily_unavailable')
    expect(json(res).access_token).toBeUndefined()
  })
})

describe('ExpiringMap (memory storage internals)', () => {
  it('removes expired records as it is written to, without reading them', () => {
    const clock = fakeClock(T0)
    const m = new ExpiringMap<number>(clock.now)
    for (let i = 0; i < 1000; i++) m.set(`k${i}`, i, T0 + 10 + (i % 7))
    expect(m.size).toBe(1000)
    clock.advance(20)
    for (let i = 0; i < 300; i++) m.set(`n${i}`, i, T0 + 100)
    // Four expired records go with each write: the 1000 went in the first 250 writes.
    expect(m.size).toBe(300)
  })

  it('keeps a record whose expiry was extended until the later expiry, and one saved again after an earlier expiry', () => {
    const clock = fakeClock(T0)
    const m = new ExpiringMap<string>(clock.now)
    m.set('a', 'x', T0 + 5)
    m.setAtLeast('a', 'x', T0 + 50)
    m.setAtLeast('a', 'x', T0 + 20)
    m.set('b', 'y', T0 + 50)
    m.set('b', 'y', T0 + 8)
    clock.advance(10)
    for (let i = 0; i < 10; i++) m.set(`c${i}`, 'z', T0 + 100)
    expect(m.get('a')).toBe('x')
    expect(m.get('b')).toBeUndefined()
    clock.advance(40)
    expect(m.get('a')).toBeUndefined()
  })

  it('frees and reuses slots without confusing a new record with an old one of the same slot', () => {
    const clock = fakeClock(T0)
    const m = new ExpiringMap<string>(clock.now)
    m.set('a', '1', T0 + 5)
    m.delete('a')
    // The slot of 'a' is reused; the stale expiry entry at T0 + 5 must not remove 'b'.
    m.set('b', '2', T0 + 100)
    clock.advance(10)
    for (let i = 0; i < 5; i++) m.set(`c${i}`, 'z', T0 + 100)
    expect(m.get('b')).toBe('2')
  })
})

describe('ExpiringMap against a plain model', () => {
  it.each([
    ['without a bound', 1_000_000],
    ['with a bound that evicts', 40],
  ])('answers every read as a map with expiry would (%s), through random writes, deletes and time', async (_name, max) => {
    const { RecordBudget } = await import('../../src/storage/memory-expiring.js')
    // A small deterministic generator, so a failure can be replayed.
    let seed = 42
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed % n
    }
    const clock = fakeClock(T0)
    const budget = new RecordBudget(max)
    const m = new ExpiringMap<number>(clock.now, budget, 'evictable')
    const model = new Map<string, { value: number; expiresAt: number }>()
    for (let step = 0; step < 20_000; step++) {
      const key = `k${rand(200)}`
      const op = rand(10)
      if (op < 4) {
        const at = clock.now() + 1 + rand(50)
        m.set(key, step, at)
        model.set(key, { value: step, expiresAt: at })
      } else if (op === 4) {
        const at = clock.now() + 1 + rand(50)
        const cur = model.get(key)
        const live = cur !== undefined && cur.expiresAt > clock.now()
        m.setAtLeast(key, step, at)
        model.set(key, { value: step, expiresAt: live && cur.expiresAt > at ? cur.expiresAt : at })
      } else if (op === 5) {
        m.delete(key)
        model.delete(key)
      } else if (op === 6) {
        m.keep(key, rand(2) === 0)
      } else if (op === 7) {
        clock.advance(rand(5))
      } else {
        const want = model.get(key)
        const expected = want !== undefined && want.expiresAt > clock.now() ? want.value : undefined
        const got = m.get(key)
        // An evicted record is missing; a record is never wrong, stale or back from expiry.
        if (max === 1_000_000 || got !== undefined) expect(got).toBe(expected)
        expect(budget.count).toBeLessThanOrEqual(max)
      }
    }
    // Every live key of the model is there, and the count the budget keeps is the map's size.
    for (const [key, { value, expiresAt }] of model) if (expiresAt > clock.now() && (max === 1_000_000 || m.get(key) !== undefined)) expect(m.get(key)).toBe(value)
    expect(budget.count).toBe(m.size)
  })
})

describe('memory storage sharing of equal values between access tokens', () => {
  it('never gives one token the audience of another whose values join to the same text', async () => {
    const s = createMemoryStorage({ now: () => T0 })
    await s.accessTokens.save({ ...token('two', T0 + 10), audience: ['a', 'b'] })
    await s.accessTokens.save({ ...token('nul', T0 + 10), audience: ['a\u0000b'] })
    await s.accessTokens.save({ ...token('json', T0 + 10), audience: ['["a","b"]'] })
    expect((await s.accessTokens.find('two'))?.audience).toEqual(['a', 'b'])
    expect((await s.accessTokens.find('nul'))?.audience).toEqual(['a\u0000b'])
    expect((await s.accessTokens.find('json'))?.audience).toEqual(['["a","b"]'])
  })

  it('hands out a copy of the audience: changing it changes no stored token', async () => {
    const s = createMemoryStorage({ now: () => T0 })
    await s.accessTokens.save(token('x', T0 + 10))
    await s.accessTokens.save(token('y', T0 + 10))
    ;(await s.accessTokens.find('x'))!.audience.push('https://evil.example')
    expect((await s.accessTokens.find('y'))?.audience).toEqual(['https://api.example'])
    expect((await s.accessTokens.find('x'))?.audience).toEqual(['https://api.example'])
  })
})
