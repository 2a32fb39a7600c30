/**
 * grantkit/client with DPoP (RFC 9449) against grantkit's own server over
 * HTTP: bound tokens, proofs on token, API and userinfo requests, and the
 * one retry a server nonce asks for.
 */
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { protect } from '../../adapters/protect-node.js'
import { createResourceProtector } from '../../src/index.js'
import { createOAuthClient, grantkit, type OAuthClient } from '../../src/oauth-client/index.js'
import { Browser, encryption, keyPair, listen, REDIRECT_URI, startGrantkit, users, type RunningGrantkit } from './harness.js'

const answers = { username: 'alice', password: 'wonderland', decision: 'allow' }

describe.each([false, true])('grantkit/client with DPoP (server nonces: %s)', (requireNonce) => {
  let gk: RunningGrantkit
  let api: Awaited<ReturnType<typeof listen>>
  let client: OAuthClient
  let plain: OAuthClient

  beforeAll(async () => {
    gk = await startGrantkit(() => ({
      clients: [
        { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' },
        { client_id: 'bound', client_secret: 'bound-secret', grant_types: ['client_credentials'], scope: 'api:read', dpop_bound_access_tokens: true },
        { client_id: 'web', client_secret: 'web-secret', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], scope: 'openid profile offline_access api:read' },
      ],
      users,
      dpop: { requireNonce },
    }))
    api = await listen()
    const guard = protect(createResourceProtector({ server: gk.server, dpop: { origin: api.url } }), ['api:read'])
    api.setHandler(async (req, res) => {
      const token = await guard(req, res)
      if (token !== undefined) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub: token.sub, jkt: token.jkt ?? null }))
    })
    const providers = [
      grantkit({ id: 'svc', issuer: gk.issuer, clientId: 'svc', clientSecret: 'svc-secret', scopes: ['api:read'] }),
      grantkit({ id: 'bound', issuer: gk.issuer, clientId: 'bound', clientSecret: 'bound-secret', scopes: ['api:read'] }),
      grantkit({ id: 'web', issuer: gk.issuer, clientId: 'web', clientSecret: 'web-secret', redirectUri: REDIRECT_URI, scopes: ['openid', 'profile', 'offline_access', 'api:read'] }),
    ]
    const { privateJwk } = await keyPair('ES256')
    client = createOAuthClient({ providers, encryption: encryption(), dpop: { privateJwk } })
    plain = createOAuthClient({ providers, encryption: encryption() })
  })
  afterAll(async () => {
    await api?.close()
    await gk?.close()
  })

  it('client_credentials: the token is DPoP-bound, and worth nothing as a bearer token', async () => {
    const tokens = await client.clientCredentials('svc')
    expect(tokens.tokenType).toBe('DPoP')
    expect((decodeJwt(tokens.accessToken).cnf as { jkt?: string }).jkt).toBeTruthy()
    // Without its proof the token is refused.
    const stolen = await fetch(`${api.url}/orders`, { headers: { authorization: `Bearer ${tokens.accessToken}` } })
    expect(stolen.status).toBe(401)
  })

  it('a client without a dpop key keeps using Bearer, and is refused where the client registered dpop_bound_access_tokens', async () => {
    expect((await plain.clientCredentials('svc')).tokenType).toBe('Bearer')
    const refused = await plain.clientCredentials('bound').catch((e: unknown) => e)
    expect(refused).toMatchObject({ error: 'invalid_request' })
    expect((await client.clientCredentials('bound')).tokenType).toBe('DPoP')
  })

  it('code flow: DPoP-bound tokens, userinfo and an API call with proofs', async () => {
    const { url, pending } = await client.startAuthorization('web', { subject: 'alice' })
    const { leftTo } = await new Browser(answers).walk(url)
    const result = await client.completeAuthorization(leftTo!, pending)
    expect(result.tokens.tokenType).toBe('DPoP')
    const info = await client.userinfo('web', 'alice')
    expect(info.sub).toBe(result.claims?.sub ?? result.tokens.claims?.sub)
    const res = await client.fetchWithToken('web', 'alice', `${api.url}/me?x=1`)
    expect(res.status, await res.clone().text()).toBe(200)
    expect((await res.json()).jkt).toBe((decodeJwt(result.tokens.accessToken).cnf as { jkt: string }).jkt)
    expect((await client.getTokens('web', 'alice'))?.refreshToken).toBeTruthy()
  })
})
