/**
 * The HTTP-level protocol suite, run unchanged through every adapter (and
 * every way of mounting one): whatever the framework, a client must see the
 * same OAuth 2.0 / OpenID Connect server.
 */
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adapters, type RunningServer } from './adapters.js'
import { DEVICE_CODE_GRANT, idpAssertion, JWT_BEARER_GRANT, makeIdpKey, pkcePair, serverOptions, SPA_CALLBACK, WEB_CALLBACK } from './fixtures.js'
import { basic, Browser, cookieNames, expectOAuthError, formOf, jsonOf, postForm, rawPost } from './http.js'

const idp = await makeIdpKey()
const WEB = { authorization: basic('web', 'web-secret') }
const SVC = { authorization: basic('svc', 'svc-secret') }
const RS = { authorization: basic('rs', 'rs-secret') }
const LEGACY = { authorization: basic('legacy', 'legacy-secret') }
const ROBOT = { authorization: basic('robot', 'robot-secret') }

describe.each(adapters)('%s', (_name, start) => {
  let as: RunningServer
  let issuer: string
  /** The issuer's path ('' at the root, '/auth' when mounted there). */
  let base: string
  const url = (path: string) => issuer + path

  beforeAll(async () => {
    as = await start(serverOptions(idp))
    issuer = as.issuer
    base = new URL(issuer).pathname.replace(/\/$/, '')
  })
  afterAll(() => as?.close())

  async function clientCredentials(headers = SVC, scope?: string): Promise<string> {
    const res = await postForm(url('/token'), { grant_type: 'client_credentials', ...(scope !== undefined && { scope }) }, headers)
    expect(res.status).toBe(200)
    return (await jsonOf(res)).access_token as string
  }

  async function jwks(): Promise<ReturnType<typeof createLocalJWKSet>> {
    return createLocalJWKSet((await (await fetch(url('/jwks'))).json()) as JSONWebKeySet)
  }

  function authorizeUrl(params: Record<string, string>): string {
    return url('/authorize') + '?' + new URLSearchParams(params).toString()
  }

  describe('discovery (RFC 8414, OIDC Discovery)', () => {
    function expectMetadata(doc: Record<string, unknown>): void {
      expect(doc.issuer).toBe(issuer)
      expect(doc).toMatchObject({
        authorization_endpoint: url('/authorize'),
        token_endpoint: url('/token'),
        userinfo_endpoint: url('/userinfo'),
        jwks_uri: url('/jwks'),
        revocation_endpoint: url('/revoke'),
        introspection_endpoint: url('/introspect'),
        device_authorization_endpoint: url('/device_authorization'),
        authorization_response_iss_parameter_supported: true,
      })
      expect(doc.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'client_credentials', 'refresh_token', 'password', DEVICE_CODE_GRANT, JWT_BEARER_GRANT, 'implicit']))
    }

    it('serves RFC 8414 metadata with the well-known suffix between host and issuer path (§3.1)', async () => {
      const res = await fetch(`${as.origin}/.well-known/oauth-authorization-server${base}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('access-control-allow-origin')).toBe('*')
      expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/)
      expectMetadata(await jsonOf(res))
    })

    it('serves the OpenID configuration under the issuer path (OIDC Discovery §4)', async () => {
      const res = await fetch(url('/.well-known/openid-configuration'))
      expect(res.status).toBe(200)
      expectMetadata(await jsonOf(res))
    })

    it('serves the public signing keys, and only public ones (RFC 7517)', async () => {
      const res = await fetch(url('/jwks'))
      expect(res.status).toBe(200)
      const { keys } = (await jsonOf(res)) as { keys: Array<Record<string, unknown>> }
      expect(keys.length).toBeGreaterThan(0)
      for (const k of keys) {
        expect(k).toHaveProperty('kid')
        expect(k).not.toHaveProperty('d')
      }
    })
  })

  describe('token endpoint (RFC 6749 §3.2)', () => {
    it('issues a client_credentials token to a client authenticating with HTTP Basic', async () => {
      const res = await postForm(url('/token'), { grant_type: 'client_credentials', scope: 'api:read' }, SVC)
      expect(res.status).toBe(200)
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(res.headers.get('pragma')).toBe('no-cache')
      const body = await jsonOf(res)
      expect(body).toMatchObject({ token_type: 'Bearer', scope: 'api:read', expires_in: 3600 })
      const { payload } = await jwtVerify(body.access_token as string, await jwks(), { issuer, audience: issuer })
      expect(payload.client_id).toBe('svc')
    })

    it('issues a client_credentials token to a client authenticating in the body (client_secret_post)', async () => {
      const res = await postForm(url('/token'), { grant_type: 'client_credentials', client_id: 'post', client_secret: 'post-secret' })
      expect(res.status).toBe(200)
      expect((await jsonOf(res)).token_type).toBe('Bearer')
    })

    it('answers a wrong client secret with 401 invalid_client and WWW-Authenticate', async () => {
      const res = await postForm(url('/token'), { grant_type: 'client_credentials' }, { authorization: basic('svc', 'wrong') })
      await expectOAuthError(res, 401, 'invalid_client')
      expect(res.headers.get('www-authenticate')).toBe(`Basic realm="${issuer}"`)
    })

    it('refuses a repeated parameter with invalid_request (§3.2)', async () => {
      const res = await postForm(url('/token'), 'grant_type=client_credentials&scope=api:read&scope=api:write', SVC)
      await expectOAuthError(res, 400, 'invalid_request')
      const again = await postForm(url('/token'), 'grant_type=client_credentials&grant_type=client_credentials', SVC)
      await expectOAuthError(again, 400, 'invalid_request')
    })

    it('refuses a JSON body with invalid_request', async () => {
      const res = await fetch(url('/token'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...SVC },
        body: JSON.stringify({ grant_type: 'client_credentials' }),
      })
      await expectOAuthError(res, 400, 'invalid_request')
    })

    it('allows only POST', async () => {
      const res = await fetch(url('/token'))
      await expectOAuthError(res, 405, 'invalid_request')
      expect(res.headers.get('allow')).toBe('POST')
    })

    it('answers an unknown grant type with unsupported_grant_type', async () => {
      await expectOAuthError(await postForm(url('/token'), { grant_type: 'urn:example:nope' }, SVC), 400, 'unsupported_grant_type')
    })

    const oversized = 'grant_type=client_credentials&pad=' + 'x'.repeat(70_000)
    const formHeaders = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('svc', 'svc-secret') }

    it('answers a body over 64 KiB (by content-length) with 413 and an OAuth error, and keeps serving', async () => {
      const res = await rawPost(url('/token'), oversized, formHeaders)
      expect(res.status).toBe(413)
      expect(res.headers['content-type']).toMatch(/^application\/json/)
      expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_request' })
      expect((await postForm(url('/token'), { grant_type: 'client_credentials' }, SVC)).status).toBe(200)
    })

    it('answers a chunked body that grows past 64 KiB with 413 and an OAuth error, and keeps serving', async () => {
      const chunks = [Buffer.from('grant_type=client_credentials&pad='), ...Array.from({ length: 70 }, () => Buffer.from('x'.repeat(1024)))]
      const res = await rawPost(url('/token'), chunks, { ...formHeaders, 'transfer-encoding': 'chunked' })
      expect(res.status).toBe(413)
      expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_request' })
      expect((await postForm(url('/token'), { grant_type: 'client_credentials' }, SVC)).status).toBe(200)
    })
  })

  describe('authorization code with PKCE through the built-in pages (RFC 6749 §4.1, RFC 7636)', () => {
    it('signs in, asks consent, redirects with code, state and iss, and exchanges the code', async () => {
      const browser = new Browser()
      const { verifier, challenge } = pkcePair()
      const start = await browser.get(
        authorizeUrl({
          response_type: 'code',
          client_id: 'web',
          redirect_uri: WEB_CALLBACK,
          scope: 'openid profile offline_access api:read',
          state: 'st-1',
          nonce: 'n-1',
          code_challenge: challenge,
          code_challenge_method: 'S256',
          prompt: 'consent',
        }),
      )
      expect(start.status).toBe(303)
      const interaction = start.headers.get('location')!
      expect(interaction.startsWith(url('/interaction/'))).toBe(true)
      const binding = start.headers.getSetCookie()
      expect(binding).toHaveLength(1)
      expect(binding[0]).toMatch(new RegExp(`^grantkit_interaction=[\\w-]+; Path=${base || '/'}; HttpOnly; SameSite=Lax; Max-Age=600$`))

      const loginPage = await browser.get(interaction)
      expect(loginPage.status).toBe(200)
      expect(loginPage.headers.get('content-type')).toMatch(/^text\/html/)
      expect(loginPage.headers.get('x-frame-options')).toBe('DENY')
      const login = formOf(await loginPage.text())
      expect(login.action).toBe(`${interaction}/login`)

      // A form without the page's csrf value is refused.
      const forged = await browser.post(login.action, { csrf: 'forged', username: 'alice', password: 'wonderland' })
      expect(forged.status).toBe(403)

      const afterLogin = await browser.post(login.action, { csrf: login.csrf, username: 'alice', password: 'wonderland' })
      expect(afterLogin.status).toBe(303)
      expect(afterLogin.headers.get('location')).toBe(interaction)
      // http loopback: no __Host- prefix (it needs Secure). The known-device cookie marks this browser for the account.
      expect(cookieNames(afterLogin)).toEqual(['grantkit_session', 'grantkit_known_device'])

      const consentPage = await browser.get(interaction)
      expect(consentPage.status).toBe(200)
      const consentHtml = await consentPage.text()
      expect(consentHtml).toContain('Web App')
      const consent = formOf(consentHtml)
      expect(consent.action).toBe(`${interaction}/consent`)

      const done = await browser.post(consent.action, { csrf: consent.csrf, decision: 'allow' })
      expect(done.status).toBe(303)
      expect(cookieNames(done)).toEqual(['grantkit_interaction'])
      const callback = new URL(done.headers.get('location')!)
      expect(callback.origin + callback.pathname).toBe(WEB_CALLBACK)
      expect(callback.searchParams.get('state')).toBe('st-1')
      expect(callback.searchParams.get('iss')).toBe(issuer)
      const code = callback.searchParams.get('code')!
      expect(code).toBeTruthy()

      const wrongVerifier = await postForm(url('/token'), { grant_type: 'authorization_code', code, redirect_uri: WEB_CALLBACK, code_verifier: pkcePair().verifier }, WEB)
      await expectOAuthError(wrongVerifier, 400, 'invalid_grant')
    })

    it('exchanges the code for tokens, an ID token, userinfo and rotating refresh tokens', async () => {
      const browser = new Browser()
      const { verifier, challenge } = pkcePair()
      const done = await browser.authorize(
        authorizeUrl({
          response_type: 'code',
          client_id: 'web',
          redirect_uri: WEB_CALLBACK,
          scope: 'openid profile email offline_access',
          state: 'st-2',
          nonce: 'n-2',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
        issuer,
      )
      const code = new URL(done.headers.get('location')!).searchParams.get('code')!
      const exchange = { grant_type: 'authorization_code', code, redirect_uri: WEB_CALLBACK, code_verifier: verifier }
      const res = await postForm(url('/token'), exchange, WEB)
      expect(res.status).toBe(200)
      expect(res.headers.get('cache-control')).toBe('no-store')
      const tokens = await jsonOf(res)
      expect(tokens).toMatchObject({ token_type: 'Bearer', scope: 'openid profile email offline_access' })

      const { payload: idToken } = await jwtVerify(tokens.id_token as string, await jwks(), { issuer, audience: 'web' })
      expect(idToken).toMatchObject({ sub: 'alice-sub', nonce: 'n-2' })
      expect(typeof idToken.auth_time).toBe('number')

      // RFC 6749 §4.1.2: a code is used once.
      await expectOAuthError(await postForm(url('/token'), exchange, WEB), 400, 'invalid_grant')

      // The replay revoked the grant, so start over for the rest.
      const again = new Browser()
      const pkce2 = pkcePair()
      const done2 = await again.authorize(
        authorizeUrl({ response_type: 'code', client_id: 'web', redirect_uri: WEB_CALLBACK, scope: 'openid profile email offline_access', code_challenge: pkce2.challenge, code_challenge_method: 'S256' }),
        issuer,
      )
      const code2 = new URL(done2.headers.get('location')!).searchParams.get('code')!
      const set = await jsonOf(await postForm(url('/token'), { grant_type: 'authorization_code', code: code2, redirect_uri: WEB_CALLBACK, code_verifier: pkce2.verifier }, WEB))
      const access = set.access_token as string

      // OIDC Core §5.3: GET with the Authorization header, POST with the token in the form.
      const viaGet = await fetch(url('/userinfo'), { headers: { authorization: `Bearer ${access}` } })
      expect(viaGet.status).toBe(200)
      expect(await jsonOf(viaGet)).toEqual({ sub: 'alice-sub', name: 'Alice Liddell', email: 'alice@example.com', email_verified: true })
      const viaPost = await postForm(url('/userinfo'), { access_token: access })
      expect(viaPost.status).toBe(200)
      expect((await jsonOf(viaPost)).sub).toBe('alice-sub')
      const anonymous = await fetch(url('/userinfo'))
      expect(anonymous.status).toBe(401)
      // RFC 6750 §3.1 and RFC 9449 §7.1: no error code, and DPoP offered next to Bearer.
      expect(anonymous.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer realm="${issuer}", DPoP realm="${issuer}", algs="[^"]+"$`))

      // RFC 9700 §4.14.2: each refresh returns a new refresh token; a used one revokes the grant.
      const first = set.refresh_token as string
      const rotated = await postForm(url('/token'), { grant_type: 'refresh_token', refresh_token: first }, WEB)
      expect(rotated.status).toBe(200)
      const next = (await jsonOf(rotated)).refresh_token as string
      expect(next).toBeTruthy()
      expect(next).not.toBe(first)
      await expectOAuthError(await postForm(url('/token'), { grant_type: 'refresh_token', refresh_token: first }, WEB), 400, 'invalid_grant')
      await expectOAuthError(await postForm(url('/token'), { grant_type: 'refresh_token', refresh_token: next }, WEB), 400, 'invalid_grant')
    })

    it('delivers several Set-Cookie values of one response intact', async () => {
      const params = { response_type: 'code', client_id: 'web', redirect_uri: WEB_CALLBACK, scope: 'openid api:read', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' }
      // The first browser leaves alice's consent remembered …
      await new Browser().authorize(authorizeUrl(params), issuer)
      // … so in a second one, the login finishes the request: a new session, and the binding cleared.
      const browser = new Browser()
      const start = await browser.get(authorizeUrl(params))
      const { action, csrf } = formOf(await (await browser.get(start.headers.get('location')!)).text())
      const done = await browser.post(action, { csrf, username: 'alice', password: 'wonderland' })
      expect(done.status).toBe(303)
      expect(done.headers.get('location')!.startsWith(WEB_CALLBACK + '?code=')).toBe(true)
      const cookies = done.headers.getSetCookie()
      expect(cookies).toHaveLength(3)
      expect(cookies[0]).toMatch(/^grantkit_session=[\w-]{43}; Path=[^;]+; HttpOnly; SameSite=Lax; Max-Age=86400$/)
      expect(cookies[1]).toMatch(/^grantkit_interaction=; Path=[^;]+; HttpOnly; SameSite=Lax; Max-Age=0$/)
      expect(cookies[2]).toMatch(/^grantkit_known_device=[\w~-]+\.[\w-]{43}; Path=[^;]+; HttpOnly; SameSite=Lax; Max-Age=2592000$/)
    })

    it('takes the authorization request as a POSTed form too (OIDC Core §3.1.2.1)', async () => {
      const browser = new Browser()
      const res = await browser.post(url('/authorize'), { response_type: 'code', client_id: 'web', redirect_uri: WEB_CALLBACK, scope: 'api:read', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' })
      expect(res.status).toBe(303)
      expect(res.headers.get('location')!.startsWith(url('/interaction/'))).toBe(true)
      expect(cookieNames(res)).toEqual(['grantkit_interaction'])
    })

    it('sends a denial to the client as access_denied with state and iss (§4.1.2.1)', async () => {
      const done = await new Browser().authorize(
        authorizeUrl({ response_type: 'code', client_id: 'web', redirect_uri: WEB_CALLBACK, scope: 'api:read', state: 'st-d', prompt: 'consent', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' }),
        issuer,
        'deny',
      )
      expect(done.status).toBe(303)
      const callback = new URL(done.headers.get('location')!)
      expect(Object.fromEntries(callback.searchParams)).toMatchObject({ error: 'access_denied', state: 'st-d', iss: issuer })
      expect(callback.searchParams.has('code')).toBe(false)
    })

    it('answers prompt=none without a session with login_required at the redirect_uri (OIDC Core §3.1.2.6)', async () => {
      const res = await fetch(authorizeUrl({ response_type: 'code', client_id: 'web', redirect_uri: WEB_CALLBACK, scope: 'api:read', state: 'st-n', prompt: 'none', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' }), { redirect: 'manual' })
      expect(res.status).toBe(303)
      const callback = new URL(res.headers.get('location')!)
      expect(Object.fromEntries(callback.searchParams)).toMatchObject({ error: 'login_required', state: 'st-n', iss: issuer })
    })

    it('shows an error page, never a redirect, for an unregistered redirect_uri', async () => {
      const res = await fetch(authorizeUrl({ response_type: 'code', client_id: 'web', redirect_uri: 'https://evil.example/cb' }), { redirect: 'manual' })
      expect(res.status).toBe(400)
      expect(res.headers.get('location')).toBeNull()
      expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    })
  })

  describe('implicit (RFC 6749 §4.2, OIDC Core §3.2)', () => {
    it('returns the access token and ID token in the fragment', async () => {
      const done = await new Browser().authorize(
        authorizeUrl({ response_type: 'id_token token', client_id: 'spa', redirect_uri: SPA_CALLBACK, scope: 'openid profile', state: 'st-i', nonce: 'n-i' }),
        issuer,
      )
      const location = new URL(done.headers.get('location')!)
      expect(location.origin + location.pathname).toBe(SPA_CALLBACK)
      expect(location.search).toBe('')
      const fragment = new URLSearchParams(location.hash.slice(1))
      expect(Object.fromEntries(fragment)).toMatchObject({ token_type: 'Bearer', state: 'st-i', iss: issuer })
      expect(fragment.has('refresh_token')).toBe(false)
      const { payload } = await jwtVerify(fragment.get('id_token')!, await jwks(), { issuer, audience: 'spa' })
      expect(payload).toMatchObject({ sub: 'alice-sub', nonce: 'n-i' })
      const info = await fetch(url('/userinfo'), { headers: { authorization: `Bearer ${fragment.get('access_token')}` } })
      expect(info.status).toBe(200)
      expect((await jsonOf(info)).name).toBe('Alice Liddell')
    })
  })

  describe('password grant (RFC 6749 §4.3)', () => {
    it('issues tokens for the right password and invalid_grant for a wrong one', async () => {
      const res = await postForm(url('/token'), { grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'api:read' }, LEGACY)
      expect(res.status).toBe(200)
      const body = await jsonOf(res)
      expect(body).toMatchObject({ token_type: 'Bearer', scope: 'api:read' })
      expect(decodeJwt(body.access_token as string).sub).toBe('alice-sub')
      expect(body.refresh_token).toBeTruthy()
      await expectOAuthError(await postForm(url('/token'), { grant_type: 'password', username: 'alice', password: 'nope' }, LEGACY), 400, 'invalid_grant')
    })
  })

  describe('device authorization grant (RFC 8628)', () => {
    it('lets a person approve a device on the /device page, and the device polls for its tokens', async () => {
      const authz = await postForm(url('/device_authorization'), { client_id: 'tv', scope: 'openid offline_access api:read' })
      expect(authz.status).toBe(200)
      const device = (await jsonOf(authz)) as { device_code: string; user_code: string; verification_uri: string; verification_uri_complete: string; interval: number }
      expect(device.verification_uri).toBe(url('/device'))
      const poll = () => postForm(url('/token'), { grant_type: DEVICE_CODE_GRANT, device_code: device.device_code, client_id: 'tv' })
      await expectOAuthError(await poll(), 400, 'authorization_pending')

      const browser = new Browser()
      const page = await browser.get(device.verification_uri_complete)
      expect(page.status).toBe(200)
      expect(cookieNames(page)).toEqual(['grantkit_device'])
      const html = await page.text()
      expect(html).toContain(`value="${device.user_code}"`)
      const entry = formOf(html)
      expect(entry.action).toBe(url('/device'))
      expect(entry.csrf).toBe(browser.cookies.get('grantkit_device'))

      // Double-submit CSRF: the form must carry the cookie's value.
      expect((await browser.post(entry.action, { csrf: 'x'.repeat(43), user_code: device.user_code })).status).toBe(403)
      const wrongCode = await browser.post(entry.action, { csrf: entry.csrf, user_code: 'BCDF-GHJK' })
      expect(wrongCode.status).toBe(400)

      const entered = await browser.post(entry.action, { csrf: entry.csrf, user_code: device.user_code })
      expect(entered.status).toBe(303)
      const interaction = entered.headers.get('location')!
      expect(interaction.startsWith(url('/interaction/'))).toBe(true)
      expect(cookieNames(entered)).toEqual(['grantkit_interaction'])

      const login = formOf(await (await browser.get(interaction)).text())
      const afterLogin = await browser.post(login.action, { csrf: login.csrf, username: 'alice', password: 'wonderland' })
      expect(afterLogin.status).toBe(303)
      const consentHtml = await (await browser.get(interaction)).text()
      expect(consentHtml).toContain('Living Room TV')
      const consent = formOf(consentHtml)
      const done = await browser.post(consent.action, { csrf: consent.csrf, decision: 'allow' })
      expect(done.status).toBe(200)
      expect(await done.text()).toContain('Device connected')

      const tokens = await poll()
      expect(tokens.status).toBe(200)
      const body = await jsonOf(tokens)
      expect(body).toMatchObject({ token_type: 'Bearer', scope: 'openid offline_access api:read' })
      expect(body.refresh_token).toBeTruthy()
      const { payload } = await jwtVerify(body.id_token as string, await jwks(), { issuer, audience: 'tv' })
      expect(payload.sub).toBe('alice-sub')
      await expectOAuthError(await poll(), 400, 'invalid_grant')
    })
  })

  describe('JWT bearer grant (RFC 7523)', () => {
    it('exchanges an assertion from a trusted issuer once', async () => {
      const assertion = await idpAssertion(idp, url('/token'))
      const res = await postForm(url('/token'), { grant_type: JWT_BEARER_GRANT, assertion, scope: 'api:read' }, ROBOT)
      expect(res.status).toBe(200)
      const body = await jsonOf(res)
      expect(decodeJwt(body.access_token as string)).toMatchObject({ sub: 'alice-sub', client_id: 'robot', scope: 'api:read' })
      // §3 item 7: the jti is accepted once.
      await expectOAuthError(await postForm(url('/token'), { grant_type: JWT_BEARER_GRANT, assertion }, ROBOT), 400, 'invalid_grant')
      // §3 item 3: an assertion for another audience is refused.
      const elsewhere = await idpAssertion(idp, 'https://other-as.example/token')
      await expectOAuthError(await postForm(url('/token'), { grant_type: JWT_BEARER_GRANT, assertion: elsewhere }, ROBOT), 400, 'invalid_grant')
    })
  })

  describe('revocation (RFC 7009) and introspection (RFC 7662)', () => {
    it('introspects an access token, revokes it, and then reports it inactive', async () => {
      const token = await clientCredentials(SVC, 'api:read')
      const before = await postForm(url('/introspect'), { token }, RS)
      expect(before.status).toBe(200)
      expect(before.headers.get('cache-control')).toBe('no-store')
      expect(await jsonOf(before)).toMatchObject({ active: true, client_id: 'svc', scope: 'api:read', token_type: 'Bearer', iss: issuer })

      // §2.1: another client's token is answered 200 and left alone.
      expect((await postForm(url('/revoke'), { token, client_id: 'post', client_secret: 'post-secret' })).status).toBe(200)
      expect((await jsonOf(await postForm(url('/introspect'), { token }, RS))).active).toBe(true)

      const revoked = await postForm(url('/revoke'), { token, token_type_hint: 'access_token' }, SVC)
      expect(revoked.status).toBe(200)
      expect(await jsonOf(await postForm(url('/introspect'), { token }, RS))).toEqual({ active: false })
    })

    it('revokes a refresh token so it can no longer be used or introspected as active', async () => {
      const issued = await jsonOf(await postForm(url('/token'), { grant_type: 'password', username: 'alice', password: 'wonderland' }, LEGACY))
      const refresh = issued.refresh_token as string
      expect(await jsonOf(await postForm(url('/introspect'), { token: refresh, token_type_hint: 'refresh_token' }, RS))).toMatchObject({ active: true, client_id: 'legacy' })
      expect((await postForm(url('/revoke'), { token: refresh, token_type_hint: 'refresh_token' }, LEGACY)).status).toBe(200)
      expect(await jsonOf(await postForm(url('/introspect'), { token: refresh }, RS))).toEqual({ active: false })
      await expectOAuthError(await postForm(url('/token'), { grant_type: 'refresh_token', refresh_token: refresh }, LEGACY), 400, 'invalid_grant')
    })

    it('answers an unknown token inactive, and an unauthenticated caller 401', async () => {
      expect(await jsonOf(await postForm(url('/introspect'), { token: 'not-a-token' }, RS))).toEqual({ active: false })
      expect((await postForm(url('/revoke'), { token: 'not-a-token' }, SVC)).status).toBe(200)
      const anonymous = await postForm(url('/introspect'), { token: 'not-a-token' })
      await expectOAuthError(anonymous, 401, 'invalid_client')
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/)
    })
  })

  describe('routing', () => {
    it('answers a path it has no endpoint for with 404', async () => {
      expect((await fetch(`${as.origin}/nope`)).status).toBe(404)
      expect((await fetch(url('/interaction/too-short'))).status).toBe(404)
    })

    it('passes a path that is not grantkit’s to the app, and keeps its own paths', async () => {
      const res = await fetch(as.origin + '/app/teapot', { method: 'POST', body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      if (as.appPath === undefined) {
        // node: the listener is the whole server.
        expect(res.status).toBe(404)
        expect(await jsonOf(res)).toEqual({ error: 'not_found' })
        return
      }
      expect(res.status).toBe(418)
      expect(await res.text()).toBe('the app')
      // The app's 418 handlers on grantkit paths come after grantkit and are never reached.
      expect((await fetch(url('/jwks'))).status).toBe(200)
      expect((await fetch(url('/token'))).status).toBe(405)
      expect((await fetch(url('/interaction/too-short'))).status).toBe(404)
    })
  })
})
