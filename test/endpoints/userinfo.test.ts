import { generateKeyPair, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose'
import { describe, expect, it } from 'vitest'
import { type AuthorizationServer, type AuthorizationServerOptions, type Client, type GrantkitRequest, type GrantkitResponse } from '../../src/index.js'
import { basic, ISSUER, json, makeServer, tokenRequest } from '../helpers.js'
import { defaultUsers } from '../users/fixtures.js'
import { issueIdToken } from '../../src/tokens/id-token.js'
import { contextOf } from '../../src/server.js'

const userinfoClients = [
  { client_id: 'app', client_secret: 'app-secret', grant_types: ['password'], scope: 'openid profile email phone address api:read' },
]
const APP = { authorization: basic('app', 'app-secret') }
const URL_USERINFO = ISSUER + '/userinfo'
const NO_CREDENTIALS = 'Bearer realm="https://as.example", DPoP realm="https://as.example", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"'
const REALM = `Bearer realm="${ISSUER}"`

function setup(extra: Partial<AuthorizationServerOptions> = {}) {
  return makeServer({ clients: userinfoClients, users: defaultUsers(), ...extra })
}

async function accessToken(server: AuthorizationServer, scope: string): Promise<string> {
  const res = await server.handle(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wonderland', scope }, APP))
  expect(res.status, res.body).toBe(200)
  return json(res).access_token as string
}

function get(token?: string, query = ''): GrantkitRequest {
  return { method: 'GET', url: new URL(URL_USERINFO + query), headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }
}

function post(form: Record<string, string>, headers: Record<string, string> = {}): GrantkitRequest {
  return {
    method: 'POST',
    url: new URL(URL_USERINFO),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  }
}

/** The sub of a JWT access token; undefined for an opaque one. */
function decodeSub(token: string, format: 'jwt' | 'opaque'): string | undefined {
  return format === 'jwt' ? (decodeJwt(token).sub as string) : undefined
}

function expectInvalidToken(res: GrantkitResponse): void {
  expect(res.status).toBe(401)
  const challenge = res.headers['www-authenticate'] as string
  expect(challenge.startsWith(REALM)).toBe(true)
  expect(challenge).toContain('error="invalid_token"')
}

describe.each(['jwt', 'opaque'] as const)('userinfo endpoint with %s access tokens (OIDC Core §5.3, RFC 6750)', (accessTokenFormat) => {
  it('returns the claims for a GET with Authorization: Bearer', async () => {
    const { server } = setup({ accessTokenFormat })
    const token = await accessToken(server, 'openid profile')
    const res = await server.handle(get(token))
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(json(res)).toMatchObject({ sub: 'alice', name: 'Alice Liddell' })
  })

  it('returns the claims for a POST with Authorization: Bearer', async () => {
    const { server } = setup({ accessTokenFormat })
    const token = await accessToken(server, 'openid profile')
    const res = await server.handle({ method: 'POST', url: new URL(URL_USERINFO), headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(200)
    expect(json(res).sub).toBe('alice')
  })

  it('returns the claims for a POST with access_token in the form body (RFC 6750 §2.2)', async () => {
    const { server } = setup({ accessTokenFormat })
    const token = await accessToken(server, 'openid profile')
    const res = await server.handle(post({ access_token: token }))
    expect(res.status).toBe(200)
    expect(json(res).sub).toBe('alice')
  })

  it('rejects a token sent both in the Authorization header and in the body with 400 invalid_request (RFC 6750 §2)', async () => {
    const { server } = setup({ accessTokenFormat })
    const token = await accessToken(server, 'openid profile')
    const res = await server.handle(post({ access_token: token }, { authorization: `Bearer ${token}` }))
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_request')
    expect(res.headers['www-authenticate']).toContain('error="invalid_request"')
  })

  it('rejects a token in the query string with 400 invalid_request', async () => {
    const { server } = setup({ accessTokenFormat })
    const token = await accessToken(server, 'openid profile')
    const res = await server.handle(get(undefined, `?access_token=${encodeURIComponent(token)}`))
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_request')
  })

  it('rejects an invalid token with 401 and error="invalid_token"', async () => {
    const { server } = setup({ accessTokenFormat })
    expectInvalidToken(await server.handle(get('not-a-token')))
    expectInvalidToken(await server.handle(get('a.b.c')))
  })

  it('rejects an expired token with 401 invalid_token', async () => {
    const { server, clock } = setup({ accessTokenFormat })
    const token = await accessToken(server, 'openid profile')
    clock.advance(3599)
    expect((await server.handle(get(token))).status).toBe(200)
    clock.advance(1)
    expectInvalidToken(await server.handle(get(token)))
  })

  it('rejects a token revoked at the revocation endpoint with 401 invalid_token', async () => {
    const { server } = setup({ accessTokenFormat })
    const token = await accessToken(server, 'openid profile')
    const revoked = await server.handle(tokenRequest({ token }, APP, '/revoke'))
    expect(revoked.status).toBe(200)
    expectInvalidToken(await server.handle(get(token)))
  })

  it('answers a token without the openid scope with 403 insufficient_scope', async () => {
    const { server } = setup({ accessTokenFormat })
    const token = await accessToken(server, 'api:read')
    const res = await server.handle(get(token))
    expect(res.status).toBe(403)
    expect(json(res).error).toBe('insufficient_scope')
    expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"')
    expect(res.headers['www-authenticate']).toContain('scope="openid"')
  })

  it.each([
    ['openid', { sub: 'alice' }],
    ['openid profile', { sub: 'alice', name: 'Alice Liddell', given_name: 'Alice', family_name: 'Liddell', preferred_username: 'alice' }],
    ['openid email', { sub: 'alice', email: 'alice@example.com', email_verified: true }],
    ['openid profile email api:read', { sub: 'alice', name: 'Alice Liddell', given_name: 'Alice', family_name: 'Liddell', preferred_username: 'alice', email: 'alice@example.com', email_verified: true }],
  ])('releases for scope "%s" only the claims that scope covers (OIDC Core §5.4)', async (scope, expected) => {
    const { server } = setup({ accessTokenFormat })
    const res = await server.handle(get(await accessToken(server, scope)))
    expect(res.status).toBe(200)
    // Exactly these: no phone, address or private claims the scope does not cover.
    expect(json(res)).toEqual(expected)
  })

  it("refuses a client_credentials token whose sub equals a person's subject (RFC 9068 §5) with invalid_token", async () => {
    // A client registered under the same identifier as alice's subject.
    const sub = (await defaultUsers().findByUsername('alice'))!.sub
    const impostor = { client_id: sub, client_secret: 'impostor-secret', grant_types: ['client_credentials'], scope: 'openid profile' }
    const { server } = setup({ accessTokenFormat, clients: [...userinfoClients, impostor] })
    const res = await server.token(tokenRequest({ grant_type: 'client_credentials', scope: 'openid profile' }, { authorization: basic(sub, 'impostor-secret') }))
    const token = json(res).access_token as string
    expect(decodeSub(token, accessTokenFormat) ?? sub).toBe(sub)
    const info = await server.handle(get(token))
    expectInvalidToken(info)
    expect(info.body ?? '').not.toContain('Alice')
  })

  it('rejects an ID token (typ JWT) presented as an access token with invalid_token', async () => {
    const { server } = setup({ accessTokenFormat })
    const client = contextOf(server).clients.find('app') as Client
    const idToken = issueIdToken(contextOf(server), { client, sub: 'alice', authTime: Math.floor(contextOf(server).now()) })
    expect(decodeProtectedHeader(idToken).typ).toBe('JWT')
    expectInvalidToken(await server.handle(get(idToken)))
  })
})

describe('userinfo endpoint: requests without usable credentials (RFC 6750 §3.1)', () => {
  it('answers a request without a token with 401 and bare Bearer and DPoP challenges (RFC 9449 §7.1)', async () => {
    const { server } = setup()
    const res = await server.handle(get())
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe(NO_CREDENTIALS)
  })

  it('puts no error code in the body of a 401 for a request that sent no token', async () => {
    const { server } = setup()
    const res = await server.handle(get())
    expect(res.status).toBe(401)
    // RFC 6750 §3.1: no credentials at all → no error code or other error information.
    expect(json(res)?.error).toBeUndefined()
  })

  it('answers an Authorization header of another scheme like a request without credentials', async () => {
    const { server } = setup()
    const res = await server.handle({ method: 'GET', url: new URL(URL_USERINFO), headers: { authorization: basic('app', 'app-secret') } })
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe(NO_CREDENTIALS)
  })

  it('rejects a malformed Bearer header with 400 invalid_request', async () => {
    const { server } = setup()
    const res = await server.handle({ method: 'GET', url: new URL(URL_USERINFO), headers: { authorization: 'Bearer two words' } })
    expect(res.status).toBe(400)
    expect(res.headers['www-authenticate']).toContain('error="invalid_request"')
  })

  it('answers methods other than GET and POST with 405', async () => {
    const { server } = setup()
    const res = await server.handle({ method: 'PUT', url: new URL(URL_USERINFO), headers: {} })
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('GET, POST')
  })
})

describe('userinfo endpoint: forged JWT access tokens (RFC 9068 §4)', () => {
  async function genuine(): Promise<{ server: AuthorizationServer; token: string; header: ReturnType<typeof decodeProtectedHeader>; payload: ReturnType<typeof decodeJwt> }> {
    const { server } = setup()
    const token = await accessToken(server, 'openid profile')
    expect((await server.handle(get(token))).status).toBe(200)
    return { server, token, header: decodeProtectedHeader(token), payload: decodeJwt(token) }
  }

  it('rejects a JWT access token signed by another key under our kid', async () => {
    const { server, header, payload } = await genuine()
    const { privateKey } = await generateKeyPair('ES256')
    const forged = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: header.kid! }).sign(privateKey)
    expectInvalidToken(await server.handle(get(forged)))
  })

  it('rejects a JWT access token signed by a key we do not know', async () => {
    const { server, payload } = await genuine()
    const { privateKey } = await generateKeyPair('ES256')
    const forged = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'attacker' }).sign(privateKey)
    expectInvalidToken(await server.handle(get(forged)))
  })

  it('rejects a JWT access token with alg none', async () => {
    const { server, header, payload } = await genuine()
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const unsigned = `${enc({ alg: 'none', typ: 'at+jwt', kid: header.kid })}.${enc(payload)}.`
    expectInvalidToken(await server.handle(get(unsigned)))
  })

  it('rejects a JWT access token whose payload was tampered with', async () => {
    const { server, token, payload } = await genuine()
    const [h, , s] = token.split('.')
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'bob' })).toString('base64url')}.${s}`
    expectInvalidToken(await server.handle(get(tampered)))
  })
})

describe.each(['jwt', 'opaque'] as const)('userinfo endpoint: tokens for a resource server (RFC 8707 §2, RFC 9068 §4), %s', (accessTokenFormat) => {
  // A resource server whose entry lists openid: a token for it still is not a token for this server's userinfo.
  const API = 'https://api.example/people'
  const h = () => setup({ accessTokenFormat, resourceServers: [{ resource: API, scopes: ['openid', 'profile'] }] }).server

  it('refuses a token audience-restricted to a resource server with 401 invalid_token', async () => {
    const server = h()
    const res = await server.handle(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'openid profile', resource: API }, APP))
    expect(res.status, res.body).toBe(200)
    const token = json(res).access_token as string
    if (accessTokenFormat === 'jwt') expect(decodeJwt(token).aud).toEqual([API])
    const answer = await server.handle(get(token))
    expectInvalidToken(answer)
    expect(answer.body).not.toContain('alice')
  })

  it('still answers a token for this server, asked without resource', async () => {
    const server = h()
    const res = await server.handle(get(await accessToken(server, 'openid profile')))
    expect(res.status, res.body).toBe(200)
    expect(json(res).sub).toBeDefined()
  })
})
