import { describe, expect, it } from 'vitest'
import { createAuthorizationServer, hashToken, type GrantkitResponse, type ResourceServerOptions } from '../../src/index.js'
import { contextOf } from '../../src/server.js'
import {
  authorizeAs,
  Browser,
  codeFor,
  expectErrorRedirect,
  expectTokenError,
  IMPLICIT_CB,
  redeem,
  redirect,
  setup,
  WEB_AUTH,
  WEB_CB,
  webParams,
  type Harness,
} from '../authorize/fixtures.js'
import { alice, basic, counterIds, fakeClock, ISSUER, json, makeServer, plainUsers, tokenRequest } from '../helpers.js'

const A = 'https://a.example/api'
const B = 'https://b.example'
const C = 'urn:example:c'
const resourceServers: ResourceServerOptions[] = [
  { resource: A, scopes: ['api:read', 'api:write'] },
  { resource: B, scopes: ['api:read'] },
  { resource: C, scopes: ['api:write'], accessTokenFormat: 'opaque', accessTokenTtl: 300 },
]
const SVC = { authorization: basic('svc', 'svc-secret') }

const payload = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>

function cc(pairs: [string, string][]): Promise<GrantkitResponse> {
  const { server } = makeServer({ resourceServers })
  return server.token(tokenRequest(new URLSearchParams([['grant_type', 'client_credentials'], ...pairs]).toString(), SVC))
}

function introspect(h: Harness, token: string): Promise<GrantkitResponse> {
  return h.server.introspect(tokenRequest({ token }, WEB_AUTH, '/introspect'))
}

describe('resourceServers option (RFC 8707 §2)', () => {
  const make = (resourceServers: unknown, extra: Record<string, unknown> = {}) => () =>
    createAuthorizationServer({ issuer: ISSUER, clients: [], resourceServers: resourceServers as ResourceServerOptions[], ...extra })

  it('accepts absolute URIs (any scheme, with a query) and refuses what RFC 8707 §2 forbids, naming the field', () => {
    expect(make([{ resource: 'https://api.example/v1?tenant=1', scopes: [] }, { resource: 'urn:x:y', scopes: ['a'] }])).not.toThrow()
    expect(make([{ resource: 'https://api.example/#frag', scopes: [] }])).toThrow(/resourceServers\[0\]\.resource: .*fragment/)
    expect(make([{ resource: '/relative', scopes: [] }])).toThrow(/resourceServers\[0\]\.resource: .*absolute URI/)
    expect(make([{ resource: 'https://a.example', scopes: [] }, { resource: 'https://a.example', scopes: [] }])).toThrow(/resourceServers\[1\]\.resource: .*twice/)
    expect(make([{ resource: 'https://a.example' }])).toThrow(/resourceServers\[0\]\.scopes: must be an array/)
    expect(make([{ resource: 'https://a.example', scopes: ['bad scope'] }])).toThrow(/resourceServers\[0\]\.scopes\[0\]/)
    expect(make([{ resource: 'https://a.example', scopes: [], audience: 'x' }])).toThrow(/resourceServers\[0\]\.audience: unknown field/)
    expect(make([{ resource: 'https://a.example', scopes: [], accessTokenTtl: 0 }])).toThrow(/resourceServers\[0\]\.accessTokenTtl/)
    expect(make([{ resource: 'https://a.example', scopes: [], accessTokenFormat: 'paseto' }])).toThrow(/resourceServers\[0\]\.accessTokenFormat/)
    expect(make({ resource: 'https://a.example' })).toThrow(/resourceServers: must be an array/)
  })

  it('refuses an entry scope the server does not know, since no token could carry it', () => {
    expect(make([{ resource: 'https://a.example', scopes: ['api:read', 'nope'] }], { scopes: ['api:read'] })).toThrow(/resourceServers\[0\]\.scopes\[1\]: "nope" is not in scopes/)
  })
})

