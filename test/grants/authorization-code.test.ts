import { createLocalJWKSet, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { hashToken } from '../../src/index.js'
import {
  Browser,
  codeFor,
  expectTokenError,
  ISSUER,
  json,
  jwksOf,
  leftHalfSha256,
  OTHER_AUTH,
  pkce,
  redeem,
  setup,
  SPA_CB,
  userinfo,
  WEB_CB,
  WEB_AUTH,
  webParams,
} from '../authorize/fixtures.js'
import { tokenRequest } from '../helpers.js'
import { contextOf } from '../../src/server.js'

const spaParams = (challenge: string, method = 'S256') => ({
  response_type: 'code',
  client_id: 'spa',
  redirect_uri: SPA_CB,
  scope: 'api:read',
  code_challenge: challenge,
  code_challenge_method: method,
})

describe('authorization_code grant: the code (RFC 6749 §4.1.2, §10.10)', () => {
  it('issues codes of at least 256 bits, each different', async () => {
    const h = setup()
    const a = await codeFor(h)
    const b = await codeFor(h)
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(Buffer.from(a, 'base64url').length).toBeGreaterThanOrEqual(32)
    expect(a).not.toBe(b)
  })

  it('stores the code only as its hash', async () => {
    const h = setup()
    const code = await codeFor(h)
    const codes = contextOf(h.server).storage.authorizationCodes
    expect(await codes.consume(code)).toEqual({ outcome: 'not_found' })
    const found = await codes.consume(hashToken(code))
    expect(found.outcome).toBe('consumed')
    if (found.outcome !== 'consumed') return
    expect(found.record).toMatchObject({ codeHash: hashToken(code), clientId: 'web', redirectUri: WEB_CB, sub: 'sub-alice', scope: 'api:read' })
    expect(JSON.stringify(found.record)).not.toContain(code)
  })

  it('exchanges a code once for an access token bound to the person and client', async () => {
    const h = setup()
    const code = await codeFor(h)
    const res = await redeem(h, { code, redirect_uri: WEB_CB })
    expect(res.status, res.body).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(json(res)).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'api:read' })
    expect(json(res).refresh_token).toBeTypeOf('string')
  })

  it('refuses an unknown code with invalid_grant', async () => {
    const h = setup()
    expectTokenError(await redeem(h, { code: 'A'.repeat(43), redirect_uri: WEB_CB }), 'invalid_grant')
  })

  it('refuses a missing code with invalid_request', async () => {
    const h = setup()
    expectTokenError(await redeem(h, { redirect_uri: WEB_CB }), 'invalid_request')
  })

  it('refuses a code after ttl.authorizationCode with invalid_grant', async () => {
    const h = setup({ ttl: { authorizationCode: 30 } })
    const fresh = await codeFor(h)
    const stale = await codeFor(h)
    h.clock.advance(29)
    expect((await redeem(h, { code: fresh, redirect_uri: WEB_CB })).status).toBe(200)
    h.clock.advance(2)
    expectTokenError(await redeem(h, { code: stale, redirect_uri: WEB_CB }), 'invalid_grant')
  })

  it('refuses a code issued to another client with invalid_grant', async () => {
    const h = setup()
    const code = await codeFor(h)
    expectTokenError(await redeem(h, { code, redirect_uri: WEB_CB }, OTHER_AUTH), 'invalid_grant')
  })

  it('refuses a code from a confidential client that does not authenticate', async () => {
    const h = setup()
    const code = await codeFor(h)
    expectTokenError(await redeem(h, { code, redirect_uri: WEB_CB, client_id: 'web' }, {}), 'invalid_client')
  })

  it('refuses a redirect_uri different from the authorization request with invalid_grant', async () => {
    const h = setup()
    for (const uri of ['https://client.example/cb/', 'https://client.example/other', SPA_CB]) {
      const code = await codeFor(h)
      expectTokenError(await redeem(h, { code, redirect_uri: uri }), 'invalid_grant')
    }
  })

  it('refuses a missing redirect_uri when the authorization request had one, with invalid_grant', async () => {
    const h = setup()
    const code = await codeFor(h)
    expectTokenError(await redeem(h, { code }), 'invalid_grant')
  })

  it('accepts a missing redirect_uri when the authorization request had none too', async () => {
    const h = setup()
    const { redirect_uri: _, ...rest } = webParams()
    const code = await codeFor(h, rest)
    expect((await redeem(h, { code })).status).toBe(200)
  })
})

