import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { hashToken, type AuthorizationServer, type AuthorizationServerOptions, type GrantkitResponse } from '../../src/index.js'
import { basic, ISSUER, json, makeServer, tokenRequest } from '../helpers.js'
import { defaultUsers } from '../users/fixtures.js'
import { contextOf } from '../../src/server.js'

const WEB_REDIRECT = 'https://rp.example/cb'
const UI = 'https://as.example/ui/login'

const refreshClients = [
  { client_id: 'app', client_secret: 'app-secret', grant_types: ['password', 'refresh_token'], scope: 'api:read api:write openid profile offline_access' },
  { client_id: 'other', client_secret: 'other-secret', grant_types: ['password', 'refresh_token'], scope: 'api:read api:write' },
  { client_id: 'norefresh', client_secret: 'norefresh-secret', grant_types: ['password'], scope: 'api:read' },
  { client_id: 'always', client_secret: 'always-secret', grant_types: ['password', 'refresh_token'], scope: 'openid profile', always_issue_refresh_token: true },
  { client_id: 'mobile', token_endpoint_auth_method: 'none' as const, grant_types: ['password', 'refresh_token'], scope: 'api:read' },
  { client_id: 'web', client_secret: 'web-secret', redirect_uris: [WEB_REDIRECT], grant_types: ['authorization_code', 'refresh_token'], scope: 'openid profile offline_access' },
]

const AUTH: Record<string, Record<string, string>> = {
  app: { authorization: basic('app', 'app-secret') },
  other: { authorization: basic('other', 'other-secret') },
  norefresh: { authorization: basic('norefresh', 'norefresh-secret') },
  always: { authorization: basic('always', 'always-secret') },
  web: { authorization: basic('web', 'web-secret') },
  mobile: {},
}

function setup(extra: Partial<AuthorizationServerOptions> = {}) {
  return makeServer({ clients: refreshClients, users: defaultUsers(), interaction: { url: (uid) => `${UI}/${uid}` }, ...extra })
}

/** Tokens from the password grant (RFC 6749 §4.3), the quickest way to a refresh token. */
async function passwordTokens(server: AuthorizationServer, clientId = 'app', scope?: string): Promise<Record<string, unknown>> {
  const params: Record<string, string> = { grant_type: 'password', username: 'alice', password: 'wonderland' }
  if (scope !== undefined) params.scope = scope
  if (clientId === 'mobile') params.client_id = 'mobile'
  const res = await server.handle(tokenRequest(params, AUTH[clientId]))
  expect(res.status, res.body).toBe(200)
  return json(res)
}

/** Tokens from the authorization code flow, with the interaction API standing in for a login UI. */
async function codeFlowTokens(server: AuthorizationServer, scope: string): Promise<Record<string, unknown>> {
  const url = new URL(ISSUER + '/authorize')
  url.search = new URLSearchParams({ response_type: 'code', client_id: 'web', redirect_uri: WEB_REDIRECT, scope, state: 's1' }).toString()
  const started = await server.handle({ method: 'GET', url, headers: {} })
  expect(started.status).toBe(303)
  const location = new URL(started.headers.location as string)
  expect(location.href.startsWith(UI + '/')).toBe(true)
  const uid = location.pathname.split('/').pop()!
  const cookie = String(started.headers['set-cookie']).split(';')[0]!
  const finished = await server.interactions.finish({ method: 'POST', url: location, headers: { cookie } }, uid, { login: { sub: 'alice' }, consent: {} })
  expect(finished.status).toBe(303)
  const code = new URL(finished.headers.location as string).searchParams.get('code')
  expect(code).toBeTruthy()
  const res = await server.handle(tokenRequest({ grant_type: 'authorization_code', code: code!, redirect_uri: WEB_REDIRECT }, AUTH.web))
  expect(res.status, res.body).toBe(200)
  return json(res)
}

