/**
 * Token stores (memory, PostgreSQL, Redis) against one contract, and the
 * encryption at rest: key rotation, and ciphertext bound to its row.
 */
import type { Redis } from 'ioredis'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createMemoryTokenStore,
  createOAuthClient,
  createPostgresTokenStore,
  createRedisTokenStore,
  DecryptionError,
  generateEncryptionKey,
  genericOidc,
  migratePostgresTokenStore,
  TokenCipher,
  TokenUnavailableError,
  type SealedTokens,
  type TokenSet,
  type TokenStore,
} from '../../src/oauth-client/index.js'
import { clearPrefix, newPool, newRedis, postgres, redis, uniqueName } from './services.js'

const tokens = (accessToken: string): TokenSet => ({ accessToken, tokenType: 'Bearer', expiresAt: Math.floor(Date.now() / 1000) + 3600, refreshToken: `rt-${accessToken}`, obtainedAt: Math.floor(Date.now() / 1000) })
const sealed = (n: number): SealedTokens => ({ keyId: 'k1', ciphertext: `ciphertext-${n}`, expiresAt: 1_800_000_000 + n })

interface Backend {
  name: string
  available: boolean
  mustFail: boolean
  message: string
  /** A store, and a second one over the same data as another process would have. */
  open(): Promise<{ store: TokenStore; twin: TokenStore }>
  close(): Promise<void>
  /** Requires the record to exist before leasing it. */
  leasesExistingOnly: boolean
}

const pools: pg.Pool[] = []
const redises: Redis[] = []
const table = uniqueName('grantkit_client_tokens_test')
const prefix = `${uniqueName('gk_test')}:`

const backends: Backend[] = [
  {
    name: 'memory',
    available: true,
    mustFail: false,
    message: '',
    leasesExistingOnly: false,
    async open() {
      const store = createMemoryTokenStore()
      return { store, twin: store }
    },
    async close() {},
  },
  {
    name: 'postgres',
    ...postgres,
    leasesExistingOnly: true,
    async open() {
      const a = newPool()
      const b = newPool()
      pools.push(a, b)
      await migratePostgresTokenStore(a, { table })
      return { store: createPostgresTokenStore(a, { table }), twin: createPostgresTokenStore(b, { table }) }
    },
    async close() {
      await pools[0]?.query(`DROP TABLE IF EXISTS ${table}`)
      await pools[0]?.query(`DROP TABLE IF EXISTS ${table}_used`)
      await Promise.all(pools.map((p) => p.end()))
    },
  },
  {
    name: 'redis',
    ...redis,
    leasesExistingOnly: false,
    async open() {
      const a = newRedis()
      const b = newRedis()
      redises.push(a, b)
      await Promise.all([a.connect(), b.connect()])
      return { store: createRedisTokenStore(a, { prefix }), twin: createRedisTokenStore(b, { prefix }) }
    },
    async close() {
      if (redises[0] !== undefined) await clearPrefix(redises[0], prefix)
      redises.forEach((r) => r.disconnect())
    },
  },
]

describe.each(backends)('$name token store', (backend) => {
  it.runIf(backend.mustFail)(`${backend.name} must be reachable when CI=true`, () => {
    throw new Error(backend.message)
  })

  describe.skipIf(!backend.available)('contract', () => {
    let store: TokenStore
    let twin: TokenStore
    beforeAll(async () => {
      ;({ store, twin } = await backend.open())
    })
    afterAll(() => backend.close())

    it('keeps a record per provider and subject, replaces it, and deletes it', async () => {
      expect(await store.get('p', 'alice')).toBeNull()
      await store.put('p', 'alice', sealed(1))
      await store.put('p', 'bob', sealed(2))
      await store.put('p:x', 'alice', sealed(3))
      expect(await twin.get('p', 'alice')).toEqual(sealed(1))
      expect(await twin.get('p:x', 'alice')).toEqual(sealed(3))
      await store.put('p', 'alice', { ...sealed(4), expiresAt: null })
      expect(await twin.get('p', 'alice')).toEqual({ ...sealed(4), expiresAt: null })
      await twin.delete('p', 'alice')
      expect(await store.get('p', 'alice')).toBeNull()
      expect(await store.get('p', 'bob')).toEqual(sealed(2))
    })

    it('gives a lease to exactly one of 20 concurrent callers across two connections', async () => {
      await store.put('lease', 'alice', sealed(5))
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : twin).acquireLease('lease', 'alice', `holder-${i}`, 5000)))
      expect(results.filter(Boolean)).toHaveLength(1)
      const winner = `holder-${results.indexOf(true)}`
      // Only the holder can give it back.
      await twin.releaseLease('lease', 'alice', 'someone-else')
      expect(await store.acquireLease('lease', 'alice', 'late', 5000)).toBe(false)
      await twin.releaseLease('lease', 'alice', winner)
      expect(await store.acquireLease('lease', 'alice', 'late', 5000)).toBe(true)
      // A lease does not change the record.
      expect(await twin.get('lease', 'alice')).toEqual(sealed(5))
      await store.put('lease', 'alice', sealed(6))
      expect(await store.acquireLease('lease', 'alice', 'third', 5000)).toBe(false)
    })

    it('lets a lease expire by itself', async () => {
      await store.put('lease', 'bob', sealed(7))
      expect(await store.acquireLease('lease', 'bob', 'dead-process', 100)).toBe(true)
      expect(await twin.acquireLease('lease', 'bob', 'next', 100)).toBe(false)
      await new Promise((r) => setTimeout(r, 250))
      expect(await twin.acquireLease('lease', 'bob', 'next', 100)).toBe(true)
    })

    it('marks a flow used for exactly one of 20 concurrent callers across two connections', async () => {
      const key = uniqueName('flow')
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : twin).markUsed(key, 60_000)))
      expect(results.filter(Boolean)).toHaveLength(1)
      expect(await twin.markUsed(key, 60_000)).toBe(false)
      // Another flow is another key.
      expect(await store.markUsed(uniqueName('flow'), 60_000)).toBe(true)
    })

    it('keeps a used flow until its time is up, then lets the key go', async () => {
      const key = uniqueName('flow')
      expect(await store.markUsed(key, 150)).toBe(true)
      expect(await twin.markUsed(key, 150)).toBe(false)
      await new Promise((r) => setTimeout(r, 300))
      expect(await twin.markUsed(key, 150)).toBe(true)
    })

    it.runIf(backend.leasesExistingOnly)('leases only records that exist', async () => {
      expect(await store.acquireLease('lease', 'nobody', 'h', 1000)).toBe(false)
    })
  })
})

