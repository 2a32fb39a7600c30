import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryStorage, type KeyStorage, type SigningKeyRecord, type Storage } from '../../src/index.js'
import { createMemoryKeyStorage, createSharedKeyStore, type SharedKeyStore, type SharedKeyStoreOptions } from '../../src/keys/shared-key-store.js'
import { createPostgresStorage } from '../../src/storage/postgres/index.js'
import { basic, fakeClock, json, makeServer, tokenRequest } from '../helpers.js'
import { describePostgres, pgTables, POSTGRES_URL } from '../storage/pg-harness.js'
import { validateAccessToken } from '../../src/tokens/validate.js'
import { contextOf } from '../../src/server.js'

const open: SharedKeyStore[] = []
afterEach(() => {
  for (const s of open.splice(0)) s.close()
})

async function store(storage: KeyStorage, clock: { now: () => number }, options: SharedKeyStoreOptions = {}): Promise<SharedKeyStore> {
  const s = await createSharedKeyStore(storage, { now: clock.now, ...options })
  open.push(s)
  return s
}

/** A KeyStorage that counts list() calls. */
function counting(inner: KeyStorage): KeyStorage & { lists: number } {
  const c = {
    lists: 0,
    list: () => {
      c.lists++
      return inner.list()
    },
    initialize: (r: SigningKeyRecord) => inner.initialize(r),
    rotate: (r: SigningKeyRecord, retire: { retiredAt: number; publishedUntil: number }) => inner.rotate(r, retire),
  }
  return c
}

/** Issues a JWT access token at one server and checks it at another, through the core and through jose with its JWKS. */
async function issuedHereVerifiesThere(storage: Storage, here: SharedKeyStore, there: SharedKeyStore, now: () => number): Promise<string> {
  const a = makeServer({ storage, keys: here, deps: { now, randomId: () => randomBytes(8).toString('hex') } }).server
  const b = makeServer({ storage, keys: there, deps: { now, randomId: () => randomBytes(8).toString('hex') } }).server
  const res = await a.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))
  expect(res.status).toBe(200)
  const token = json(res).access_token as string
  expect(await validateAccessToken(contextOf(b), token)).toMatchObject({ clientId: 'svc', format: 'jwt' })
  const jwks = JSON.parse(b.jwks({ method: 'GET', url: new URL(b.endpoints.jwks!), headers: {} }).body!)
  const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { currentDate: new Date(now() * 1000) })
  return protectedHeader.kid!
}