function refresh(server: AuthorizationServer, token: string, clientId = 'app', extra: Record<string, string> = {}): Promise<GrantkitResponse> {
  const params: Record<string, string> = { grant_type: 'refresh_token', refresh_token: token, ...extra }
  if (clientId === 'mobile') params.client_id = 'mobile'
  return server.handle(tokenRequest(params, AUTH[clientId]))
}

function userinfo(server: AuthorizationServer, accessToken: string): Promise<GrantkitResponse> {
  return server.handle({ method: 'GET', url: new URL(ISSUER + '/userinfo'), headers: { authorization: `Bearer ${accessToken}` } })
}

function expectInvalidGrant(res: GrantkitResponse): void {
  expect(res.status).toBe(400)
  expect(res.headers['cache-control']).toBe('no-store')
  expect(json(res).error).toBe('invalid_grant')
}

describe('refresh_token grant: issuance (RFC 6749 §6, OIDC Core §11)', () => {
  it('issues a refresh token only to clients registered for the refresh_token grant', async () => {
    const { server } = setup()
    expect(typeof (await passwordTokens(server, 'app', 'api:read')).refresh_token).toBe('string')
    expect((await passwordTokens(server, 'norefresh', 'api:read')).refresh_token).toBeUndefined()
  })

  it('refuses the refresh_token grant to a client not registered for it with unauthorized_client', async () => {
    const { server } = setup()
    const { refresh_token } = await passwordTokens(server, 'app', 'api:read')
    const res = await server.handle(tokenRequest({ grant_type: 'refresh_token', refresh_token: refresh_token as string }, AUTH.norefresh))
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('unauthorized_client')
  })

  it('issues a refresh token with the openid scope only when offline_access is granted', async () => {
    const { server } = setup()
    expect((await passwordTokens(server, 'app', 'openid profile')).refresh_token).toBeUndefined()
    expect(typeof (await passwordTokens(server, 'app', 'openid profile offline_access')).refresh_token).toBe('string')
    // Without openid this is plain OAuth: offline_access is an OIDC rule.
    expect(typeof (await passwordTokens(server, 'app', 'api:read')).refresh_token).toBe('string')
  })

  it('issues a refresh token with openid and no offline_access to a client registered with always_issue_refresh_token', async () => {
    const { server } = setup()
    const body = await passwordTokens(server, 'always', 'openid profile')
    expect(typeof body.refresh_token).toBe('string')
  })

  it('issues a refresh token from the authorization code flow only when offline_access was granted', async () => {
    const { server } = setup()
    const online = await codeFlowTokens(server, 'openid profile')
    expect(typeof online.id_token).toBe('string')
    expect(online.refresh_token).toBeUndefined()
    const offline = await codeFlowTokens(server, 'openid profile offline_access')
    expect(typeof offline.refresh_token).toBe('string')
    const res = await refresh(server, offline.refresh_token as string, 'web')
    expect(res.status).toBe(200)
    expect(json(res).scope).toBe('openid profile offline_access')
  })

  it('stores a refresh token only as its SHA-256 hash', async () => {
    const { server } = setup()
    const token = (await passwordTokens(server, 'app', 'api:read')).refresh_token as string
    const stored = await contextOf(server).storage.refreshTokens.find(hashToken(token))
    expect(stored?.record).toMatchObject({ clientId: 'app', sub: 'alice', scope: 'api:read', tokenHash: hashToken(token) })
    expect(JSON.stringify(stored)).not.toContain(token)
    expect(await contextOf(server).storage.refreshTokens.find(token)).toBeNull()
  })
})

