import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { killAll, requireBuiltCli, startCli, type CliProcess } from './run-cli.js'

let dir: string

beforeAll(() => {
  requireBuiltCli()
  dir = mkdtempSync(join(tmpdir(), 'grantkit-cli-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(() => killAll())

function writeConfig(name: string, content: unknown): string {
  const file = join(dir, name)
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  return file
}

const basicAuth = (id: string, secret: string): string => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64')

async function clientCredentials(tokenUrl: string, id: string, secret: string, scope?: string): Promise<Response> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', ...(scope !== undefined && { scope }) })
  return fetch(tokenUrl, {
    method: 'POST',
    headers: { authorization: basicAuth(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  })
}

async function expectRefused(cli: CliProcess): Promise<void> {
  expect(await cli.exited()).not.toBe(0)
  expect(cli.stdout).not.toContain('listening on')
}

describe('grantkit serve, demo mode', () => {
  it('prints the demo credentials, curl lines and the listening line, and issues tokens that verify against its JWKS', async () => {
    const cli = startCli(['serve', '--port', '0'])
    const url = await cli.listening()
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(url).not.toBe('http://127.0.0.1:0')
    expect(cli.stdout).toContain('svc-secret')
    expect(cli.stdout).toContain('svc-post-secret')
    expect(cli.stdout).toContain('alice / wonderland')
    expect(cli.stdout).not.toContain('later release')
    expect(cli.stdout).toContain(`curl -s ${url}/jwks`)
    expect(cli.stdout).toContain(`${url}/.well-known/openid-configuration`)

    // Do exactly what the printed curl line does.
    const curl = /curl -s -u (\S+):(\S+) -d grant_type=client_credentials -d scope=(\S+) (\S+)/.exec(cli.stdout)
    expect(curl, cli.stdout).not.toBeNull()
    const [, id, secret, scope, tokenUrl] = curl!
    expect(tokenUrl).toBe(`${url}/token`)
    const res = await clientCredentials(tokenUrl!, id!, secret!, scope)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { access_token: string; token_type: string }
    expect(body.token_type).toBe('Bearer')

    const discovery = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string }
    expect(discovery.issuer).toBe(url)
    const { payload } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
      issuer: url,
      typ: 'at+jwt',
    })
    expect(payload.client_id).toBe('svc')
    expect(payload.scope).toBe('api:read')
    // The token itself is never logged.
    expect(cli.stdout + cli.stderr).not.toContain(body.access_token)
  })

  it('serves the client_secret_post demo client', async () => {
    const cli = startCli(['serve', '--port', '0'])
    const url = await cli.listening()
    const res = await fetch(`${url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'svc-post', client_secret: 'svc-post-secret' }),
    })
    expect(res.status).toBe(200)
  })
})

describe('grantkit serve, config file', () => {
  it('uses the issuer of the config file and never prints client secrets', async () => {
    const file = writeConfig('custom-issuer.json', {
      issuer: 'https://auth.example.test',
      accessTokenFormat: 'jwt',
      ttl: { accessToken: 120 },
      scopes: ['api:read'],
      clients: [{ client_id: 'svc', client_secret: 'very-secret-value', grant_types: ['client_credentials'], scope: 'api:read' }],
      users: [{ username: 'alice', password: 'wonderland-pw' }],
    })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    const url = await cli.listening()
    const metadata = (await (await fetch(`${url}/.well-known/oauth-authorization-server`)).json()) as { issuer: string; token_endpoint: string }
    expect(metadata.issuer).toBe('https://auth.example.test')
    expect(metadata.token_endpoint).toBe('https://auth.example.test/token')

    const res = await clientCredentials(`${url}/token`, 'svc', 'very-secret-value')
    expect(res.status).toBe(200)
    const body = (await res.json()) as { access_token: string; expires_in: number }
    expect(body.expires_in).toBe(120)
    const { payload } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(`${url}/jwks`)), { issuer: 'https://auth.example.test' })
    expect(payload.client_id).toBe('svc')

    const printed = cli.stdout + cli.stderr
    expect(printed).not.toContain('very-secret-value')
    expect(printed).not.toContain('wonderland-pw')
    expect(printed).not.toContain(body.access_token)
    expect(cli.stderr).not.toContain('not used yet')
  })

  it('derives the issuer from the real port when the config has none', async () => {
    const file = writeConfig('no-issuer.json', {
      clients: [{ client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' }],
    })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    const url = await cli.listening()
    const metadata = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as { issuer: string }
    expect(metadata.issuer).toBe(url)
  })

  it('reads the signing keys from a key file named relative to the config', async () => {
    const { generateKeyPairSync } = await import('node:crypto')
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })
    writeConfig('signing-keys.json', { keys: [{ ...jwk, kid: 'cli-test-key' }] })
    const file = writeConfig('with-key-file.json', {
      keys: 'signing-keys.json',
      clients: [{ client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' }],
    })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    const url = await cli.listening()
    const jwks = (await (await fetch(`${url}/jwks`)).json()) as { keys: Array<{ kid: string; alg: string; d?: string }> }
    // Beside it, the RS256 ID-token key generated because the file has none (OIDC Core §3.1.3.7).
    expect(jwks.keys.map((k) => k.alg)).toEqual(['ES256', 'RS256'])
    expect(jwks.keys[0]!.kid).toBe('cli-test-key')
    for (const k of jwks.keys) expect(k.d).toBeUndefined()
  })
})

describe('grantkit serve, users, trust and devicePollInterval from the config file', () => {
  it('signs users in with the password grant, answers device authorization with the configured interval, and accepts assertions of a trusted issuer', async () => {
    const { generateKeyPairSync, randomUUID } = await import('node:crypto')
    const { SignJWT, importJWK } = await import('jose')
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const file = writeConfig('users-trust.json', {
      devicePollInterval: 9,
      clients: [
        { client_id: 'cli', token_endpoint_auth_method: 'none', grant_types: ['password', 'urn:ietf:params:oauth:grant-type:device_code'], scope: 'api:read' },
        { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['urn:ietf:params:oauth:grant-type:jwt-bearer'], scope: 'api:read' },
      ],
      users: [{ username: 'bob', password: 'bob-password', claims: { sub: 'user-42' } }],
      trust: { jwtIssuers: [{ issuer: 'https://idp.example', jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'idp' }] }, subjects: ['user-42'] }] },
    })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    const url = await cli.listening()
    expect(cli.stdout).toContain('1 user(s)')
    expect(cli.stderr).toBe('')
    const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
      fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) })

    const password = await post('/token', { grant_type: 'password', client_id: 'cli', username: 'bob', password: 'bob-password' })
    expect(password.status).toBe(200)
    const { access_token } = (await password.json()) as { access_token: string }
    expect((await jwtVerify(access_token, createRemoteJWKSet(new URL(`${url}/jwks`)))).payload.sub).toBe('user-42')
    expect((await post('/token', { grant_type: 'password', client_id: 'cli', username: 'bob', password: 'wrong' })).status).toBe(400)

    const device = await post('/device_authorization', { client_id: 'cli' })
    expect(((await device.json()) as { interval: number }).interval).toBe(9)

    const sign = async (sub: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'idp' })
        .setIssuer('https://idp.example')
        .setSubject(sub)
        .setAudience(`${url}/token`)
        .setIssuedAt()
        .setExpirationTime('2m')
        .setJti(randomUUID())
        .sign(await importJWK(privateKey.export({ format: 'jwk' }) as never, 'ES256'))
    const assertion = (sub: string) => async () =>
      post('/token', { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await sign(sub) }, { authorization: basicAuth('svc', 'svc-secret') })
    const granted = await (await assertion('user-42'))()
    expect(granted.status).toBe(200)
    // The issuer's subjects limit comes through too.
    expect((await (await assertion('someone-else'))()).status).toBe(400)
  })
})

describe('grantkit serve refuses a bad config before listening', () => {
  const svc = { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'] }

  it('an unreadable file', async () => {
    const file = join(dir, 'does-not-exist.json')
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toContain(`grantkit: ${file}: cannot read the config file: no such file`)
  })

  it('a directory instead of a file', async () => {
    const cli = startCli(['serve', '--config', dir, '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toContain(`grantkit: ${dir}: cannot read the config file`)
  })

  it('invalid JSON, with line and column', async () => {
    const file = writeConfig('invalid.json', '{\n  "clients": [\n    { "client_id": "svc" "client_secret": "s" }\n  ]\n}\n')
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toContain(`grantkit: ${file}: invalid JSON: line 3, column 26`)
  })

  it('an unknown grant type', async () => {
    const file = writeConfig('unknown-grant.json', { clients: [svc, { ...svc, client_id: 'other', grant_types: ['client_credentials', 'urn:example:magic'] }] })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toMatch(new RegExp(`grantkit: ${escape(file)}: clients\\[1\\]\\.grant_types: "urn:example:magic" is not a grant`))
  })

  it('a client that asks for authorization_code without redirect_uris', async () => {
    const file = writeConfig('no-redirect.json', { clients: [svc, { client_id: 'web', client_secret: 'web-secret', grant_types: ['authorization_code'] }] })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toMatch(new RegExp(`grantkit: ${escape(file)}: clients\\[1\\]\\.redirect_uris: is required`))
  })

  it('ttl that is not an object', async () => {
    const file = writeConfig('ttl-number.json', { clients: [svc], ttl: 3600 })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toContain(`grantkit: ${file}: ttl: must be an object`)
  })

  it('a lifetime that is not a number of seconds', async () => {
    const file = writeConfig('ttl-string.json', { clients: [svc], ttl: { accessToken: '1h' } })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toContain(`grantkit: ${file}: ttl.accessToken: must be a positive number of seconds`)
  })

  it('an unknown top-level field', async () => {
    const file = writeConfig('unknown-field.json', { clients: [svc], colour: 'red' })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toContain(`grantkit: ${file}: colour: unknown field`)
  })
})

describe('grantkit serve refuses bad users and trust before listening, naming the file and the field', () => {
  const svc = { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'] }

  it('a password_hash that hashPassword did not make', async () => {
    const file = writeConfig('bad-hash.json', { clients: [svc], users: [{ username: 'alice', password_hash: '5f4dcc3b5aa765d61d8327deb882cf99' }] })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toContain(`grantkit: ${file}: users[0].password_hash: must be a hash made by hashPassword`)
  })

  it('a user without a password', async () => {
    const file = writeConfig('no-password.json', { clients: [svc], users: [{ username: 'alice', password: 'a' }, { username: 'bob' }] })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toContain(`grantkit: ${file}: users[1]: give exactly one of password and password_hash`)
  })

  it('a private key among the keys of a trusted issuer, without printing it', async () => {
    const { generateKeyPairSync } = await import('node:crypto')
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })
    const file = writeConfig('private-trust.json', { clients: [svc], trust: { jwtIssuers: [{ issuer: 'https://idp.example', jwks: { keys: [jwk] } }] } })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toContain(`grantkit: ${file}: trust.jwtIssuers[0].jwks.keys[0]: must be a public asymmetric key`)
    expect(cli.stderr).not.toContain(jwk.d!)
  })

  it('a SAML certificate that is not one', async () => {
    const file = writeConfig('bad-cert.json', { clients: [svc], trust: { samlIdps: [{ entityId: 'https://saml.example', certificate: 'hello' }] } })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toContain(`grantkit: ${file}: trust.samlIdps[0].certificate: is not a valid PEM certificate`)
  })

  it('a misspelt field of a trusted issuer', async () => {
    const file = writeConfig('typo-trust.json', { clients: [svc], trust: { jwtIssuers: [{ issuer: 'https://idp.example', jwks: { keys: [] }, subject: ['alice'] }] } })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toContain(`grantkit: ${file}: trust.jwtIssuers[0].subject: unknown field`)
  })

  it('a devicePollInterval that is not a whole number of seconds', async () => {
    const file = writeConfig('bad-interval.json', { clients: [svc], devicePollInterval: '5s' })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toContain(`grantkit: ${file}: devicePollInterval: must be a positive whole number of seconds`)
  })

  it('but not a client with only the password grant', async () => {
    const file = writeConfig('password-client.json', {
      clients: [{ client_id: 'cli', token_endpoint_auth_method: 'none', grant_types: ['password'] }],
      users: [{ username: 'alice', password: 'wonderland' }],
    })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    await cli.listening()
  })
})

describe('grantkit serve command line', () => {
  for (const adapter of ['express', 'hono'] as const) {
    it(`serves the same server through --adapter ${adapter}`, async () => {
      const cli = startCli(['serve', '--adapter', adapter, '--port', '0'])
      const url = await cli.listening()
      const res = await clientCredentials(`${url}/token`, 'svc', 'svc-secret', 'api:read')
      expect(res.status).toBe(200)
      const metadata = (await (await fetch(`${url}/.well-known/oauth-authorization-server`)).json()) as { issuer: string }
      expect(metadata.issuer).toBe(url)
      expect((await fetch(`${url}/nothing-here`)).status).toBe(404)
    })
  }

  it('exits non-zero before listening when PostgreSQL cannot be reached, without echoing the URL', async () => {
    const cli = startCli(['serve', '--storage', 'postgres://admin:db-password@127.0.0.1:1/grantkit', '--port', '0'])
    await expectRefused(cli)
    expect(cli.stderr).toMatch(/--storage postgres:\/\/…: cannot prepare the database/)
    expect(cli.stderr).not.toContain('db-password')
  }, 20_000)

  it('exits 2 for a storage URL of another kind', async () => {
    const cli = startCli(['serve', '--storage', 'mysql://x@y/z', '--port', '0'])
    expect(await cli.exited()).toBe(2)
    expect(cli.stderr).toContain('--storage: must be "memory", "postgres://…" or "redis://…"')
  })

  it('exits 2 on an unknown flag', async () => {
    const cli = startCli(['serve', '--prot', '0'])
    expect(await cli.exited()).toBe(2)
    expect(cli.stderr).toContain('unknown option "--prot"')
  })

  it('prints usage for --help and exits 0', async () => {
    const cli = startCli(['--help'])
    expect(await cli.exited()).toBe(0)
    expect(cli.stdout).toContain('Usage: grantkit serve')
  })
})

describe('grantkit serve shutdown', () => {
  it('on SIGTERM stops accepting, finishes the in-flight request and exits 0', async () => {
    const cli = startCli(['serve', '--port', '0'])
    const url = await cli.listening()
    const body = 'grant_type=client_credentials&scope=api%3Aread'
    // A keep-alive agent: an idle connection must not hold the process open.
    const agent = new http.Agent({ keepAlive: true })
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        `${url}/token`,
        {
          method: 'POST',
          agent,
          headers: { authorization: basicAuth('svc', 'svc-secret'), 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length },
        },
        (res) => {
          let text = ''
          res.setEncoding('utf8').on('data', (d: string) => (text += d))
          res.on('end', () => resolve({ status: res.statusCode!, body: text }))
        },
      )
      req.on('error', reject)
      // Half the body now, so the request is in flight when the signal arrives.
      req.write(body.slice(0, 10))
      cli.child.stderr!.on('data', (d: string) => {
        if (d.includes('SIGTERM')) req.end(body.slice(10))
      })
    })
    await new Promise((r) => setTimeout(r, 300))
    cli.child.kill('SIGTERM')

    const done = await response
    expect(done.status).toBe(200)
    expect(JSON.parse(done.body)).toHaveProperty('access_token')
    // Well below the 5 s keep-alive timeout: the server itself must end the idle connection.
    expect(await cli.exited(2_000)).toBe(0)
    agent.destroy()
    // The listening socket is closed.
    await expect(fetch(`${url}/jwks`)).rejects.toThrow()
  })

  it('exits 0 on SIGINT when idle', async () => {
    const cli = startCli(['serve', '--port', '0'])
    await cli.listening()
    cli.child.kill('SIGINT')
    expect(await cli.exited(5_000)).toBe(0)
  })
})

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