describe('authorization_code grant: replay (RFC 6749 §4.1.2, RFC 9700 §4.5)', () => {
  it('refuses a second redemption with invalid_grant and kills the access and refresh tokens of the first', async () => {
    const h = setup()
    const code = await codeFor(h, webParams({ scope: 'openid offline_access api:read' }))
    const first = await redeem(h, { code, redirect_uri: WEB_CB })
    expect(first.status).toBe(200)
    const { access_token: accessToken, refresh_token: refresh } = json(first) as { access_token: string; refresh_token: string }
    expect(refresh).toBeTypeOf('string')
    expect((await userinfo(h, accessToken)).status).toBe(200)

    expectTokenError(await redeem(h, { code, redirect_uri: WEB_CB }), 'invalid_grant')

    const info = await userinfo(h, accessToken)
    expect(info.status).toBe(401)
    expect(json(info).error).toBe('invalid_token')
    expectTokenError(await h.server.token(tokenRequest({ grant_type: 'refresh_token', refresh_token: refresh }, WEB_AUTH)), 'invalid_grant')
  })

  it('kills opaque access tokens of the first redemption too', async () => {
    const h = setup({ accessTokenFormat: 'opaque' })
    const code = await codeFor(h, webParams({ scope: 'openid api:read' }))
    const accessToken = json(await redeem(h, { code, redirect_uri: WEB_CB })).access_token as string
    expect((await userinfo(h, accessToken)).status).toBe(200)
    expectTokenError(await redeem(h, { code, redirect_uri: WEB_CB }), 'invalid_grant')
    expect((await userinfo(h, accessToken)).status).toBe(401)
  })

  it('revokes the first redemption also when the replay comes from another client', async () => {
    const h = setup()
    const code = await codeFor(h, webParams({ scope: 'openid' }))
    const accessToken = json(await redeem(h, { code, redirect_uri: WEB_CB })).access_token as string
    expectTokenError(await redeem(h, { code, redirect_uri: WEB_CB }, OTHER_AUTH), 'invalid_grant')
    expect((await userinfo(h, accessToken)).status).toBe(401)
  })

  it('keeps the access token of the first redemption dead until it expires, even when it outlives the refresh-token chain', async () => {
    const h = setup({ ttl: { accessToken: 7200, refreshTokenAbsolute: 3600, refreshToken: 1800 } })
    const code = await codeFor(h, webParams({ scope: 'openid' }))
    const accessToken = json(await redeem(h, { code, redirect_uri: WEB_CB })).access_token as string
    expectTokenError(await redeem(h, { code, redirect_uri: WEB_CB }), 'invalid_grant')
    h.clock.advance(3601)
    // The token itself is valid until 7200 s after issue; the revocation must last as long.
    expect((await userinfo(h, accessToken)).status).toBe(401)
  })

  it('leaves tokens of other authorizations of the same person alive', async () => {
    const h = setup()
    const browser = new Browser()
    const replayed = await codeFor(h, webParams({ scope: 'openid' }), browser)
    const kept = await codeFor(h, webParams({ scope: 'openid' }), browser)
    await redeem(h, { code: replayed, redirect_uri: WEB_CB })
    const keptToken = json(await redeem(h, { code: kept, redirect_uri: WEB_CB })).access_token as string
    await redeem(h, { code: replayed, redirect_uri: WEB_CB })
    expect((await userinfo(h, keptToken)).status).toBe(200)
  })

  it('gives exactly one of 20 concurrent redemptions of a code its tokens', async () => {
    const h = setup()
    const code = await codeFor(h)
    const results = await Promise.all(Array.from({ length: 20 }, () => redeem(h, { code, redirect_uri: WEB_CB })))
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    for (const r of results.filter((x) => x.status !== 200)) expectTokenError(r, 'invalid_grant')
  })
})

