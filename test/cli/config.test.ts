import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONFIG_FIELDS, createServer, createUserSource, describeJsonError, FILE_ONLY_FIELDS, loadConfigFile, parseConfig, toServerOptions } from '../../src/cli/config.js'
import { optionSchema } from '../../src/config/schema.js'
import { CliError } from '../../src/cli/errors.js'
import { authenticateUser, hashPassword, StaticUserSource } from '../../src/index.js'
import { contextOf } from '../../src/server.js'

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
  it('keeps users, trust and devicePollInterval as written, for the core to check', () => {
    const users = [{ username: 'alice', password: 'wonderland', claims: { email: 'alice@example.com' } }]
    const trust = {
      jwtIssuers: [{ issuer: 'https://idp.example', jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] }, subjects: ['alice'] }],
      samlIdps: [{ entityId: 'https://saml.example', certificate: 'not checked here', scopes: ['api:read'] }],
    }
    const config = parse({ clients: [svc], devicePollInterval: 7, users, trust })
    expect(config.users).toEqual(users)
    expect(config.trust).toEqual(trust)
    const options = toServerOptions(config, ISSUER)
    expect(options.deviceFlow).toEqual({ interval: 7 })
    expect(options.users).toEqual(users)
    expect(options.trust).toEqual(trust)
    expect(toServerOptions(parse({ clients: [svc] }), ISSUER)).not.toHaveProperty('deviceFlow')
  })

  it('names the file and the field of every shape error', () => {
    const cases: Array<[unknown, string]> = [
      [[], 'grantkit.json: (top level): must be a JSON object'],
      [{}, 'grantkit.json: clients: is required'],
      [{ clients: {} }, 'grantkit.json: clients: must be an array'],
      [{ clients: [], colour: 'red' }, 'grantkit.json: colour: unknown field; known fields: issuer,'],
      [{ clients: [], issuer: 42 }, 'grantkit.json: issuer: must be a non-empty string'],
      [{ clients: [], ttl: [60] }, 'grantkit.json: ttl: must be an object'],
      [{ clients: [], ttl: null }, 'grantkit.json: ttl: must be an object'],
      [{ clients: [], devicePollInterval: 0.5 }, 'grantkit.json: devicePollInterval: must be a positive whole number'],
      [{ clients: [], devicePollInterval: 0 }, 'grantkit.json: devicePollInterval: must be a positive whole number'],
      [{ clients: [], users: [{ username: 'a', password: 'p', role: 'admin' }] }, 'grantkit.json: users[0].role: unknown field; known fields: username, password, password_hash, claims, admin'],
      [{ clients: [], trust: [] }, 'grantkit.json: trust: must be an object'],
      [{ clients: [], trust: { oidc: [] } }, 'grantkit.json: trust.oidc: unknown field'],
      // A misspelt limit would otherwise be ignored, trusting the issuer for every user.
      [{ clients: [], trust: { jwtIssuers: [{ issuer: 'i', jwks: { keys: [] }, subject: ['alice'] }] } }, 'grantkit.json: trust.jwtIssuers[0].subject: unknown field'],
      [{ clients: [], trust: { samlIdps: [{ entityId: 'e', certificate: 'c', scope: ['x'] }] } }, 'grantkit.json: trust.samlIdps[0].scope: unknown field'],
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

describe('a config file is the library options as JSON, plus the CLI\'s own fields', () => {
  it('accepts every JSON-configurable option under the library\'s name and passes it to the core', () => {
    const config = parse({
      clients: [svc],
      accessTokenAudience: ['https://api.example'],
      ttl: { accessToken: 120 },
      clockSkew: 5,
      maxAssertionLifetime: 120,
      maxBodyBytes: 1024,
      metadataMaxAge: 30,
      paths: { token: '/oauth/token' },
      sessionTtl: 100,
      consentTtl: 200,
      interactionTtl: 300,
      pkce: { required: 'all', allowPlain: false },
      deviceFlow: { interval: 9, maxAttempts: 3 },
      passwordGrant: { maxFailures: 2, failureWindow: 60, maxDelay: 30 },
      cookieSecrets: ['c'.repeat(32)],
      allowHttpRedirectUris: true,
      allowHttpIssuer: true,
      issuer: 'http://as.internal',
    })
    const ctx = contextOf(createServer(config, ISSUER))
    expect(ctx.issuer).toBe('http://as.internal')
    expect(ctx.accessTokenAudience).toEqual(['https://api.example'])
    expect(ctx.ttl.accessToken).toBe(120)
    expect([ctx.clockSkew, ctx.maxAssertionLifetime, ctx.maxBodyBytes, ctx.metadataMaxAge]).toEqual([5, 120, 1024, 30])
    expect(ctx.endpoints.token).toBe('http://as.internal/oauth/token')
    expect([ctx.sessionTtl, ctx.consentTtl, ctx.interactionTtl]).toEqual([100, 200, 300])
    expect(ctx.pkce).toEqual({ required: 'all', allowPlain: false })
    expect(ctx.deviceFlow).toEqual({ interval: 9, maxAttempts: 3, attemptWindow: 900, maxAttemptsPerAddress: 60, addressWindow: 60 })
    expect(ctx.passwordGrant).toEqual({ maxFailures: 2, failureWindow: 60, maxDelay: 30, maxAttemptsPerAddress: 50, addressWindow: 300, knownDeviceTtl: 2_592_000 })
    expect(ctx.cookieSecrets).toEqual(['c'.repeat(32)])
  })

  it('accepts every field name of the serve contract', () => {
    const contract = {
      issuer: 'http://127.0.0.1:4000',
      accessTokenFormat: 'jwt',
      ttl: { accessToken: 3600, refreshToken: 1209600, authorizationCode: 60, deviceCode: 600, idToken: 3600 },
      devicePollInterval: 5,
      scopes: ['openid', 'api:read'],
      clients: [svc],
      users: [{ username: 'alice', password: 'wonderland', claims: { sub: 'alice' } }],
      trust: { jwtIssuers: [{ issuer: 'https://idp.example', jwks: { keys: [] } }], samlIdps: [] },
      keys: { keys: [] },
    }
    const config = parse(contract)
    const ctx = contextOf(createServer(config, ISSUER, { users: createUserSource(config) }))
    expect(ctx.ttl).toMatchObject({ deviceCode: 600, idToken: 3600 })
    expect(ctx.deviceFlow.interval).toBe(5)
    expect(ctx.trust.jwtIssuers.has('https://idp.example')).toBe(true)
  })

  it('takes resourceServers of the serve contract (RFC 8707) and names a misspelt or bad entry field', () => {
    const config = parse({ clients: [svc], resourceServers: [{ resource: 'https://api.example', scopes: ['api:read'] }] })
    const ctx = contextOf(createServer(config, ISSUER))
    expect([...ctx.resourceServers.keys()]).toEqual(['https://api.example'])
    expect(errorOf(() => parse({ clients: [svc], resourceServers: [{ resource: 'https://api.example', scope: ['api:read'] }] }))).toBe(
      'grantkit.json: resourceServers[0].scope: unknown field; did you mean resourceServers[0].scopes?',
    )
    expect(errorOf(() => createServer(parse({ clients: [svc], resourceServers: [{ resource: 'https://api.example#x', scopes: [] }] }), ISSUER))).toMatch(
      /^grantkit\.json: resourceServers\[0\]\.resource: .*fragment/,
    )
  })

  it('keeps devicePollInterval as the CLI\'s name for deviceFlow.interval, beside the rest of deviceFlow', () => {
    expect(toServerOptions(parse({ clients: [svc], devicePollInterval: 7, deviceFlow: { maxAttempts: 3 } }), ISSUER).deviceFlow).toEqual({ maxAttempts: 3, interval: 7 })
    expect(errorOf(() => parse({ clients: [svc], devicePollInterval: 7, deviceFlow: { interval: 8 } }))).toBe(
      'grantkit.json: devicePollInterval: give it or deviceFlow.interval, not both',
    )
  })

  it('takes its field names from the option schema: JSON options and the CLI\'s own, no collaborators', () => {
    const json = Object.entries(optionSchema).filter(([, e]) => e.json).map(([name]) => name)
    expect(CONFIG_FIELDS).toEqual([...json, ...Object.keys(FILE_ONLY_FIELDS)])
    for (const name of ['pkce', 'deviceFlow', 'clockSkew', 'sessionTtl', 'paths', 'accessTokenAudience', 'issuer', 'ttl', 'devicePollInterval', 'keys']) {
      expect(CONFIG_FIELDS).toContain(name)
    }
    for (const name of ['storage', 'grants', 'deps', 'interaction']) {
      expect(errorOf(() => parse({ clients: [], [name]: {} }))).toMatch(new RegExp(`^grantkit\\.json: ${name}: is an option that only code can set`))
    }
  })

  it('refuses an unknown field, top level or nested, with the closest known name', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ accesTokenFormat: 'jwt' }, 'grantkit.json: accesTokenFormat: unknown field; did you mean accessTokenFormat?'],
      [{ devicePollIntervall: 5 }, 'grantkit.json: devicePollIntervall: unknown field; did you mean devicePollInterval?'],
      [{ ttl: { acessToken: 60 } }, 'grantkit.json: ttl.acessToken: unknown field; did you mean ttl.accessToken?'],
      [{ pkce: { allowplain: true } }, 'grantkit.json: pkce.allowplain: unknown field; did you mean pkce.allowPlain?'],
      [{ paths: { tokn: '/t' } }, 'grantkit.json: paths.tokn: unknown field; did you mean paths.token?'],
      [{ users: [{ username: 'a', pasword: 'p' }] }, 'grantkit.json: users[0].pasword: unknown field; did you mean users[0].password?'],
    ]
    for (const [data, message] of cases) expect(errorOf(() => parse({ clients: [], ...data }))).toBe(message)
  })

  it('lets the core check the content of the library options, naming the file', () => {
    expect(errorOf(() => createServer(parse({ clients: [svc], pkce: { required: 'some' } }), ISSUER))).toBe('grantkit.json: pkce.required: must be "public" or "all"')
    expect(errorOf(() => createServer(parse({ clients: [svc], sessionTtl: 0 }), ISSUER))).toBe('grantkit.json: sessionTtl: must be a positive number of seconds')
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

describe('createUserSource and createServer: the core checks users and trust, the CLI names the file', () => {
  const build = (data: Record<string, unknown>): void => {
    const config = parse({ clients: [svc], ...data })
    createServer(config, ISSUER, { users: createUserSource(config) })
  }

  it('reports what the core finds wrong with users', () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'grantkit.json: users: must be an array'],
      [[null], 'grantkit.json: users[0]: must be an object'],
      [[{ password: 'p' }], 'grantkit.json: users[0].username: must be a non-empty string'],
      [[{ username: 'a' }], 'grantkit.json: users[0]: give exactly one of password and password_hash'],
      [[{ username: 'a', password: '' }], 'grantkit.json: users[0].password: must be a non-empty string'],
      [[{ username: 'a', password_hash: 'md5$abc' }], 'grantkit.json: users[0].password_hash: must be a hash made by hashPassword'],
      [[{ username: 'a', password: 'p', claims: { sub: 7 } }], 'grantkit.json: users[0].claims.sub: must be a non-empty string'],
      [[{ username: 'a', password: 'p' }, { username: 'a', password: 'q' }], 'grantkit.json: users[1].username: "a" appears twice'],
    ]
    for (const [users, message] of cases) expect(errorOf(() => build({ users }))).toContain(message)
  })

  it('accepts a password_hash made by hashPassword', () => {
    const config = parse({ clients: [svc], users: [{ username: 'a', password_hash: hashPassword('p', { memoryCost: 1024, timeCost: 1, parallelism: 1 }) }] })
    expect(createUserSource(config)).toBeInstanceOf(StaticUserSource)
  })

  it('reports what the core finds wrong with trust', () => {
    const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'
    const cases: Array<[unknown, string]> = [
      [{ jwtIssuers: {} }, 'grantkit.json: trust.jwtIssuers: must be an array'],
      [{ jwtIssuers: [{ jwks: { keys: [] } }] }, 'grantkit.json: trust.jwtIssuers[0].issuer: must be a non-empty string'],
      [{ jwtIssuers: [{ issuer: 'i' }] }, 'grantkit.json: trust.jwtIssuers[0].jwks: must be a JWK Set'],
      [{ jwtIssuers: [{ issuer: 'i', jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'secret' }] } }] }, 'grantkit.json: trust.jwtIssuers[0].jwks.keys[0]: must be a public asymmetric key'],
      [{ jwtIssuers: [{ issuer: 'i', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }] }, 'grantkit.json: trust.jwtIssuers[0].jwks.keys[0]: must be a public asymmetric key'],
      [{ jwtIssuers: [{ issuer: 'i', jwks: { keys: [] }, subjects: 'alice' }] }, 'grantkit.json: trust.jwtIssuers[0].subjects: must be an array of non-empty strings'],
      [{ samlIdps: [{ entityId: 'e' }] }, 'grantkit.json: trust.samlIdps[0].certificate: must be a PEM certificate'],
      [{ samlIdps: [{ entityId: 'e', certificate: cert }] }, 'grantkit.json: trust.samlIdps[0].certificate: is not a valid PEM certificate'],
    ]
    for (const [trust, message] of cases) expect(errorOf(() => build({ trust }))).toContain(message)
  })

  it('gives the server the user source it was given, not a second one', async () => {
    const config = parse({ clients: [svc], users: [{ username: 'alice', password: 'wonderland' }] })
    const users = createUserSource(config)!
    const server = createServer(config, ISSUER, { users })
    expect(contextOf(server).users).toBe(users)
    expect(await authenticateUser(users, 'alice', 'wonderland')).toEqual({ sub: 'alice', username: 'alice' })
    expect(createUserSource(parse({ clients: [svc] }))).toBeUndefined()
  })

  it('accepts a client with only the password grant, and still refuses an unknown grant type', () => {
    const cli = { client_id: 'cli', token_endpoint_auth_method: 'none', grant_types: ['password'] }
    expect(() => build({ clients: [cli], users: [{ username: 'a', password: 'p' }] })).not.toThrow()
    expect(errorOf(() => build({ clients: [svc, { ...svc, client_id: 'x', grant_types: ['urn:example:magic'] }] }))).toMatch(
      /^grantkit\.json: clients\[1\]\.grant_types: "urn:example:magic" is not a grant/,
    )
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
    expect(createServer(parse({ clients: [svc] }), ISSUER).issuer).toBe(ISSUER)
  })
})