describe('refresh_token grant: rotation and reuse (RFC 9700 §4.14.2)', () => {
  it('returns a new refresh token on every use and the old one stops working', async () => {
    const { server } = setup()
    const first = (await passwordTokens(server, 'app', 'api:read')).refresh_token as string
    const r1 = await refresh(server, first)
    expect(r1.status).toBe(200)
    const second = json(r1).refresh_token as string
    expect(typeof second).toBe('string')
    expect(second).not.toBe(first)
    const r2 = await refresh(server, second)
    expect(r2.status).toBe(200)
    const third = json(r2).refresh_token as string
    expect(new Set([first, second, third]).size).toBe(3)
    expectInvalidGrant(await refresh(server, second))
  })

  describe.each(['jwt', 'opaque'] as const)('with %s access tokens', (accessTokenFormat) => {
    it('rejects a rotated-away token with invalid_grant and revokes the whole grant', async () => {
      const { server } = setup({ accessTokenFormat })
      const issued = await passwordTokens(server, 'app', 'openid profile offline_access')
      const r1 = await refresh(server, issued.refresh_token as string)
      expect(r1.status).toBe(200)
      const { access_token: newestAccess, refresh_token: newestRefresh } = json(r1) as { access_token: string; refresh_token: string }
      expect((await userinfo(server, issued.access_token as string)).status).toBe(200)
      expect((await userinfo(server, newestAccess)).status).toBe(200)

      // The stolen (or replayed) first token comes back.
      expectInvalidGrant(await refresh(server, issued.refresh_token as string))

      // The newest refresh token and every access token of the grant are dead.
      expectInvalidGrant(await refresh(server, newestRefresh))
      for (const token of [issued.access_token as string, newestAccess]) {
        const res = await userinfo(server, token)
        expect(res.status).toBe(401)
        expect(res.headers['www-authenticate']).toContain('error="invalid_token"')
      }
    })

    it('keeps the access tokens of a grant revoked for reuse dead until they expire, even past the end of the refresh-token chain', async () => {
      const { server, clock } = setup({ accessTokenFormat, ttl: { refreshToken: 100, refreshTokenAbsolute: 250, accessToken: 3600 } })
      const start = clock.now()
      const issued = await passwordTokens(server, 'app', 'openid offline_access')
      clock.set(start + 90)
      const r1 = json(await refresh(server, issued.refresh_token as string))
      clock.set(start + 180)
      const r2 = json(await refresh(server, r1.refresh_token as string))
      // The last access token of the chain lives until start + 180 + 3600, long after the chain ends at start + 250.
      // r1 (rotated away at +180) is replayed at +185, before it would have expired at +190.
      clock.set(start + 185)
      expectInvalidGrant(await refresh(server, r1.refresh_token as string))
      expect((await userinfo(server, r2.access_token as string)).status).toBe(401)
      clock.set(start + 251)
      expect((await userinfo(server, r2.access_token as string)).status).toBe(401)
    })
  })

  it('leaves other grants of the same user and client alive when one grant is revoked for reuse', async () => {
    const { server } = setup()
    const victim = await passwordTokens(server, 'app', 'api:read')
    const bystander = await passwordTokens(server, 'app', 'api:read')
    expect((await refresh(server, victim.refresh_token as string)).status).toBe(200)
    expectInvalidGrant(await refresh(server, victim.refresh_token as string))
    expect((await refresh(server, bystander.refresh_token as string)).status).toBe(200)
  })

  it('accepts exactly one of 20 concurrent uses of the same refresh token', async () => {
    const { server } = setup()
    const token = (await passwordTokens(server, 'app', 'api:read')).refresh_token as string
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(server, token)))
    const ok = results.filter((r) => r.status === 200)
    expect(ok).toHaveLength(1)
    for (const r of results.filter((r) => r.status !== 200)) expectInvalidGrant(r)
  })

  it('refuses the losers of a simultaneous race without revoking the winner\'s grant', async () => {
    const { server } = setup()
    const token = (await passwordTokens(server, 'app', 'api:read')).refresh_token as string
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(server, token)))
    const winner = json(results.find((r) => r.status === 200)!)
    expect((await refresh(server, winner.refresh_token as string)).status).toBe(200)
  })
})