describe('encryption at rest', () => {
  const k1 = generateEncryptionKey()
  const k2 = generateEncryptionKey()

  it('binds a ciphertext to its provider and subject', () => {
    const cipher = new TokenCipher({ keys: { k1 }, currentKeyId: 'k1' })
    const s = cipher.seal('google', 'alice', tokens('alice-token'))
    expect(cipher.open('google', 'alice', s).accessToken).toBe('alice-token')
    expect(() => cipher.open('google', 'bob', s)).toThrow(DecryptionError)
    expect(() => cipher.open('salesforce', 'alice', s)).toThrow(DecryptionError)
    expect(() => cipher.open('google', 'alice', { ...s, keyId: 'k9' })).toThrow(/unknown key id/)
    const flipped = Buffer.from(s.ciphertext, 'base64url')
    flipped[20] = flipped[20]! ^ 1
    expect(() => cipher.open('google', 'alice', { ...s, ciphertext: flipped.toString('base64url') })).toThrow(DecryptionError)
  })

  it('opens with any known key and seals with the current one (rotation)', () => {
    const old = new TokenCipher({ keys: { k1 }, currentKeyId: 'k1' })
    const rotated = new TokenCipher({ keys: { k1, k2 }, currentKeyId: 'k2' })
    const before = old.seal('p', 's', tokens('t'))
    expect(before.keyId).toBe('k1')
    expect(rotated.open('p', 's', before).accessToken).toBe('t')
    const after = rotated.seal('p', 's', rotated.open('p', 's', before))
    expect(after.keyId).toBe('k2')
    expect(new TokenCipher({ keys: { k2 }, currentKeyId: 'k2' }).open('p', 's', after).accessToken).toBe('t')
    expect(() => new TokenCipher({ keys: { k2 }, currentKeyId: 'k2' }).open('p', 's', before)).toThrow(DecryptionError)
  })

  it('refuses bad keys at construction, naming the field', () => {
    expect(() => new TokenCipher({ keys: { k1: 'too-short' }, currentKeyId: 'k1' })).toThrow(/encryption.keys\["k1"\]: must be 32 bytes/)
    expect(() => new TokenCipher({ keys: { k1 }, currentKeyId: 'k2' })).toThrow(/currentKeyId/)
    expect(() => createOAuthClient({ providers: [genericOidc({ issuer: 'https://op.example', clientId: 'x' })] } as never)).toThrow(/encryption/)
  })
})

describe.skipIf(!postgres.available)('PostgreSQL rows cannot be swapped', () => {
  const swapTable = uniqueName('grantkit_client_swap_test')
  let pool: pg.Pool
  beforeAll(async () => {
    pool = newPool()
    await migratePostgresTokenStore(pool, { table: swapTable })
  })
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${swapTable}`)
    await pool.query(`DROP TABLE IF EXISTS ${swapTable}_used`)
    await pool.end()
  })

  it('swapping two rows’ ciphertext makes both undecryptable, never another user’s token', async () => {
    const encryption = { keys: { k1: generateEncryptionKey() }, currentKeyId: 'k1' }
    const cipher = new TokenCipher(encryption)
    const store = createPostgresTokenStore(pool, { table: swapTable })
    const client = createOAuthClient({ providers: [genericOidc({ id: 'p', issuer: 'https://op.example', clientId: 'x' })], store, encryption })
    await store.put('p', 'alice', cipher.seal('p', 'alice', tokens('alice-token')))
    await store.put('p', 'bob', cipher.seal('p', 'bob', tokens('bob-token')))
    expect(await client.getAccessToken('p', 'alice')).toBe('alice-token')
    expect(await client.getAccessToken('p', 'bob')).toBe('bob-token')

    await pool.query(
      `UPDATE ${swapTable} t SET ciphertext = o.ciphertext, key_id = o.key_id
       FROM ${swapTable} o WHERE t.provider = 'p' AND o.provider = 'p' AND t.subject <> o.subject AND t.subject IN ('alice', 'bob') AND o.subject IN ('alice', 'bob')`,
    )
    for (const subject of ['alice', 'bob']) {
      const error = await client.getAccessToken('p', subject).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TokenUnavailableError)
      expect(error).toMatchObject({ reason: 'undecryptable' })
      expect(await client.getTokens('p', subject)).toBeNull()
      await expect(client.fetchWithToken('p', subject, 'https://api.example/x')).rejects.toMatchObject({ reason: 'undecryptable' })
    }
  })
})