describe('PAR and JAR in a config file (serve contract, "Newer standards")', () => {
  it('takes the per-client switches under their metadata names and the server-wide ones under the option names', () => {
    const config = parse({
      requirePushedAuthorizationRequests: false,
      requireSignedRequestObject: false,
      ttl: { pushedAuthorizationRequest: 60 },
      // No code flow, so no users needed: the switch is still read and kept.
      clients: [{ client_id: 'web', client_secret: 's', grant_types: ['client_credentials'], require_pushed_authorization_requests: true, require_signed_request_object: false }],
    })
    const ctx = contextOf(createServer(config, 'http://127.0.0.1:4000'))
    expect(ctx.ttl.pushedAuthorizationRequest).toBe(60)
    const client = ctx.clients.find('web') as { metadata: Record<string, unknown> }
    expect(client.metadata.require_pushed_authorization_requests).toBe(true)
  })

  it('keeps a request_uri to at most 60 seconds, naming the file and the field', () => {
    expect(() => parse({ clients: [], ttl: { pushedAuthorizationRequest: 61 } })).toThrow('grantkit.json: ttl.pushedAuthorizationRequest: must be at most 60 seconds in grantkit serve')
  })

  it('names the file and the client of a wrong request_object_signing_alg', () => {
    const config = parse({ clients: [{ client_id: 'web', client_secret: 's', redirect_uris: ['http://127.0.0.1:8080/cb'], request_object_signing_alg: 'none' }] })
    expect(() => createServer(config, 'http://127.0.0.1:4000')).toThrow('grantkit.json: clients[0].request_object_signing_alg: "none" is refused')
  })
})
