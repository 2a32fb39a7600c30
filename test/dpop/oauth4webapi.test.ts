import * as oauth from 'oauth4webapi'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { protect } from '../../adapters/protect-node.js'
import type { AuthorizationServer } from '../../src/index.js'
import { createResourceProtector } from '../../src/resource/protector.js'
import { listen, serveAs } from '../resource/fixtures.js'
import { defaultUsers } from '../users/fixtures.js'

// oauth4webapi (panva) is the reference client for DPoP: it signs proofs with
// WebCrypto keys, keeps server nonces per origin and checks token_type.
const REDIRECT = 'http://127.0.0.1:8080/cb'
const UI = 'https://ui.example/login'
const insecure = { [oauth.allowInsecureRequests]: true } as const

const clients = [
  { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read api:write' },
  { client_id: 'spa', token_endpoint_auth_method: 'none' as const, redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], scope: 'openid profile api:read', dpop_bound_access_tokens: true, always_issue_refresh_token: true },
]

/** Runs one authorization request through the interaction API (a person signing in and consenting) and returns the callback URL. */
async function authorize(server: AuthorizationServer, issuer: string, challenge: string, state: string): Promise<URL> {
  const url = new URL(issuer + '/authorize')
  url.search = new URLSearchParams({ response_type: 'code', client_id: 'spa', redirect_uri: REDIRECT, scope: 'openid profile api:read', state, code_challenge: challenge, code_challenge_method: 'S256' }).toString()
  const started = await server.handle({ method: 'GET', url, headers: {} })
  expect(started.status, started.body).toBe(303)
  const location = new URL(started.headers.location as string)
  const uid = location.pathname.split('/').pop()!
  const cookie = String(started.headers['set-cookie']).split(';')[0]!
  const finished = await server.interactions.finish({ method: 'POST', url: location, headers: { cookie } }, uid, { login: { sub: 'alice' }, consent: {} })
  expect(finished.status).toBe(303)
  return new URL(finished.headers.location as string)
}

describe.each([false, true])('oauth4webapi against grantkit with DPoP (requireNonce: %s)', (requireNonce) => {
  let as: Awaited<ReturnType<typeof serveAs>>
  let api: Awaited<ReturnType<typeof listen>>
  let meta: oauth.AuthorizationServer

  beforeAll(async () => {
    // Real time: oauth4webapi stamps proofs with its own clock.
    as = await serveAs({ clients, users: defaultUsers(), interaction: { url: (uid) => `${UI}/${uid}` }, dpop: { requireNonce }, deps: {} })
    // The API's origin (with its port) is known once it listens; proofs name it in htu.
    let guard: ReturnType<typeof protect> | undefined
    api = await listen(async (req, res) => {
      const token = await guard!(req, res)
      if (token === undefined) return
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub: token.sub, jkt: token.jkt }))
    })
    guard = protect(createResourceProtector({ server: as.server, dpop: { origin: api.origin } }), ['api:read'])
    const issuer = new URL(as.origin)
    meta = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }))
  })
  afterAll(async () => {
    await api?.close()
    await as?.close()
  })

  /** oauth4webapi's documented pattern: one retry when the server asks for a nonce (the handle has stored it). */
  async function withNonceRetry<T>(attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt()
    } catch (err) {
      if (!oauth.isDPoPNonceError(err)) throw err
      return attempt()
    }
  }

  it('advertises DPoP and the algorithms', () => {
    expect(meta.dpop_signing_alg_values_supported).toContain('ES256')
  })

  it('client_credentials: gets a DPoP-bound token and calls a protected API with it', async () => {
    const client: oauth.Client = { client_id: 'svc' }
    const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
    const tokens = await withNonceRetry(async () =>
      oauth.processClientCredentialsResponse(meta, client, await oauth.clientCredentialsGrantRequest(meta, client, oauth.ClientSecretBasic('svc-secret'), { scope: 'api:read' }, { DPoP, ...insecure })),
    )
    expect(tokens.token_type).toBe('dpop')
    const url = new URL(api.origin + '/orders?page=2')
    const call = () => oauth.protectedResourceRequest(tokens.access_token, 'GET', url, undefined, undefined, { DPoP, ...insecure })
    const res = await call()
    expect(res.status, await res.clone().text()).toBe(200)
    expect(await res.json()).toMatchObject({ sub: 'svc' })
    // Without the proof (as a bearer token) the same token is refused.
    const stolen = await fetch(url, { headers: { authorization: `Bearer ${tokens.access_token}` } })
    expect(stolen.status).toBe(401)
    expect(stolen.headers.get('www-authenticate')).toContain('invalid_token')
  })

  it('authorization code flow with PKCE: a bound code exchange, userinfo and a bound refresh', async () => {
    const client: oauth.Client = { client_id: 'spa' }
    const keyPair = await oauth.generateKeyPair('ES256')
    const DPoP = oauth.DPoP(client, keyPair)
    const verifier = oauth.generateRandomCodeVerifier()
    const state = oauth.generateRandomState()
    const callback = await authorize(as.server, as.origin, await oauth.calculatePKCECodeChallenge(verifier), state)
    const params = oauth.validateAuthResponse(meta, client, callback, state)
    const tokens = await withNonceRetry(async () =>
      oauth.processAuthorizationCodeResponse(meta, client, await oauth.authorizationCodeGrantRequest(meta, client, oauth.None(), params, REDIRECT, verifier, { DPoP, ...insecure })),
    )
    expect(tokens.token_type).toBe('dpop')
    expect(tokens.refresh_token).toBeTruthy()
    const claims = oauth.getValidatedIdTokenClaims(tokens)
    const info = await withNonceRetry(async () => oauth.processUserInfoResponse(meta, client, claims!.sub, await oauth.userInfoRequest(meta, client, tokens.access_token, { DPoP, ...insecure })))
    expect(info.sub).toBe(claims!.sub)
    const refreshed = await withNonceRetry(async () =>
      oauth.processRefreshTokenResponse(meta, client, await oauth.refreshTokenGrantRequest(meta, client, oauth.None(), tokens.refresh_token!, { DPoP, ...insecure })),
    )
    expect(refreshed.token_type).toBe('dpop')
    // The refresh token is bound to the key: another key cannot use it.
    const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
    const stolen = await withNonceRetry(async () => oauth.processRefreshTokenResponse(meta, client, await oauth.refreshTokenGrantRequest(meta, client, oauth.None(), refreshed.refresh_token!, { DPoP: thief, ...insecure }))).catch((e: unknown) => e)
    expect(stolen).toBeInstanceOf(oauth.ResponseBodyError)
    expect((stolen as oauth.ResponseBodyError).error).toBe('invalid_grant')
  })

  it('refuses the spa (dpop_bound_access_tokens) a token without a proof', async () => {
    const client: oauth.Client = { client_id: 'spa' }
    const verifier = oauth.generateRandomCodeVerifier()
    const state = oauth.generateRandomState()
    const callback = await authorize(as.server, as.origin, await oauth.calculatePKCECodeChallenge(verifier), state)
    const params = oauth.validateAuthResponse(meta, client, callback, state)
    const res = await oauth.authorizationCodeGrantRequest(meta, client, oauth.None(), params, REDIRECT, verifier, insecure)
    const err = await oauth.processAuthorizationCodeResponse(meta, client, res).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(oauth.ResponseBodyError)
    expect((err as oauth.ResponseBodyError).error).toBe('invalid_request')
  })
})
