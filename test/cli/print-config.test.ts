import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { exportPrivateJwk, generateSigningKey, hashPassword } from '../../src/index.js'
import { parseArgs, type ServeCommand } from '../../src/cli/args.js'
import { demoConfig } from '../../src/cli/demo-config.js'
import { MASK, maskSecrets, maskUrl } from '../../src/cli/mask.js'
import { resolvedConfig } from '../../src/cli/print-config.js'
import { killAll, requireBuiltCli, startCli } from './run-cli.js'

function serveOf(argv: string[], env: Record<string, string> = {}): ServeCommand {
  const command = parseArgs(['serve', ...argv], env)
  if (command.command !== 'serve') throw new Error('not serve')
  return command
}

/** Every string of `value` found under `field` names, at any depth. */
function stringsUnder(value: unknown, names: (name: string) => boolean, inside = false): string[] {
  if (typeof value === 'string') return inside ? [value] : []
  if (Array.isArray(value)) return value.flatMap((v) => stringsUnder(v, names, inside))
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => stringsUnder(v, names, inside || names(k)))
  return []
}

describe('maskSecrets', () => {
  it('masks secret fields at any depth and keeps everything else', () => {
    const masked = maskSecrets({
      clients: [{ client_id: 'svc', client_secret: 's3cr3t', client_secret_hash: 'sha256:abc', client_secret_expires_at: 0, scope: 'a b' }],
      users: [{ username: 'alice', password: 'pw', claims: { sub: 'alice' } }, { username: 'bob', password_hash: 'scrypt$1' }],
      cookieSecrets: ['a'.repeat(32), 'b'.repeat(32)],
      registration: { enabled: true, initialAccessToken: 'iat' },
      passwordGrant: { maxFailures: 5 },
      paths: { token: '/token' },
      ttl: { accessToken: 3600 },
    })
    expect(masked).toEqual({
      clients: [{ client_id: 'svc', client_secret: MASK, client_secret_hash: MASK, client_secret_expires_at: 0, scope: 'a b' }],
      users: [{ username: 'alice', password: MASK, claims: { sub: 'alice' } }, { username: 'bob', password_hash: MASK }],
      cookieSecrets: [MASK, MASK],
      registration: { enabled: true, initialAccessToken: MASK },
      // Named like a secret only in part: limits, paths and lifetimes stay readable.
      passwordGrant: { maxFailures: 5 },
      paths: { token: '/token' },
      ttl: { accessToken: 3600 },
    })
  })

  it('masks the private members of every JWK (RFC 7518 §6.2.2, §6.3.2, §6.4) and keeps the public ones', () => {
    const rsa = exportPrivateJwk(generateSigningKey('RS256'))
    const ec = exportPrivateJwk(generateSigningKey('ES256'))
    const oct = { kty: 'oct', k: 'c2VjcmV0LXN5bW1ldHJpYy1rZXk', alg: 'HS256' }
    const masked = maskSecrets({ keys: { keys: [rsa, ec] }, clients: [{ client_id: 'x', jwks: { keys: [oct] } }] }) as {
      keys: { keys: Array<Record<string, unknown>> }
      clients: Array<{ jwks: { keys: Array<Record<string, unknown>> } }>
    }
    const [mrsa, mec] = masked.keys.keys
    for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(mrsa![m]).toBe(MASK)
    expect(mrsa).toMatchObject({ kty: 'RSA', n: (rsa as unknown as Record<string, unknown>).n, e: 'AQAB', kid: rsa.kid })
    expect(mec).toMatchObject({ kty: 'EC', d: MASK, x: (ec as unknown as Record<string, unknown>).x, crv: 'P-256' })
    expect(masked.clients[0]!.jwks.keys[0]).toEqual({ kty: 'oct', k: MASK, alg: 'HS256' })
    // A "d" that is not in a JWK is not a key member.
    expect(maskSecrets({ d: 'plain' })).toEqual({ d: 'plain' })
  })
})

describe('maskUrl', () => {
  it('masks the password of a storage URL and keeps the rest', () => {
    expect(maskUrl('postgres://grantkit:hunter2@db:5432/auth')).toBe('postgres://grantkit:****@db:5432/auth')
    expect(maskUrl('postgresql://u:p%40ss@db/auth?sslmode=require')).toBe('postgresql://u:****@db/auth?sslmode=require')
    expect(maskUrl('redis://:hunter2@cache:6379/0')).toBe('redis://:****@cache:6379/0')
    expect(maskUrl('rediss://default:hunter2@cache:6380')).toBe('rediss://default:****@cache:6380')
    expect(maskUrl('postgres://db/auth?password=hunter2&sslpassword=x&application_name=gk')).toBe('postgres://db/auth?password=****&sslpassword=****&application_name=gk')
  })

  it('keeps a URL without a password, and memory, as they are', () => {
    expect(maskUrl('postgres://grantkit@db/auth')).toBe('postgres://grantkit@db/auth')
    expect(maskUrl('memory')).toBe('memory')
  })

  it('keeps only the scheme of a URL it cannot parse, since where its password ends is unknown', () => {
    expect(maskUrl('postgres://u:pa/ss@[db/auth')).toBe('postgres://****')
    expect(maskUrl('not a url')).toBe(MASK)
  })
})