describe('shared key store', () => {
  it('creates one first key when the storage is empty, and signs and publishes it', async () => {
    const clock = fakeClock()
    const keys = createMemoryKeyStorage({ now: clock.now })
    const s = await store(keys, clock)
    const key = s.signingKey(clock.now())
    expect(s.publishedKeys(clock.now()).map((k) => k.kid)).toEqual([key.kid])
    expect(s.findKey(key.kid, clock.now())).toBe(key)
    expect(key.alg).toBe('ES256')
    const [record] = await keys.list()
    expect(record).toMatchObject({ kid: key.kid, activeFrom: clock.now() })
    expect(JSON.parse(record!.privateJwk)).toMatchObject({ kid: key.kid, d: expect.any(String) })
  })

  it('lets processes that start together agree on one first key', async () => {
    const clock = fakeClock()
    const keys = createMemoryKeyStorage({ now: clock.now })
    const stores = await Promise.all(Array.from({ length: 10 }, () => store(keys, clock, { algorithm: 'EdDSA' })))
    expect(new Set(stores.map((s) => s.signingKey(clock.now()).kid)).size).toBe(1)
    expect(await keys.list()).toHaveLength(1)
  })

  it('imports each key once: refreshes keep the same key objects', async () => {
    const clock = fakeClock()
    const s = await store(createMemoryKeyStorage({ now: clock.now }), clock)
    const before = s.signingKey(clock.now())
    await s.refresh()
    await s.refresh()
    expect(s.signingKey(clock.now())).toBe(before)
  })

  it('publishes a key rotated elsewhere before it signs, then signs with it, and keeps the old one published', async () => {
    const clock = fakeClock()
    const keys = createMemoryKeyStorage({ now: clock.now })
    const a = await store(keys, clock, { publishLead: 300, maxTokenLifetime: 3600 })
    const b = await store(keys, clock, { publishLead: 300, maxTokenLifetime: 3600 })
    const old = a.signingKey(clock.now())
    const next = await a.rotate()
    expect(a.publishedKeys(clock.now()).map((k) => k.kid)).toEqual([old.kid, next.kid])
    expect(a.signingKey(clock.now()).kid).toBe(old.kid)
    // b learns of it at its next refresh, long before it signs.
    expect(b.findKey(next.kid, clock.now())).toBeUndefined()
    await b.refresh()
    expect(b.publishedKeys(clock.now()).map((k) => k.kid)).toEqual([old.kid, next.kid])
    expect(b.signingKey(clock.now() + 299).kid).toBe(old.kid)
    expect(b.signingKey(clock.now() + 300).kid).toBe(next.kid)
    expect(a.signingKey(clock.now() + 300).kid).toBe(next.kid)
    expect(b.findKey(old.kid, clock.now() + 300 + 3599)?.kid).toBe(old.kid)
    expect(b.findKey(old.kid, clock.now() + 300 + 3600)).toBeUndefined()
  })

  it('refreshes in the background and stops when closed', async () => {
    const clock = fakeClock()
    const keys = counting(createMemoryKeyStorage({ now: clock.now }))
    const a = await store(keys, clock, { refreshInterval: 0.02, publishLead: 1 })
    const b = await store(keys, clock, { refreshInterval: 0.02, publishLead: 1 })
    const next = await a.rotate()
    await expect.poll(() => b.findKey(next.kid, clock.now())?.kid).toBe(next.kid)
    a.close()
    b.close()
    const lists = keys.lists
    await new Promise((r) => setTimeout(r, 100))
    expect(keys.lists).toBe(lists)
  })

  it('looks again soon when asked for a kid it does not know', async () => {
    const clock = fakeClock()
    const keys = createMemoryKeyStorage({ now: clock.now })
    const a = await store(keys, clock)
    const b = await store(keys, clock)
    const next = await a.rotate()
    expect(b.findKey(next.kid, clock.now())).toBeUndefined()
    await expect.poll(() => b.findKey(next.kid, clock.now())?.kid).toBe(next.kid)
  })

  it('seals private keys with AES-256-GCM bound to the kid, and refuses what it cannot trust', async () => {
    const clock = fakeClock()
    const keys = createMemoryKeyStorage({ now: clock.now })
    const encryptionKey = randomBytes(32)
    const a = await store(keys, clock, { encryptionKey })
    const kid = a.signingKey(clock.now()).kid
    const [record] = await keys.list()
    const sealed = JSON.parse(record!.privateJwk)
    expect(sealed).toEqual({ enc: 'A256GCM', iv: expect.any(String), ciphertext: expect.any(String), tag: expect.any(String) })
    expect(record!.privateJwk).not.toMatch(/"d"/)

    // Another process with the same secret loads it.
    expect((await store(keys, clock, { encryptionKey })).signingKey(clock.now()).kid).toBe(kid)
    await expect(createSharedKeyStore(keys, { now: clock.now })).rejects.toThrow(/encryptionKey/)
    await expect(createSharedKeyStore(keys, { now: clock.now, encryptionKey: randomBytes(32) })).rejects.toThrow(/cannot be decrypted/)

    // A sealed key moved under another kid fails its associated data.
    const moved = createMemoryKeyStorage({ now: clock.now })
    await moved.initialize({ ...record!, kid: 'other' })
    await expect(createSharedKeyStore(moved, { now: clock.now, encryptionKey })).rejects.toThrow(/cannot be decrypted/)

    // SECURITY: an unsealed key planted in the table is refused when an encryption key is set.
    const planted = createMemoryKeyStorage({ now: clock.now })
    const plain = createMemoryKeyStorage({ now: clock.now })
    const p = await store(plain, clock)
    await planted.initialize((await plain.list())[0]!)
    await expect(createSharedKeyStore(planted, { now: clock.now, encryptionKey })).rejects.toThrow(/unencrypted/)
    expect(p.signingKey(clock.now())).toBeDefined()
  })

  it('refuses a record whose key has another kid', async () => {
    const clock = fakeClock()
    const plain = createMemoryKeyStorage({ now: clock.now })
    await store(plain, clock)
    const forged = createMemoryKeyStorage({ now: clock.now })
    await forged.initialize({ ...(await plain.list())[0]!, kid: 'not-its-kid' })
    await expect(createSharedKeyStore(forged, { now: clock.now })).rejects.toThrow(/holds a key with kid/)
  })

  it('keeps the keys it has when a background refresh fails, and reports it', async () => {
    const clock = fakeClock()
    const inner = createMemoryKeyStorage({ now: clock.now })
    let fail = false
    const flaky: KeyStorage = { ...inner, list: () => (fail ? Promise.reject(new Error('down')) : inner.list()) }
    const errors: unknown[] = []
    const s = await store(flaky, clock, { refreshInterval: 0.02, publishLead: 1, onError: (e) => errors.push(e) })
    const key = s.signingKey(clock.now())
    fail = true
    await expect.poll(() => errors.length).toBeGreaterThan(0)
    expect(s.signingKey(clock.now())).toBe(key)
    await expect(s.refresh()).rejects.toThrow('down')
  })

  it('checks its options', async () => {
    const keys = createMemoryKeyStorage()
    await expect(createSharedKeyStore(keys, { refreshInterval: 600, publishLead: 600 })).rejects.toThrow(/refreshInterval.*publishLead/)
    await expect(createSharedKeyStore(keys, { encryptionKey: randomBytes(16) })).rejects.toThrow(/32 bytes/)
    await expect(createSharedKeyStore(keys, { algorithm: 'HS256' as never })).rejects.toThrow(/algorithm/)
    await expect(createSharedKeyStore({} as never)).rejects.toThrow(/keyStorage/)
    await expect(createSharedKeyStore(keys, { refreshInterval: 0 })).rejects.toThrow(/refreshInterval/)
  })

  it('signs at one server what another server sharing the keys verifies', async () => {
    const clock = fakeClock()
    const storage = createMemoryStorage({ now: clock.now })
    const keys = createMemoryKeyStorage({ now: clock.now })
    const a = await store(keys, clock)
    const b = await store(keys, clock)
    expect(await issuedHereVerifiesThere(storage, a, b, clock.now)).toBe(a.signingKey(clock.now()).kid)
  })
})

