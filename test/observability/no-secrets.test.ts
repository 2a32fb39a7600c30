import { describe, expect, it } from 'vitest'
import { DEVICE_CODE_GRANT, JWT_BEARER_GRANT, SAML2_BEARER_GRANT, type GrantkitEvent, type GrantkitRequest } from '../../src/index.js'
import { alice, basic, ISSUER, json, makeServer, plainUsers, tokenRequest } from '../helpers.js'
import { captureLogger } from './capture.js'

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
/** A well-formed JWT whose signature is nonsense: it gets as far as verification. */
const fakeJwt = (claims: Record<string, unknown>, marker: string): string => `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(claims)}.${Buffer.from(marker).toString('base64url')}`

const SECRETS = {
  svc: 'svc-secret',
  post: 'post-secret',
  web: 'web-secret-4b1e2c9d7a',
  wrongSecret: 'wrong-secret-6a1f0c',
  password: 'wonderland',
  wrongPassword: 'wrong-password-93b1',
  code: 'made-up-code-5d2e8f',
  verifier: 'made-up-verifier-0123456789abcdefghijklmnopqrstuvwxyz-ABCDE',
  refresh: 'made-up-refresh-1c7b3a',
  deviceCode: 'made-up-device-code-7e4d',
  bearer: 'made-up-bearer-token-8f2a',
  revoke: 'made-up-revocation-token-2b9c',
  introspect: 'made-up-introspection-token-6d3e',
  samlAssertion: Buffer.from('<saml:Assertion>made-up-saml-4f8a</saml:Assertion>').toString('base64url'),
}
const clientAssertion = fakeJwt({ iss: 'svc', sub: 'svc', aud: `${ISSUER}/token`, exp: 1_900_000_000, jti: 'j1' }, 'client-assertion-sig-3c5e')
const grantAssertion = fakeJwt({ iss: 'https://idp.example', sub: 'alice-sub', aud: ISSUER, exp: 1_900_000_000 }, 'grant-assertion-sig-9a7b')

function setup() {
  const logger = captureLogger()
  const { server } = makeServer({
    logger,
    users: plainUsers(alice()),
    clients: [
      { client_id: 'svc', client_secret: SECRETS.svc, grant_types: ['client_credentials', 'password', 'refresh_token', JWT_BEARER_GRANT, SAML2_BEARER_GRANT], scope: 'api:read' },
      { client_id: 'post', client_secret: SECRETS.post, token_endpoint_auth_method: 'client_secret_post', grant_types: ['client_credentials'], scope: 'api:read' },
      { client_id: 'web', client_secret: SECRETS.web, redirect_uris: ['https://app.example/cb'], grant_types: ['authorization_code', 'refresh_token'], scope: 'openid api:read' },
      { client_id: 'tv', token_endpoint_auth_method: 'none', grant_types: [DEVICE_CODE_GRANT], scope: 'api:read' },
    ],
  })
  const events: GrantkitEvent[] = []
  server.on('*', (e) => events.push(e))
  const post = (path: string, body: Record<string, string>, headers: Record<string, string> = {}) => server.handle(tokenRequest(body, headers, path))
  return { server, logger, events, post }
}