describe('authorization_code grant: PKCE verification (RFC 7636 §4.5, §4.6; RFC 9700 §4.8.2)', () => {
  it('accepts the right S256 code_verifier from a public client', async () => {
    const h = setup()
    const { verifier, challenge } = pkce()
    const code = await codeFor(h, spaParams(challenge))
    const res = await redeem(h, { code, redirect_uri: SPA_CB, client_id: 'spa', code_verifier: verifier }, {})
    expect(res.status, res.body).toBe(200)
    expect(json(res).access_token).toBeTypeOf('string')
  })

  it('accepts the right plain code_verifier when pkce.allowPlain is set', async () => {
    const h = setup({ pkce: { allowPlain: true } })
    const { verifier } = pkce()
    const code = await codeFor(h, spaParams(verifier, 'plain'))
    expect((await redeem(h, { code, redirect_uri: SPA_CB, client_id: 'spa', code_verifier: verifier }, {})).status).toBe(200)
  })

  it('refuses a redemption without code_verifier when a challenge was stored, with invalid_grant', async () => {
    const h = setup()
    const code = await codeFor(h, spaParams(pkce().challenge))
    expectTokenError(await redeem(h, { code, redirect_uri: SPA_CB, client_id: 'spa' }, {}), 'invalid_grant')
  })

  it('refuses a code_verifier for a code issued without a challenge, with invalid_grant', async () => {
    const h = setup()
    const code = await codeFor(h)
    expectTokenError(await redeem(h, { code, redirect_uri: WEB_CB, code_verifier: pkce().verifier }), 'invalid_grant')
  })

  it('refuses a wrong code_verifier with invalid_grant', async () => {
    const h = setup()
    const code = await codeFor(h, spaParams(pkce().challenge))
    expectTokenError(await redeem(h, { code, redirect_uri: SPA_CB, client_id: 'spa', code_verifier: pkce().verifier }, {}), 'invalid_grant')
  })

  it('refuses the challenge itself sent as the verifier of an S256 code, with invalid_grant', async () => {
    const h = setup()
    const { challenge } = pkce()
    const code = await codeFor(h, spaParams(challenge))
    expectTokenError(await redeem(h, { code, redirect_uri: SPA_CB, client_id: 'spa', code_verifier: challenge }, {}), 'invalid_grant')
  })

  it.each([
    ['too short', 'a'.repeat(42)],
    ['too long', 'a'.repeat(129)],
    ['characters outside the unreserved set', 'a'.repeat(43) + '/'],
  ])('refuses a malformed code_verifier (%s) with invalid_request', async (_, verifier) => {
    const h = setup()
    const code = await codeFor(h, spaParams(pkce().challenge))
    expectTokenError(await redeem(h, { code, redirect_uri: SPA_CB, client_id: 'spa', code_verifier: verifier }, {}), 'invalid_request')
  })

  it('checks the verifier of a confidential client that sent a challenge', async () => {
    const h = setup()
    const { verifier, challenge } = pkce()
    const good = await codeFor(h, webParams({ code_challenge: challenge, code_challenge_method: 'S256' }))
    const bad = await codeFor(h, webParams({ code_challenge: challenge, code_challenge_method: 'S256' }))
    expect((await redeem(h, { code: good, redirect_uri: WEB_CB, code_verifier: verifier })).status).toBe(200)
    expectTokenError(await redeem(h, { code: bad, redirect_uri: WEB_CB }), 'invalid_grant')
  })
})

describe('authorization_code grant: OpenID Connect (OIDC Core §3.1.3.3, §3.1.3.6)', () => {
  it('returns an ID token verifiable with the JWKS, with iss, sub, aud, exp, iat, auth_time, nonce and at_hash', async () => {
    const h = setup()
    const loginAt = h.clock.now()
    const code = await codeFor(h, webParams({ scope: 'openid profile', nonce: 'n-abc' }))
    h.clock.advance(5)
    const res = await redeem(h, { code, redirect_uri: WEB_CB })
    expect(res.status, res.body).toBe(200)
    const body = json(res) as { id_token: string; access_token: string }
    const { payload } = await jwtVerify(body.id_token, createLocalJWKSet((await jwksOf(h)) as never), {
      issuer: ISSUER,
      audience: 'web',
      currentDate: new Date(h.clock.now() * 1000),
    })
    expect(payload).toMatchObject({ iss: ISSUER, sub: 'sub-alice', aud: 'web', iat: h.clock.now(), exp: h.clock.now() + 3600, auth_time: loginAt, nonce: 'n-abc' })
    expect(payload.at_hash).toBe(leftHalfSha256(body.access_token))
  })

  it('leaves nonce out of the ID token when the request had none', async () => {
    const h = setup()
    const code = await codeFor(h, webParams({ scope: 'openid' }))
    const body = json(await redeem(h, { code, redirect_uri: WEB_CB })) as { id_token: string }
    const { payload } = await jwtVerify(body.id_token, createLocalJWKSet((await jwksOf(h)) as never), { currentDate: new Date(h.clock.now() * 1000) })
    expect(payload.nonce).toBeUndefined()
  })

  it('issues no ID token without the openid scope', async () => {
    const h = setup()
    const code = await codeFor(h)
    expect(json(await redeem(h, { code, redirect_uri: WEB_CB })).id_token).toBeUndefined()
  })

  it('issues a refresh token with openid only when offline_access was granted (OIDC Core §11)', async () => {
    const h = setup()
    const without = await codeFor(h, webParams({ scope: 'openid' }))
    expect(json(await redeem(h, { code: without, redirect_uri: WEB_CB })).refresh_token).toBeUndefined()
    const withOffline = await codeFor(h, webParams({ scope: 'openid offline_access' }))
    expect(json(await redeem(h, { code: withOffline, redirect_uri: WEB_CB })).refresh_token).toBeTypeOf('string')
  })
})
