/**
 * Issue 12 (High): private signing keys in shared storage are sealed with a
 * key-encryption key from the environment; `grantkit keys seal` converts an
 * existing deployment; without the key, a process on shared storage refuses
 * to start (contract: ../shared/contracts/serve.md, `GRANTKIT_KEY_ENCRYPTION_KEY`).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseArgs } from '../../src/cli/args.js'
import { helpText } from '../../src/cli/help.js'
import { CliError } from '../../src/cli/errors.js'
import { keyEncryptionFromEnv, sealStorage } from '../../src/cli/keys.js'
import { createSharedKeyStore, exportPrivateJwk, generateSigningKey, parseKeyEncryptionKey } from '../../src/index.js'
import { createPostgresStorage } from '../../src/storage/postgres/index.js'
import { createRedisStorage } from '../../src/storage/redis/index.js'
import type { KeyStorage } from '../../src/storage/types.js'
import { describePostgres, pgTables, POSTGRES_URL } from '../storage/pg-harness.js'
import { REDIS_URL, redisDatabaseUrl, withDeadline } from '../storage/services.js'
import { killAll, requireBuiltCli, startCli, TEST_KEY_ENCRYPTION_KEY } from './run-cli.js'
import { reachable } from './services.js'

const KEK = randomBytes(32).toString('base64url')
const env = { GRANTKIT_KEY_ENCRYPTION_KEY: KEK }

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'grantkit-keys-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(() => killAll())

describe('grantkit keys seal: command line', () => {
  it('parses keys seal --storage URL and documents it and the variable in --help', () => {
    expect(parseArgs(['keys', 'seal', '--storage', 'postgres://db/auth'])).toEqual({ command: 'keys-seal', storage: 'postgres://db/auth' })
    expect(() => parseArgs(['keys'])).toThrow(/keys seal/)
    expect(() => parseArgs(['keys', 'rotate'])).toThrow(/unknown command "keys rotate"/)
    expect(() => parseArgs(['keys', 'seal'])).toThrow(/--storage is required/)
    expect(() => parseArgs(['keys', 'seal', '--storage', 'redis://r', '--port', '1'])).toThrow(/unknown option "--port"/)
    expect(helpText()).toContain('grantkit keys seal --storage URL')
    expect(helpText('keys')).toContain('GRANTKIT_KEY_ENCRYPTION_KEY')
  })

  it('takes exactly 32 bytes of base64url from the environment or a file, and names the variable otherwise', () => {
    expect(keyEncryptionFromEnv({})).toBeUndefined()
    const [current] = keyEncryptionFromEnv(env)!
    expect(current!.id).toBe(parseKeyEncryptionKey(KEK, 'x').id)
    for (const bad of ['short', randomBytes(32).toString('base64'), randomBytes(31).toString('base64url'), randomBytes(32).toString('hex')]) {
      expect(() => keyEncryptionFromEnv({ GRANTKIT_KEY_ENCRYPTION_KEY: bad })).toThrow(/^GRANTKIT_KEY_ENCRYPTION_KEY: must be 32 random bytes in base64url/)
    }
    const file = join(dir, 'kek')
    writeFileSync(file, `${KEK}\n`)
    expect(keyEncryptionFromEnv({ GRANTKIT_KEY_ENCRYPTION_KEY_FILE: file })![0]!.id).toBe(current!.id)
    expect(() => keyEncryptionFromEnv({ GRANTKIT_KEY_ENCRYPTION_KEY_FILE: join(dir, 'missing') })).toThrow(/GRANTKIT_KEY_ENCRYPTION_KEY_FILE: cannot read/)
    expect(() => keyEncryptionFromEnv({ ...env, GRANTKIT_KEY_ENCRYPTION_KEY_FILE: file })).toThrow(/both set/)
    const old = randomBytes(32).toString('base64url')
    expect(keyEncryptionFromEnv({ ...env, GRANTKIT_PREVIOUS_KEY_ENCRYPTION_KEYS: `${old}, ${KEK}` })!.map((w) => w.id)).toEqual([current!.id, parseKeyEncryptionKey(old, 'x').id])
    expect(() => keyEncryptionFromEnv({ GRANTKIT_PREVIOUS_KEY_ENCRYPTION_KEYS: old })).toThrow(/GRANTKIT_KEY_ENCRYPTION_KEY is not/)
  })

  it('refuses to seal without a key-encryption key, or memory storage', async () => {
    await expect(sealStorage({ storage: POSTGRES_URL }, {}, () => {})).rejects.toThrow(/GRANTKIT_KEY_ENCRYPTION_KEY/)
    await expect(sealStorage({ storage: 'memory' }, env, () => {})).rejects.toBeInstanceOf(CliError)
  })
})

describe('grantkit serve: the key-encryption key', async () => {
  beforeAll(() => requireBuiltCli())

  for (const storage of [POSTGRES_URL, REDIS_URL]) {
    it(`exits non-zero before listening on ${storage.split(':')[0]} storage without GRANTKIT_KEY_ENCRYPTION_KEY, saying what to set`, async () => {
      const p = startCli(['serve', '--port', '0', '--storage', storage], undefined, { GRANTKIT_KEY_ENCRYPTION_KEY: undefined, GRANTKIT_KEY_ENCRYPTION_KEY_FILE: undefined })
      expect(await p.exited()).toBe(1)
      expect(p.stdout).not.toContain('listening on')
      expect(p.stderr).toMatch(/set GRANTKIT_KEY_ENCRYPTION_KEY to 32 random bytes in base64url/)
    })
  }

  it('exits non-zero before listening when the value is not 32 bytes of base64url, naming the variable', async () => {
    const p = startCli(['serve', '--port', '0', '--storage', REDIS_URL], undefined, { GRANTKIT_KEY_ENCRYPTION_KEY: 'not-a-key' })
    expect(await p.exited()).toBe(1)
    expect(p.stdout).not.toContain('listening on')
    expect(p.stderr).toMatch(/GRANTKIT_KEY_ENCRYPTION_KEY: must be 32 random bytes/)
  })

  it.runIf((await reachable('redis')).ok)('warns when a key file used on shared storage has no RS256 key for ID tokens', async () => {
    writeFileSync(join(dir, 'es-only.json'), JSON.stringify({ keys: [exportPrivateJwk(generateSigningKey('ES256'))] }))
    const config = join(dir, 'es-only-config.json')
    writeFileSync(config, JSON.stringify({ keys: 'es-only.json', clients: [{ client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'] }] }))
    const p = startCli(['serve', '--config', config, '--port', '0', '--storage', redisDatabaseUrl(7)])
    await p.listening(20_000)
    expect(p.stderr).toMatch(/warning: .*keys: no RS256 key/)
  })

  it('needs nothing in the in-memory demo mode', async () => {
    const p = startCli(['serve', '--port', '0'], undefined, { GRANTKIT_KEY_ENCRYPTION_KEY: undefined })
    expect(await p.listening()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  })
})

/** Puts a key as grantkit 0.1 stored it: the private JWK in clear. */
async function plantPlainKey(keys: KeyStorage): Promise<string> {
  const key = generateSigningKey('ES256')
  const now = Date.now() / 1000
  await keys.initialize({ kid: key.kid, privateJwk: JSON.stringify(exportPrivateJwk(key)), activeFrom: now, createdAt: now })
  return key.kid
}

