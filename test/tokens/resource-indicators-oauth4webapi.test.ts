import * as oauth from 'oauth4webapi'
import { describe, expect, it } from 'vitest'
import type { AuthorizationServer as Grantkit } from '../../src/index.js'
import { authorizeAs, Browser, pkce, setup, WEB_CB } from '../authorize/fixtures.js'
import { ISSUER } from '../helpers.js'

const ORDERS = 'https://orders.example'
const BILLING = 'https://billing.example'

/** oauth4webapi's fetch, answered by the grantkit server in this process. */
function inProcessFetch(server: Grantkit): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init)
    const headers: Record<string, string> = {}
    request.headers.forEach((value, name) => (headers[name] = value))
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.text()
    const res = await server.handle({ method: request.method, url: new URL(request.url), headers, ...(body !== undefined && { body }) })
    const out = new Headers()
    for (const [k, v] of Object.entries(res.headers)) for (const one of Array.isArray(v) ? v : [v]) out.append(k, one)
    return new Response(res.body ?? null, { status: res.status, headers: out })
  }) as typeof fetch
}

const payload = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>

describe('resource indicators with a real client library (oauth4webapi)', () => {
  it('runs the code flow for two resources, narrows to one at the token endpoint, and refreshes for the other', async () => {
    const h = setup({
      resourceServers: [
        { resource: ORDERS, scopes: ['api:read', 'api:write'] },
        { resource: BILLING, scopes: ['api:read'] },
      ],
    })
    const customFetch = inProcessFetch(h.server)
    const as = await oauth.processDiscoveryResponse(new URL(ISSUER), await oauth.discoveryRequest(new URL(ISSUER), { [oauth.customFetch]: customFetch, algorithm: 'oauth2' }))
    const client: oauth.Client = { client_id: 'web' }
    const auth = oauth.ClientSecretBasic('web-secret')
    const { verifier, challenge } = pkce()

    // The authorization request the library's user builds: resource repeated (RFC 8707 §2.1).
    const url = new URL(as.authorization_endpoint!)
    url.searchParams.set('client_id', 'web')
    url.searchParams.set('redirect_uri', WEB_CB)
    url.searchParams.set('response_type', 'code')
    url.searchParams.set('scope', 'offline_access api:read')
    url.searchParams.set('code_challenge', challenge)
    url.searchParams.set('code_challenge_method', 'S256')
    url.searchParams.append('resource', ORDERS)
    url.searchParams.append('resource', BILLING)
    const callback = await authorizeAs(h, new Browser(), [...url.searchParams])
    const params = oauth.validateAuthResponse(as, client, new URL(callback.headers.location as string), oauth.expectNoState)

    const tokenResponse = await oauth.authorizationCodeGrantRequest(as, client, auth, params, WEB_CB, verifier, {
      [oauth.customFetch]: customFetch,
      additionalParameters: [['resource', ORDERS]],
    })
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, tokenResponse)
    expect(tokens.scope).toBe('api:read')
    expect(payload(tokens.access_token)).toMatchObject({ aud: [ORDERS], scope: 'api:read', client_id: 'web' })

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token!, { [oauth.customFetch]: customFetch, additionalParameters: [['resource', BILLING]] }),
    )
    expect(payload(refreshed.access_token)).toMatchObject({ aud: [BILLING], scope: 'api:read' })

    // A resource outside the authorization: the library surfaces the RFC 8707 error.
    const refused = await oauth.refreshTokenGrantRequest(as, client, auth, refreshed.refresh_token!, {
      [oauth.customFetch]: customFetch,
      additionalParameters: [['resource', 'https://unknown.example']],
    })
    await expect(oauth.processRefreshTokenResponse(as, client, refused)).rejects.toMatchObject({ error: 'invalid_target', status: 400 })
  })

  it('gets a client_credentials token for a resource', async () => {
    const h = setup({
      resourceServers: [{ resource: ORDERS, scopes: ['api:read'] }],
      clients: [{ client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read api:write' }],
    })
    const customFetch = inProcessFetch(h.server)
    const as = await oauth.processDiscoveryResponse(new URL(ISSUER), await oauth.discoveryRequest(new URL(ISSUER), { [oauth.customFetch]: customFetch, algorithm: 'oauth2' }))
    const client: oauth.Client = { client_id: 'svc' }
    const res = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic('svc-secret'), { scope: 'api:read api:write', resource: ORDERS }, { [oauth.customFetch]: customFetch })
    const tokens = await oauth.processClientCredentialsResponse(as, client, res)
    expect(tokens.scope).toBe('api:read')
    expect(payload(tokens.access_token).aud).toEqual([ORDERS])
  })
})
