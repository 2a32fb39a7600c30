import { describe, expect, it } from 'vitest'
import { json, makeServer, tokenRequest, basic } from '../helpers.js'
import { defaultUsers } from '../users/fixtures.js'
import { authorizeRequest, expectErrorRedirect, setCookies, setup, webParams, WEB_CB } from './fixtures.js'

describe('prompt values', () => {
  it('refuses prompt=select_account, which grantkit does not offer, with invalid_request', async () => {
    const h = setup()
    const res = await h.server.authorize(authorizeRequest(webParams({ prompt: 'select_account' })))
    expectErrorRedirect(res, WEB_CB, 'invalid_request')
    const doc = json(await h.server.handle({ method: 'GET', url: new URL('https://as.example/.well-known/openid-configuration'), headers: {} }))
    expect(doc.prompt_values_supported).toEqual(['none', 'login', 'consent'])
  })
})

describe('interaction cookie for an embedder UI outside the issuer path', () => {
  it('is set on path / so the UI at another path receives it; the built-in pages keep the issuer path', async () => {
    const custom = setup({ issuer: 'https://as.example/auth', interaction: { url: (uid) => `https://as.example/login/${uid}` } })
    const res = await custom.server.authorize({ ...authorizeRequest(webParams()), url: new URL('https://as.example/auth/authorize?' + new URLSearchParams(webParams())) })
    // Path=/ under https: the __Host- prefix (RFC 6265bis §4.1.3.2).
    expect(setCookies(res).find((c) => c.startsWith('__Host-grantkit_interaction='))).toMatch(/Path=\/;/)
    const builtIn = setup({ issuer: 'https://as.example/auth' })
    const res2 = await builtIn.server.authorize({ ...authorizeRequest(webParams()), url: new URL('https://as.example/auth/authorize?' + new URLSearchParams(webParams())) })
    // A path rules __Host- out; __Secure- still applies (§4.1.3.1).
    expect(setCookies(res2).find((c) => c.startsWith('__Secure-grantkit_interaction='))).toMatch(/Path=\/auth;/)
    expect(res2.headers.location).toMatch(/^https:\/\/as\.example\/auth\/interaction\//)
  })
})

describe('password grant with OpenID Connect', () => {
  it('returns an ID token and auth_time when openid is granted, as the refreshes of the grant do', async () => {
    const { server, clock } = makeServer({
      clients: [{ client_id: 'app', client_secret: 'app-secret', grant_types: ['password'], scope: 'openid api:read' }],
      users: defaultUsers(),
    })
    const res = await server.handle(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'openid api:read' }, { authorization: basic('app', 'app-secret') }))
    const body = json(res)
    expect(typeof body.id_token).toBe('string')
    const access = JSON.parse(Buffer.from((body.access_token as string).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
    expect(access.auth_time).toBe(clock.now())
    const withoutOpenid = json(await server.handle(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'api:read' }, { authorization: basic('app', 'app-secret') })))
    expect(withoutOpenid.id_token).toBeUndefined()
  })
})
