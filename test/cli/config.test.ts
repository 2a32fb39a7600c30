import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, describeJsonError, loadConfigFile, parseConfig, pendingFieldsIn, toServerOptions } from '../../src/cli/config.js'
import { demoConfig, describeDemo } from '../../src/cli/demo-config.js'
import { CliError } from '../../src/cli/errors.js'

const svc = { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' }
const ISSUER = 'http://127.0.0.1:4000'

let dir: string
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'grantkit-config-'))))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function errorOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(CliError)
    expect((error as CliError).exitCode).toBe(1)
    return (error as CliError).message
  }
  throw new Error('expected a CliError')
}

const parse = (data: unknown) => parseConfig(data, 'grantkit.json', dir)

describe('parseConfig', () => {
  it('keeps the fields of features that arrive later, typed', () => {
    const config = parse({
      clients: [svc],
      devicePollInterval: 5,
      users: [{ username: 'alice', password: 'wonderland', claims: { email: 'alice@example.com' } }],
      trust: {
        jwtIssuers: [{ issuer: 'https://idp.example', jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] } }],
        samlIdps: [{ entityId: 'https://saml.example', certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' }],
      },
    })
    expect(config.devicePollInterval).toBe(5)
    expect(config.users).toEqual([{ username: 'alice', password: 'wonderland', claims: { sub: 'alice', email: 'alice@example.com' } }])
    expect(config.trust.jwtIssuers[0]!.issuer).toBe('https://idp.example')
    expect(config.trust.samlIdps[0]!.entityId).toBe('https://saml.example')
    expect(pendingFieldsIn(config)).toEqual(['users', 'trust', 'devicePollInterval'])
  })

  it('names the file and the field of every shape error', () => {
    const cases: Array<[unknown, string]> = [
      [[], 'grantkit.json: (top level): must be a JSON object'],
      [{}, 'grantkit.json: clients: is required'],
      [{ clients: {} }, 'grantkit.json: clients: must be an array'],
      [{ clients: [], colour: 'red' }, 'grantkit.json: colour: unknown field; known fields: issuer,'],
      [{ clients: [], issuer: 42 }, 'grantkit.json: issuer: must be a non-empty string'],
      [{ clients: [], ttl: [60] }, 'grantkit.json: ttl: must be an object'],
      [{ clients: [], devicePollInterval: 0.5 }, 'grantkit.json: devicePollInterval: must be a positive whole number'],
      [{ clients: [], users: {} }, 'grantkit.json: users: must be an array'],
      [{ clients: [], users: [{ username: 'a' }] }, 'grantkit.json: users[0].password: is required'],
      [{ clients: [], users: [{ username: 'a', password: 'p', role: 'admin' }] }, 'grantkit.json: users[0].role: unknown field'],
      [{ clients: [], users: [{ username: 'a', password: 'p', claims: { sub: 7 } }] }, 'grantkit.json: users[0].claims.sub: must be a non-empty string'],
      [{ clients: [], users: [{ username: 'a', password: 'p' }, { username: 'a', password: 'q' }] }, 'grantkit.json: users[1].username: "a" appears twice'],
      [{ clients: [], trust: { oidc: [] } }, 'grantkit.json: trust.oidc: unknown field'],
      [{ clients: [], trust: { jwtIssuers: [{ issuer: 'i' }] } }, 'grantkit.json: trust.jwtIssuers[0].jwks: must be an object'],
      [{ clients: [], trust: { jwtIssuers: [{ issuer: 'i', jwks: { keys: [{ kty: 'EC', d: 'secret' }] } }] } }, 'trust.jwtIssuers[0].jwks.keys[0]: must be a public key'],
      [{ clients: [], trust: { samlIdps: [{ entityId: 'e' }] } }, 'grantkit.json: trust.samlIdps[0].certificate: is required'],
      [{ clients: [], keys: [] }, 'grantkit.json: keys: must be a JWK Set'],
      [{ clients: [], keys: { keys: {} } }, 'grantkit.json: keys.keys: must be an array'],
    ]
    for (const [data, message] of cases) expect(errorOf(() => parse(data))).toContain(message)
  })

  it('reads keys from a file relative to the config, naming the key file when it is unreadable or not JSON', () => {
    writeFileSync(join(dir, 'keys.json'), JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' }] }))
    expect(parse({ clients: [], keys: 'keys.json' }).keys).toHaveLength(1)
    expect(errorOf(() => parse({ clients: [], keys: 'missing-keys.json' }))).toBe('grantkit.json: keys: cannot read "missing-keys.json": no such file (ENOENT)')
    writeFileSync(join(dir, 'broken-keys.json'), '{"keys": [')
    expect(errorOf(() => parse({ clients: [], keys: 'broken-keys.json' }))).toContain('grantkit.json: keys: "broken-keys.json" is not valid JSON (line 1')
  })
})

describe('loadConfigFile', () => {
  it('reads a file with a byte order mark', () => {
    const file = join(dir, 'bom.json')
    writeFileSync(file, '\uFEFF' + JSON.stringify({ clients: [svc] }))
    expect(loadConfigFile(file).clients).toEqual([svc])
  })

  it('reports invalid JSON with line and column and without quoting the file', () => {
    const file = join(dir, 'leaky.json')
    const text = '{\n  "clients": [{ "client_id": "svc", "client_secret": "do-not-print-me-please", "scope": tru }],\n  "issuer": "https://as.example"\n}'
    writeFileSync(file, text)
    const message = errorOf(() => loadConfigFile(file))
    expect(message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: invalid JSON: line 2, column \\d+: `))
    expect(message).not.toContain('do-not-print-me-please')
  })
})

describe('describeJsonError', () => {
  const describeFor = (text: string): string => {
    try {
      JSON.parse(text)
    } catch (error) {
      return describeJsonError(error, text)
    }
    throw new Error('valid JSON')
  }

  it('gives line and column for errors V8 places', () => {
    expect(describeFor('{\n  "a": 1,\n}')).toMatch(/^line 3, column 1: /)
    expect(describeFor('{\n  "a": [1,\n')).toMatch(/^line 3, column 1: Unexpected end of JSON input/)
  })

  it('never repeats the text of the file', () => {
    expect(describeFor('{"secret": "abc", "x": tru}')).not.toContain('abc')
  })
})

describe('createServer', () => {
  it('passes the config to the core and adds the file name to its TypeErrors', () => {
    const config = parse({ clients: [svc, { client_id: 'web', client_secret: 'w', grant_types: ['authorization_code'] }] })
    expect(errorOf(() => createServer(config, ISSUER))).toMatch(/^grantkit\.json: clients\[1\]\.redirect_uris: /)
    expect(errorOf(() => createServer(parse({ clients: [svc], ttl: { accessToken: -1 } }), ISSUER))).toBe(
      'grantkit.json: ttl.accessToken: must be a positive number of seconds',
    )
    expect(errorOf(() => createServer(parse({ clients: [svc], accessTokenFormat: 'paseto' }), ISSUER))).toContain(
      'grantkit.json: accessTokenFormat:',
    )
    expect(errorOf(() => createServer(parse({ clients: [svc], issuer: 'http://as.example' }), ISSUER))).toMatch(/^grantkit\.json: issuer: /)
  })

  it('uses the given issuer only when the config has none', () => {
    expect(toServerOptions(parse({ clients: [svc] }), ISSUER).issuer).toBe(ISSUER)
    expect(toServerOptions(parse({ clients: [svc], issuer: 'https://as.example' }), ISSUER).issuer).toBe('https://as.example')
    expect(createServer(parse({ clients: [svc] }), ISSUER).context.issuer).toBe(ISSUER)
  })
})

describe('demo config', () => {
  it('is accepted by the core and its svc client gets a token', async () => {
    const server = createServer(demoConfig, ISSUER)
    const res = await server.handle({
      method: 'POST',
      url: new URL(`${ISSUER}/token`),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from('svc:svc-secret').toString('base64') },
      body: 'grant_type=client_credentials',
    })
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body!)).toMatchObject({ token_type: 'Bearer', scope: 'api:read api:write' })
  })

  it('lists the planned grants the server does not support yet', () => {
    const urls = { token: `${ISSUER}/token`, jwks: `${ISSUER}/jwks`, discovery: `${ISSUER}/.well-known/openid-configuration` }
    const text = describeDemo(demoConfig, urls, ['client_credentials', 'refresh_token'])
    expect(text).toMatch(/later release: authorization_code, implicit, password, device_code, jwt-bearer, saml2-bearer\./)
    expect(text).toContain(`curl -s -u svc:svc-secret -d grant_type=client_credentials -d scope=api:read ${ISSUER}/token`)
    expect(text).toContain('alice / wonderland')
  })
})