async function sealTwice(storage: string, prefix: string): Promise<string[]> {
  const lines: string[] = []
  await sealStorage({ storage }, env, (l) => lines.push(l), { prefix })
  await sealStorage({ storage }, env, (l) => lines.push(l), { prefix })
  return lines
}

describePostgres('grantkit keys seal --storage postgres://…', () => {
  const db = pgTables()

  it('seals plain records once, is idempotent, and the servers then open them', async () => {
    const prefix = await db.fresh()
    const storage = createPostgresStorage({ pool: db.pool, tablePrefix: prefix })
    const kid = await plantPlainKey(storage.keys)
    const keyEncryption = keyEncryptionFromEnv(env)!
    await expect(createSharedKeyStore(storage.keys, { keyEncryption })).rejects.toThrow(/not sealed/)
    const id = keyEncryption[0]!.id
    expect(await sealTwice(POSTGRES_URL, prefix)).toEqual([
      `postgres: sealed key ${kid} with key-encryption key ${id}`,
      'postgres: 1 key(s) sealed, 0 already sealed',
      `postgres: 1 key(s) already sealed with key-encryption key ${id}; nothing to do`,
    ])
    const rows = await db.pool.query(`SELECT private_jwk FROM ${prefix}signing_keys`)
    expect(rows.rows).toHaveLength(1)
    expect(rows.rows[0].private_jwk).not.toMatch(/"d"|"kty"/)
    const keys = await createSharedKeyStore(storage.keys, { keyEncryption })
    expect(keys.signingKey(Date.now() / 1000).kid).toBe(kid)
    keys.close()
    await db.drop(prefix)
  })
})