describe('resource at the token endpoint: client_credentials (RFC 8707 §2.2)', () => {
  it('restricts aud to the asked resource and the scope to what it lists', async () => {
    const res = await cc([['resource', B], ['scope', 'api:read api:write']])
    expect(res.status, res.body).toBe(200)
    expect(json(res).scope).toBe('api:read')
    expect(payload(json(res).access_token as string)).toMatchObject({ aud: [B], scope: 'api:read', sub: 'svc' })
  })

  it('keeps the configured audience without resource', async () => {
    const res = await cc([['scope', 'api:read']])
    expect(payload(json(res).access_token as string).aud).toBe(ISSUER)
  })

  it.each([
    ['an unknown resource', 'https://unknown.example'],
    ['a resource with a fragment', `${A}#x`],
    ['a relative reference', '/api'],
    ['no URI at all', 'not a uri'],
  ])('refuses %s with invalid_target (400)', async (_, resource) => {
    const res = await cc([['resource', resource]])
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_target')
  })

  it('refuses more than 16 resources with invalid_target', async () => {
    const res = await cc(Array.from({ length: 17 }, () => ['resource', A] as [string, string]))
    expect(json(res).error).toBe('invalid_target')
  })

  it('carries a scope several resources all list, and aud names them all', async () => {
    const res = await cc([['resource', A], ['resource', B], ['scope', 'api:read']])
    expect(res.status, res.body).toBe(200)
    expect(payload(json(res).access_token as string)).toMatchObject({ aud: [A, B], scope: 'api:read' })
  })

  it('refuses a scope only some of the asked resources list with invalid_target, rather than guessing', async () => {
    const res = await cc([['resource', A], ['resource', B], ['scope', 'api:read api:write']])
    expect(json(res).error).toBe('invalid_target')
    // RFC 6749 §5.2: no quote or backslash in error_description.
    expect(json(res).error_description).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]+$/)
  })

  it('refuses with invalid_scope when no asked scope is valid at the resource', async () => {
    const res = await cc([['resource', B], ['scope', 'api:write']])
    expect(json(res).error).toBe('invalid_scope')
  })

  it("applies the resource server's own format and lifetime", async () => {
    const res = await cc([['resource', C], ['scope', 'api:write']])
    expect(res.status, res.body).toBe(200)
    const body = json(res)
    expect(body.expires_in).toBe(300)
    expect(body.access_token as string).not.toContain('.')
  })

  it('refuses resources whose token formats differ with invalid_target', async () => {
    const res = await cc([['resource', A], ['resource', C], ['scope', 'api:write']])
    expect(json(res).error).toBe('invalid_target')
  })

  it('refuses every resource on a server without resourceServers', async () => {
    const { server } = makeServer()
    const res = await server.token(tokenRequest({ grant_type: 'client_credentials', resource: A }, SVC))
    expect(json(res).error).toBe('invalid_target')
  })
})