describePostgres('shared key store on PostgreSQL', () => {
  const db = pgTables()

  it('two processes on one database sign tokens that verify at the other, and pick up each other’s rotation', async () => {
    const clock = fakeClock()
    const prefix = await db.fresh()
    // Two pools: as two processes would have.
    const poolA = new pg.Pool({ connectionString: POSTGRES_URL })
    const poolB = new pg.Pool({ connectionString: POSTGRES_URL })
    try {
      const storageA = createPostgresStorage({ pool: poolA, tablePrefix: prefix, now: clock.now })
      const storageB = createPostgresStorage({ pool: poolB, tablePrefix: prefix, now: clock.now })
      const encryptionKey = randomBytes(32)
      const options = { encryptionKey, publishLead: 300, maxTokenLifetime: 3600 }
      const [a, b] = await Promise.all([store(storageA.keys, clock, options), store(storageB.keys, clock, options)])
      const first = a.signingKey(clock.now()).kid
      expect(b.signingKey(clock.now()).kid).toBe(first)
      expect(await issuedHereVerifiesThere(storageA, a, b, clock.now)).toBe(first)
      expect(await issuedHereVerifiesThere(storageB, b, a, clock.now)).toBe(first)

      const next = await a.rotate()
      await b.refresh()
      expect(b.publishedKeys(clock.now()).map((k) => k.kid)).toEqual([first, next.kid])
      clock.advance(300)
      expect(a.signingKey(clock.now()).kid).toBe(next.kid)
      expect(b.signingKey(clock.now()).kid).toBe(next.kid)
      expect(await issuedHereVerifiesThere(storageB, b, a, clock.now)).toBe(next.kid)
      expect(await issuedHereVerifiesThere(storageA, a, b, clock.now)).toBe(next.kid)
      const stored = await db.pool.query(`SELECT private_jwk FROM ${prefix}signing_keys`)
      for (const row of stored.rows) expect(JSON.parse(row.private_jwk).enc).toBe('A256GCM')
    } finally {
      await Promise.all([poolA.end(), poolB.end()])
      await db.drop(prefix)
    }
  })
})