describe('grantkit keys seal --storage redis://…', async () => {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, commandTimeout: 5000 })
  probe.on('error', () => {})
  // Bounded: no test timeout applies while the suite is collected.
  const up = await withDeadline(3000, 'Redis', () => probe.connect()).then(
    () => true,
    () => false,
  )
  afterAll(() => probe.disconnect())
  it.runIf(up)('seals plain records once, is idempotent, and the servers then open them', async () => {
    const prefix = `grantkit-test:${randomBytes(4).toString('hex')}:seal:`
    const storage = createRedisStorage({ client: REDIS_URL, prefix })
    try {
      const kid = await plantPlainKey(storage.keys)
      const keyEncryption = keyEncryptionFromEnv(env)!
      const id = keyEncryption[0]!.id
      expect(await sealTwice(REDIS_URL, prefix)).toEqual([
        `redis: sealed key ${kid} with key-encryption key ${id}`,
        'redis: 1 key(s) sealed, 0 already sealed',
        `redis: 1 key(s) already sealed with key-encryption key ${id}; nothing to do`,
      ])
      const stored = await probe.lrange(`${prefix}keys:signing`, 0, -1)
      expect(stored).toHaveLength(1)
      expect(stored[0]).not.toMatch(/\\"d\\"|kty/)
      const keys = await createSharedKeyStore(storage.keys, { keyEncryption })
      expect(keys.signingKey(Date.now() / 1000).kid).toBe(kid)
      keys.close()
    } finally {
      await storage.close()
      await probe.del(`${prefix}keys:signing`)
    }
  })
})

it('the test helpers give every serve process the same valid key-encryption key', () => {
  expect(keyEncryptionFromEnv({ GRANTKIT_KEY_ENCRYPTION_KEY: TEST_KEY_ENCRYPTION_KEY })).toHaveLength(1)
})

describe('cookie secrets of grantkit serve on shared storage', () => {
  const kek = (fill: number) => Buffer.alloc(32, fill).toString('base64url')

  it('are derived from the key-encryption key: the same in every process that has it, another for another key', async () => {
    const { cookieSecretsFromEnv } = await import('../../src/cli/keys.js')
    const a = cookieSecretsFromEnv({ GRANTKIT_KEY_ENCRYPTION_KEY: kek(1) })!
    expect(a).toEqual(cookieSecretsFromEnv({ GRANTKIT_KEY_ENCRYPTION_KEY: kek(1) }))
    expect(a[0]).toMatch(/^[A-Za-z0-9_-]{43}$/)
    // Not the key-encryption key itself.
    expect(a[0]).not.toBe(kek(1))
    expect(cookieSecretsFromEnv({ GRANTKIT_KEY_ENCRYPTION_KEY: kek(2) })![0]).not.toBe(a[0])
    // After a rotation, cookies signed under the previous key still verify.
    expect(cookieSecretsFromEnv({ GRANTKIT_KEY_ENCRYPTION_KEY: kek(2), GRANTKIT_PREVIOUS_KEY_ENCRYPTION_KEYS: kek(1) })).toEqual([
      cookieSecretsFromEnv({ GRANTKIT_KEY_ENCRYPTION_KEY: kek(2) })![0],
      a[0],
    ])
    expect(cookieSecretsFromEnv({})).toBeUndefined()
  })

  it('give way to cookieSecrets of the config file', async () => {
    const { toServerOptions, parseConfig } = await import('../../src/cli/config.js')
    const clients = [{ client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'] }]
    const derived = ['d'.repeat(43)]
    expect(toServerOptions(parseConfig({ clients }, 'c.json', '.'), 'http://127.0.0.1:4000', { cookieSecrets: derived }).cookieSecrets).toEqual(derived)
    const own = ['o'.repeat(43)]
    expect(toServerOptions(parseConfig({ clients, cookieSecrets: own }, 'c.json', '.'), 'http://127.0.0.1:4000', { cookieSecrets: derived }).cookieSecrets).toEqual(own)
  })
})