describe('resource in the code flow (RFC 8707 §2.1, §2.2)', () => {
  const h0 = () => setup({ resourceServers })
  const authorized = (h: Harness, resources: string[], scope = 'openid offline_access api:read api:write') =>
    authorizeAs(h, new Browser(), [...Object.entries(webParams({ scope })), ...resources.map((r) => ['resource', r] as [string, string])])

  it('redirects an unknown or malformed resource at the authorization endpoint as invalid_target', async () => {
    const h = h0()
    expectErrorRedirect(await authorized(h, ['https://unknown.example']), WEB_CB, 'invalid_target')
    const params = expectErrorRedirect(await authorized(h, [`${A}#frag`]), WEB_CB, 'invalid_target')
    expect(params.get('state')).toBe('st-1')
  })

  it('issues a token for the authorized resource when the token request names none; scopes it does not list stay off the access token', async () => {
    const h = h0()
    const code = redirect(await authorized(h, [A], 'openid offline_access api:read api:write')).query.get('code')!
    const res = await redeem(h, { code, redirect_uri: WEB_CB })
    expect(res.status, res.body).toBe(200)
    const body = json(res)
    // openid and offline_access mean nothing at A: not in the access token; the refresh and ID tokens still come.
    expect(body.scope).toBe('api:read api:write')
    expect(body.refresh_token).toBeTypeOf('string')
    expect(body.id_token).toBeTypeOf('string')
    expect(payload(body.access_token as string)).toMatchObject({ aud: [A], scope: 'api:read api:write' })
  })

  it('narrows to one of the authorized resources at the token request', async () => {
    const h = h0()
    const code = redirect(await authorized(h, [A, B], 'api:read')).query.get('code')!
    const res = await redeem(h, { code, redirect_uri: WEB_CB, resource: B })
    expect(res.status, res.body).toBe(200)
    expect(payload(json(res).access_token as string).aud).toEqual([B])
  })

  it('refuses an unknown resource before the code is spent, and a known one the authorization did not name with invalid_target', async () => {
    const h = h0()
    const code = redirect(await authorized(h, [B], 'api:read')).query.get('code')!
    expectTokenError(await redeem(h, { code, redirect_uri: WEB_CB, resource: 'https://unknown.example' }), 'invalid_target')
    expectTokenError(await redeem(h, { code, redirect_uri: WEB_CB, resource: A }), 'invalid_target')
    // The code is single-use: the refused redemption spent it (like any failed redemption after its lookup).
    expectTokenError(await redeem(h, { code, redirect_uri: WEB_CB }), 'invalid_grant')
    const again = redirect(await authorized(h, [B], 'api:read')).query.get('code')!
    expectTokenError(await redeem(h, { code: again, redirect_uri: WEB_CB, resource: 'https://unknown.example' }), 'invalid_target')
    const ok = await redeem(h, { code: again, redirect_uri: WEB_CB })
    expect(ok.status, ok.body).toBe(200)
  })

  it('refuses a resource at the token request when the authorization named none', async () => {
    const h = h0()
    const code = await codeFor(h)
    const res = await h.server.token(tokenRequest(`grant_type=authorization_code&code=${code}&redirect_uri=${encodeURIComponent(WEB_CB)}&resource=${encodeURIComponent(B)}`, WEB_AUTH))
    expectTokenError(res, 'invalid_target')
  })

  it('refreshes within the authorized resources: narrowing works, another resource is invalid_target', async () => {
    const h = h0()
    const code = redirect(await authorized(h, [A, B], 'offline_access api:read')).query.get('code')!
    const first = json(await redeem(h, { code, redirect_uri: WEB_CB, resource: A }))
    expect(payload(first.access_token as string).aud).toEqual([A])
    const refresh = (rt: string, resource?: string) =>
      h.server.token(tokenRequest({ grant_type: 'refresh_token', refresh_token: rt, ...(resource !== undefined && { resource }) }, WEB_AUTH))
    expectTokenError(await refresh(first.refresh_token as string, C), 'invalid_target')
    const toB = await refresh(first.refresh_token as string, B)
    expect(toB.status, toB.body).toBe(200)
    expect(payload(json(toB).access_token as string)).toMatchObject({ aud: [B], scope: 'api:read' })
    // The successor still knows both resources.
    const both = await refresh(json(toB).refresh_token as string)
    expect(payload(json(both).access_token as string).aud).toEqual([A, B])
  })

  it('shows aud in introspection of an opaque token for a resource', async () => {
    const h = setup({ resourceServers, accessTokenFormat: 'opaque' })
    const code = redirect(await authorized(h, [B], 'api:read')).query.get('code')!
    const token = json(await redeem(h, { code, redirect_uri: WEB_CB })).access_token as string
    expect(json(await introspect(h, token))).toMatchObject({ active: true, aud: B, scope: 'api:read' })
  })

  it('keeps the resources on the stored code and refresh token', async () => {
    const h = h0()
    const code = redirect(await authorized(h, [A, B], 'offline_access api:read')).query.get('code')!
    const body = json(await redeem(h, { code, redirect_uri: WEB_CB, resource: B }))
    const found = await contextOf(h.server).storage.refreshTokens.find(hashToken(body.refresh_token as string))
    expect(found?.record.resource).toEqual([A, B])
  })

  it('issues implicit tokens for the named resource', async () => {
    const h = h0()
    const res = await authorizeAs(h, new Browser(), [
      ['response_type', 'token'],
      ['client_id', 'implicit'],
      ['redirect_uri', IMPLICIT_CB],
      ['scope', 'api:read'],
      ['resource', B],
    ])
    const fragment = redirect(res).fragment
    expect(payload(fragment.get('access_token')!).aud).toEqual([B])
  })
})

describe('resource with the other grants', () => {
  it('password: the refresh token keeps the asked resources and refuses others', async () => {
    const clock = fakeClock()
    const server = createAuthorizationServer({
      issuer: ISSUER,
      resourceServers,
      users: plainUsers(alice()),
      clients: [{ client_id: 'app', client_secret: 'app-secret', grant_types: ['password', 'refresh_token'], scope: 'api:read' }],
      deps: { now: clock.now, randomId: counterIds() },
    })
    const auth = { authorization: basic('app', 'app-secret') }
    const res = await server.token(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wonderland', resource: B }, auth))
    expect(res.status, res.body).toBe(200)
    expect(payload(json(res).access_token as string).aud).toEqual([B])
    const other = await server.token(tokenRequest({ grant_type: 'refresh_token', refresh_token: json(res).refresh_token as string, resource: A }, auth))
    expect(json(other).error).toBe('invalid_target')
  })

  it('password: an unknown resource is refused before the password is checked', async () => {
    const server = createAuthorizationServer({
      issuer: ISSUER,
      resourceServers,
      users: plainUsers(alice()),
      clients: [{ client_id: 'app', client_secret: 'app-secret', grant_types: ['password'], scope: 'api:read' }],
    })
    const failures: string[] = []
    server.on('user.authentication.failed', () => failures.push('x'))
    const auth = { authorization: basic('app', 'app-secret') }
    const res = await server.token(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wrong', resource: 'https://unknown.example' }, auth))
    expect(json(res).error).toBe('invalid_target')
    expect(failures).toEqual([])
    // The same wrong password with a good resource is counted: the listener hears failures.
    await server.token(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wrong', resource: B }, auth))
    expect(failures).toEqual(['x'])
  })
})