describe('resolvedConfig (grantkit serve --print-config)', () => {
  let dir: string
  let file: string
  const secrets: string[] = []
  const KEK = randomBytes(32).toString('base64url')
  const PREVIOUS_KEK = randomBytes(32).toString('base64url')

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'grantkit-print-'))
    const keys = { keys: [exportPrivateJwk(generateSigningKey('RS256')), exportPrivateJwk(generateSigningKey('ES256'))] }
    writeFileSync(join(dir, 'keys.json'), JSON.stringify(keys))
    const clientSecretHash = `sha256:${createHash('sha256').update('hashed-client-secret').digest('base64url')}`
    const passwordHash = hashPassword('hashed-user-password', { memoryCost: 1024, timeCost: 1, parallelism: 1 })
    const config = {
      issuer: 'https://file.example',
      ttl: { accessToken: 600 },
      cookieSecrets: ['sample-cookie-secret-0123456789-abcdefghij'],
      keys: 'keys.json',
      clients: [
        { client_id: 'svc', client_secret: 'sample-client-secret-1', grant_types: ['client_credentials'], scope: 'api:read' },
        { client_id: 'svc2', client_secret_hash: clientSecretHash, grant_types: ['client_credentials'], scope: 'api:read' },
        { client_id: 'web', client_secret: 'sample-client-secret-2', redirect_uris: ['https://app.example/cb'], grant_types: ['authorization_code'], scope: 'openid' },
      ],
      users: [
        { username: 'alice', password: 'sample-user-password', claims: { email: 'alice@example.com' } },
        { username: 'bob', password_hash: passwordHash },
      ],
    }
    file = join(dir, 'grantkit.json')
    writeFileSync(file, JSON.stringify(config))
    secrets.push('sample-client-secret-1', 'sample-client-secret-2', clientSecretHash, 'sample-user-password', passwordHash, 'sample-cookie-secret-0123456789-abcdefghij')
    for (const key of keys.keys) {
      for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
        const v = (key as unknown as Record<string, string | undefined>)[m]
        if (v !== undefined) secrets.push(v)
      }
    }
    secrets.push(KEK, PREVIOUS_KEK, 'db-hunter2')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const env = () => ({
    GRANTKIT_CONFIG: file,
    GRANTKIT_STORAGE: 'postgres://grantkit:db-hunter2@db.invalid:5432/auth',
    GRANTKIT_ISSUER: 'https://env.example',
    GRANTKIT_HOST: '0.0.0.0',
    GRANTKIT_KEY_ENCRYPTION_KEY: KEK,
    GRANTKIT_PREVIOUS_KEY_ENCRYPTION_KEYS: PREVIOUS_KEK,
  })

  it('prints no secret of a sample config, its key file, the storage URL or the key-encryption keys', async () => {
    const printed = await resolvedConfig(serveOf(['--port', '0'], env()), env())
    const text = JSON.stringify(printed, null, 2)
    expect(secrets.length).toBeGreaterThan(15)
    for (const secret of secrets) expect(text).not.toContain(secret)
    expect(text).toContain(MASK)
  })

  it('prints no secret of the demo configuration', async () => {
    const printed = await resolvedConfig(serveOf(['--port', '0']), {})
    const text = JSON.stringify(printed)
    const demoSecrets = stringsUnder(demoConfig, (name) => /secret|password/i.test(name))
    expect(demoSecrets).toEqual(expect.arrayContaining(['web-secret', 'svc-secret', 'svc-post-secret', 'rs-secret', 'wonderland']))
    for (const secret of demoSecrets) expect(text).not.toContain(secret)
    expect(printed.settings).toMatchObject({ config: null, storage: 'memory', keyEncryptionKey: null, signingKeys: 'generated at start' })
  })

  it('shows the settings after precedence and where each came from', async () => {
    const printed = await resolvedConfig(serveOf(['--port', '0', '--adapter', 'node'], env()), env())
    expect(printed.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(printed.settings).toEqual({
      config: file,
      issuer: 'https://env.example',
      host: '0.0.0.0',
      port: 0,
      adapter: 'node',
      storage: 'postgres://grantkit:****@db.invalid:5432/auth',
      logLevel: null,
      keyEncryptionKey: expect.stringMatching(/^\*\*\*\* \(id aes-[\w-]+\)$/),
      previousKeyEncryptionKeys: [expect.stringMatching(/^\*\*\*\* \(id aes-[\w-]+\)$/)],
      signingKeys: 'the config file (2 key(s))',
      cookieSecrets: 'the config file',
    })
    expect(printed.sources).toEqual({
      config: 'GRANTKIT_CONFIG',
      issuer: 'GRANTKIT_ISSUER',
      host: 'GRANTKIT_HOST',
      port: '--port',
      adapter: '--adapter',
      storage: 'GRANTKIT_STORAGE',
      logLevel: 'default',
      keyEncryptionKey: 'GRANTKIT_KEY_ENCRYPTION_KEY',
    })
  })

  it('shows the options with the file\'s values over every plain default', async () => {
    const { options } = await resolvedConfig(serveOf(['--port', '0'], env()), env())
    expect(options.issuer).toBe('https://env.example')
    expect(options.ttl).toEqual({ accessToken: 600, refreshToken: 1_209_600, refreshTokenAbsolute: 2_592_000, authorizationCode: 60, deviceCode: 600, idToken: 3600, pushedAuthorizationRequest: 60 })
    expect(options).toMatchObject({ accessTokenFormat: 'jwt', clockSkew: 60, pkce: { required: 'public', allowPlain: false }, cookieSecrets: [MASK] })
    expect((options.clients as Array<{ client_id: string }>).map((c) => c.client_id)).toEqual(['svc', 'svc2', 'web'])
    expect((options.users as Array<{ username: string }>).map((u) => u.username)).toEqual(['alice', 'bob'])
  })

  it('the issuer of the config file, or the one derived from host and port, when no flag or variable gives one', async () => {
    const fromFile = await resolvedConfig(serveOf(['--config', file]), {})
    expect(fromFile.settings.issuer).toBe('https://file.example')
    expect(fromFile.sources.issuer).toBe('config file')
    const derived = await resolvedConfig(serveOf(['--port', '4321']), {})
    expect(derived.settings.issuer).toBe('http://127.0.0.1:4321')
    expect(derived.sources.issuer).toBe('--host and --port (http://127.0.0.1:PORT)')
  })

  it('refuses what serve refuses before connecting: a shared storage without a key-encryption key, a bad variable value', async () => {
    await expect(resolvedConfig(serveOf(['--storage', 'postgres://db.invalid/auth']), {})).rejects.toThrow(/GRANTKIT_KEY_ENCRYPTION_KEY/)
    await expect(resolvedConfig(serveOf(['--storage', 'redis://cache.invalid']), { GRANTKIT_KEY_ENCRYPTION_KEY: 'short' })).rejects.toThrow(/^GRANTKIT_KEY_ENCRYPTION_KEY: must be 32 random bytes/)
    await expect(resolvedConfig(serveOf(['--host', '0.0.0.0']), {})).rejects.toThrow(/--host 0\.0\.0\.0: the issuer would be http:\/\/0\.0\.0\.0:4000, which is refused .*set --issuer \(or GRANTKIT_ISSUER/)
  })
})