describe('logs and events carry no secret, token, code, password or assertion', () => {
  it('through every refusal of every endpoint, and the tokens of successes', async () => {
    const { server, logger, events, post } = setup()
    const svc = { authorization: basic('svc', SECRETS.svc) }
    const issued: string[] = []

    // Client authentication, every way it fails.
    await post('/token', { grant_type: 'client_credentials' }, { authorization: basic('svc', SECRETS.wrongSecret) })
    await post('/token', { grant_type: 'client_credentials' }, { authorization: basic('post', SECRETS.post) })
    await post('/token', { grant_type: 'client_credentials', client_id: 'svc', client_secret: SECRETS.svc })
    await post('/token', { grant_type: 'client_credentials', client_id: 'post', client_secret: SECRETS.wrongSecret })
    await post('/token', { grant_type: 'client_credentials', client_secret: SECRETS.wrongSecret })
    await post('/token', { grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: clientAssertion })
    await post('/token', { grant_type: 'client_credentials', client_id: 'svc', client_secret: SECRETS.svc }, svc)
    await post('/token', { grant_type: 'client_credentials' }, { authorization: `Basic ${Buffer.from(SECRETS.wrongSecret).toString('base64')}` })

    // Every grant, refused.
    await post('/token', { grant_type: 'authorization_code', code: SECRETS.code, redirect_uri: 'https://app.example/cb', code_verifier: SECRETS.verifier }, { authorization: basic('web', SECRETS.web) })
    await post('/token', { grant_type: 'refresh_token', refresh_token: SECRETS.refresh }, { authorization: basic('web', SECRETS.web) })
    await post('/token', { grant_type: 'password', username: 'alice', password: SECRETS.wrongPassword }, svc)
    await post('/token', { grant_type: 'password', username: 'nobody', password: SECRETS.password }, svc)
    await post('/token', { grant_type: DEVICE_CODE_GRANT, device_code: SECRETS.deviceCode, client_id: 'tv' })
    await post('/token', { grant_type: JWT_BEARER_GRANT, assertion: grantAssertion }, svc)
    await post('/token', { grant_type: SAML2_BEARER_GRANT, assertion: SECRETS.samlAssertion }, svc)
    await post('/token', { grant_type: 'urn:example:unknown', password: SECRETS.password }, svc)
    await post('/token', { grant_type: 'client_credentials', scope: 'admin' }, svc)

    // Successes, whose tokens must stay out too, then their reuse.
    const cc = json(await post('/token', { grant_type: 'client_credentials' }, svc))
    const pw = json(await post('/token', { grant_type: 'password', username: 'alice', password: SECRETS.password }, svc))
    issued.push(String(cc.access_token), String(pw.access_token))
    if (typeof pw.refresh_token === 'string') {
      issued.push(pw.refresh_token)
      const rotated = json(await post('/token', { grant_type: 'refresh_token', refresh_token: pw.refresh_token }, svc))
      issued.push(String(rotated.access_token), String(rotated.refresh_token))
      await post('/token', { grant_type: 'refresh_token', refresh_token: pw.refresh_token }, svc)
    }
    const device = json(await post('/device_authorization', { client_id: 'tv' }))
    issued.push(String(device.device_code))
    await post('/token', { grant_type: DEVICE_CODE_GRANT, device_code: String(device.device_code), client_id: 'tv' })

    // The other endpoints.
    await post('/revoke', { token: SECRETS.revoke }, svc)
    await post('/revoke', { token: String(cc.access_token) }, { authorization: basic('svc', SECRETS.wrongSecret) })
    await post('/introspect', { token: SECRETS.introspect }, svc)
    await post('/introspect', { token: String(pw.access_token) }, svc)
    const userinfo = (authorization: string): GrantkitRequest => ({ method: 'GET', url: new URL(`${ISSUER}/userinfo`), headers: { authorization } })
    await server.handle(userinfo(`Bearer ${SECRETS.bearer}`))
    await server.handle(userinfo(`Bearer ${String(pw.access_token)}`))
    await server.handle({ method: 'GET', url: new URL(`${ISSUER}/authorize?client_id=web&response_type=code&redirect_uri=${encodeURIComponent('https://evil.example/')}`), headers: {} })
    await server.handle({ method: 'POST', url: new URL(`${ISSUER}/device`), headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `user_code=${String(device.user_code)}` })

    if (process.env.SHOW_LINES) console.log(logger.text())
    expect(logger.lines.length).toBeGreaterThanOrEqual(30)
    // Each refusal has its reason.
    for (const line of logger.lines) if (Number(line.obj.status) >= 400 && line.obj.status !== 404) expect(line.obj, JSON.stringify(line.obj)).toHaveProperty('reason')
    const everything = `${logger.text()}\n${JSON.stringify(events)}`
    const forbidden = [...Object.values(SECRETS), clientAssertion, grantAssertion, 'client-assertion-sig', 'grant-assertion-sig', 'made-up-saml', ...issued]
    for (const secret of forbidden) expect(everything, secret).not.toContain(secret)
    // Nor any part of a Basic header's credentials.
    expect(everything).not.toContain(basic('svc', SECRETS.svc).slice(6))
  })
})
