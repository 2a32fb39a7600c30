import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import {
  authorizeAs,
  base,
  Browser,
  IMPLICIT_CB,
  ISSUER,
  json,
  jwksOf,
  leftHalfSha256,
  redirect,
  setup,
  userinfo,
  type Harness,
} from './fixtures.js'

const implicit = (extra: Record<string, string> = {}) => ({ client_id: 'implicit', redirect_uri: IMPLICIT_CB, state: 'st-9', ...extra })

async function verifyIdToken(h: Harness, idToken: string, audience: string) {
  return jwtVerify(idToken, createLocalJWKSet((await jwksOf(h)) as never), {
    issuer: ISSUER,
    audience,
    currentDate: new Date(h.clock.now() * 1000),
  })
}

describe('implicit grant (RFC 6749 §4.2.2)', () => {
  it('returns the access token in the fragment with token_type, expires_in, state and iss, and nothing in the query', async () => {
    const h = setup()
    const r = redirect(await authorizeAs(h, new Browser(), implicit({ response_type: 'token', scope: 'api:read' })))
    expect(base(r.url)).toBe(IMPLICIT_CB)
    expect(r.url.search).toBe('')
    expect(r.fragment.get('access_token')).toBeTruthy()
    expect(r.fragment.get('token_type')).toBe('Bearer')
    expect(r.fragment.get('expires_in')).toBe('3600')
    expect(r.fragment.get('state')).toBe('st-9')
    expect(r.fragment.get('iss')).toBe(ISSUER)
    expect(r.fragment.get('scope')).toBe('api:read')
  })

  it('never issues a refresh token, even to a client registered for refresh_token', async () => {
    const h = setup()
    const r = redirect(await authorizeAs(h, new Browser(), implicit({ response_type: 'token', scope: 'api:read' })))
    expect(r.fragment.has('refresh_token')).toBe(false)
    expect(r.query.has('refresh_token')).toBe(false)
    expect(r.fragment.has('code')).toBe(false)
  })

  it('issues an access token that works at userinfo for the signed-in person', async () => {
    const h = setup()
    const r = redirect(await authorizeAs(h, new Browser(), implicit({ response_type: 'token', scope: 'openid email' })))
    const res = await userinfo(h, r.fragment.get('access_token')!)
    expect(res.status).toBe(200)
    expect(json(res)).toMatchObject({ sub: 'sub-alice', email: 'alice@example.com' })
  })
})

describe('OpenID Connect implicit flow (OIDC Core §3.2.2.5, §3.2.2.10)', () => {
  it('response_type=id_token returns a verifiable ID token with iss, sub, aud, exp, iat, auth_time and the nonce', async () => {
    const h = setup()
    const loginAt = h.clock.now()
    const r = redirect(await authorizeAs(h, new Browser(), implicit({ response_type: 'id_token', scope: 'openid', nonce: 'n-0S6_WzA2Mj' })))
    expect(r.url.search).toBe('')
    expect(r.fragment.has('access_token')).toBe(false)
    expect(r.fragment.get('state')).toBe('st-9')
    expect(r.fragment.get('iss')).toBe(ISSUER)
    const { payload } = await verifyIdToken(h, r.fragment.get('id_token')!, 'implicit')
    expect(payload).toMatchObject({ iss: ISSUER, sub: 'sub-alice', aud: 'implicit', iat: h.clock.now(), auth_time: loginAt, nonce: 'n-0S6_WzA2Mj' })
    expect(payload.exp).toBe(h.clock.now() + 3600)
    // No access token was issued, so there is nothing for at_hash to cover.
    expect(payload.at_hash).toBeUndefined()
  })

  it('response_type=id_token puts the scope claims in the ID token, since there is no access token for userinfo', async () => {
    const h = setup()
    const r = redirect(await authorizeAs(h, new Browser(), implicit({ response_type: 'id_token', scope: 'openid email', nonce: 'n' })))
    const { payload } = await verifyIdToken(h, r.fragment.get('id_token')!, 'implicit')
    expect(payload).toMatchObject({ email: 'alice@example.com', email_verified: true })
    expect(payload.name).toBeUndefined()
  })

  it("response_type='id_token token' returns both, with at_hash = left half of SHA-256 of the access token", async () => {
    const h = setup()
    const r = redirect(await authorizeAs(h, new Browser(), implicit({ response_type: 'id_token token', scope: 'openid', nonce: 'n-2' })))
    const accessToken = r.fragment.get('access_token')!
    expect(accessToken).toBeTruthy()
    expect(r.fragment.get('token_type')).toBe('Bearer')
    expect(r.fragment.has('refresh_token')).toBe(false)
    const { payload, protectedHeader } = await verifyIdToken(h, r.fragment.get('id_token')!, 'implicit')
    // OIDC Core §3.1.3.7: RS256 for a client that registers no id_token_signed_response_alg (at_hash: SHA-256 too).
    expect(protectedHeader.alg).toBe('RS256')
    expect(payload.nonce).toBe('n-2')
    expect(payload.at_hash).toBe(leftHalfSha256(accessToken))
  })

  it('does not accept an ID token as an access token', async () => {
    const h = setup()
    const r = redirect(await authorizeAs(h, new Browser(), implicit({ response_type: 'id_token', scope: 'openid', nonce: 'n' })))
    const res = await userinfo(h, r.fragment.get('id_token')!)
    expect(res.status).toBe(401)
  })

  it('signs ID tokens that a relying party can check against the published key only', async () => {
    const h = setup()
    const other = setup()
    const r = redirect(await authorizeAs(h, new Browser(), implicit({ response_type: 'id_token', scope: 'openid', nonce: 'n' })))
    const idToken = r.fragment.get('id_token')!
    expect(decodeJwt(idToken).aud).toBe('implicit')
    await expect(verifyIdToken(other, idToken, 'implicit')).rejects.toThrow()
  })
})