describe('grantkit serve --print-config, the built command', () => {
  let dir: string
  beforeAll(() => {
    requireBuiltCli()
    dir = mkdtempSync(join(tmpdir(), 'grantkit-print-cli-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  afterEach(() => killAll())

  it('prints JSON and exits 0 without listening; the demo secrets are not in it', async () => {
    const cli = startCli(['serve', '--print-config'], dir, { GRANTKIT_PORT: '0', GRANTKIT_LOG_LEVEL: 'debug' })
    expect(await cli.exited()).toBe(0)
    expect(cli.stdout).not.toContain('listening on')
    const printed = JSON.parse(cli.stdout) as { settings: Record<string, unknown>; sources: Record<string, string> }
    expect(printed.settings).toMatchObject({ port: 0, logLevel: 'debug' })
    expect(printed.sources).toMatchObject({ port: 'GRANTKIT_PORT', logLevel: 'GRANTKIT_LOG_LEVEL' })
    for (const secret of ['web-secret', 'svc-secret', 'svc-post-secret', 'rs-secret', 'wonderland']) expect(cli.stdout + cli.stderr).not.toContain(secret)
  })

  it('exits 1 with the message serve gives for a bad config file', async () => {
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ clients: [], accesTokenFormat: 'jwt' }))
    const cli = startCli(['serve', '--print-config', '--config', bad])
    expect(await cli.exited()).toBe(1)
    expect(cli.stderr).toContain(`grantkit: ${bad}: accesTokenFormat: unknown field; did you mean accessTokenFormat?`)
    expect(cli.stdout).toBe('')
  })
})