describe('refresh_token grant: scope (RFC 6749 §6)', () => {
  it('narrows the access token to a requested subset while the next refresh token keeps the original scope', async () => {
    const { server } = setup()
    const issued = await passwordTokens(server, 'app', 'api:read api:write')
    const narrowed = await refresh(server, issued.refresh_token as string, 'app', { scope: 'api:read' })
    expect(narrowed.status).toBe(200)
    const body = json(narrowed)
    expect(body.scope).toBe('api:read')
    expect(decodeJwt(body.access_token as string).scope).toBe('api:read')
    const stored = await contextOf(server).storage.refreshTokens.find(hashToken(body.refresh_token as string))
    expect(stored?.record.scope).toBe('api:read api:write')

    const widenedBack = await refresh(server, body.refresh_token as string, 'app', { scope: 'api:read api:write' })
    expect(widenedBack.status).toBe(200)
    expect(json(widenedBack).scope).toBe('api:read api:write')
  })

  it('keeps the original scope when the refresh request omits scope', async () => {
    const { server } = setup()
    const issued = await passwordTokens(server, 'app', 'api:read api:write')
    const res = await refresh(server, issued.refresh_token as string)
    expect(json(res).scope).toBe('api:read api:write')
    expect(decodeJwt(json(res).access_token as string).scope).toBe('api:read api:write')
  })

  it('rejects a scope wider than the original grant with invalid_scope, even one the client may ask for', async () => {
    const { server } = setup()
    const issued = await passwordTokens(server, 'app', 'api:read')
    const res = await refresh(server, issued.refresh_token as string, 'app', { scope: 'api:read api:write' })
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_scope')
  })
})

describe('refresh_token grant: binding, lifetime and request (RFC 6749 §6, §10.4)', () => {
  it('rejects a refresh token presented by another client with invalid_grant', async () => {
    const { server } = setup()
    const issued = await passwordTokens(server, 'app', 'api:read')
    expectInvalidGrant(await refresh(server, issued.refresh_token as string, 'other'))
  })

  it('rejects a refresh token once ttl.refreshToken has passed since it was issued', async () => {
    const { server, clock } = setup({ ttl: { refreshToken: 100 } })
    const early = (await passwordTokens(server, 'app', 'api:read')).refresh_token as string
    const late = (await passwordTokens(server, 'app', 'api:read')).refresh_token as string
    clock.advance(99)
    expect((await refresh(server, early)).status).toBe(200)
    clock.advance(1)
    expectInvalidGrant(await refresh(server, late))
  })

  it('never extends a chain past ttl.refreshTokenAbsolute, however often it rotates', async () => {
    const { server, clock } = setup({ ttl: { refreshToken: 100, refreshTokenAbsolute: 250 } })
    const start = clock.now()
    let token = (await passwordTokens(server, 'app', 'api:read')).refresh_token as string
    for (const at of [90, 180, 240]) {
      clock.set(start + at)
      const res = await refresh(server, token)
      expect(res.status, `rotation at +${at}s`).toBe(200)
      token = json(res).refresh_token as string
    }
    const stored = await contextOf(server).storage.refreshTokens.find(hashToken(token))
    expect(stored?.record.expiresAt).toBe(start + 250)
    clock.set(start + 250)
    expectInvalidGrant(await refresh(server, token))
  })

  it('answers a request without refresh_token with invalid_request', async () => {
    const { server } = setup()
    const res = await server.handle(tokenRequest({ grant_type: 'refresh_token' }, AUTH.app))
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_request')
  })

  it('rejects an unknown refresh token with invalid_grant', async () => {
    const { server } = setup()
    expectInvalidGrant(await refresh(server, 'not-a-token-we-issued'))
  })

  it('lets a public client refresh with its client_id alone', async () => {
    const { server } = setup()
    const issued = await passwordTokens(server, 'mobile', 'api:read')
    const res = await refresh(server, issued.refresh_token as string, 'mobile')
    expect(res.status).toBe(200)
    expect(typeof json(res).refresh_token).toBe('string')
  })

  it('requires a confidential client to authenticate to refresh', async () => {
    const { server } = setup()
    const issued = await passwordTokens(server, 'app', 'api:read')
    const res = await server.handle(tokenRequest({ grant_type: 'refresh_token', refresh_token: issued.refresh_token as string, client_id: 'app' }))
    expect(res.status).toBe(401)
    expect(json(res).error).toBe('invalid_client')
  })
})
