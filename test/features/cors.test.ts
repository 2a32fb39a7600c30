import { describe, expect, it } from 'vitest'
import { prepareClient, type GrantkitRequest } from '../../src/index.js'
import { basic, ISSUER, json, makeServer, tokenRequest } from '../helpers.js'

const SPA_ORIGIN = 'https://spa.example'
const clients = [
  { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' },
  { client_id: 'partner', client_secret: 'partner-secret', grant_types: ['client_credentials'], scope: 'api:read', allowed_origins: ['https://partner.example'] },
  { client_id: 'spa', token_endpoint_auth_method: 'none' as const, redirect_uris: [`${SPA_ORIGIN}/cb`], grant_types: ['authorization_code', 'refresh_token'], scope: 'api:read' },
]
const setup = () => makeServer({ clients, users: [], interaction: { url: (uid) => `https://ui.example/${uid}` } })

const preflight = (path: string, origin: string, method = 'POST'): GrantkitRequest => ({
  method: 'OPTIONS',
  url: new URL(ISSUER + path),
  headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'content-type' },
})

describe('CORS (Fetch Standard) for browser clients', () => {
  it('answers a preflight to the token endpoint from an origin a client allows: a public client’s redirect origin, or allowed_origins', async () => {
    const { server } = setup()
    for (const origin of [SPA_ORIGIN, 'https://partner.example']) {
      const res = await server.handle(preflight('/token', origin))
      expect(res.status).toBe(204)
      expect(res.headers['access-control-allow-origin']).toBe(origin)
      expect(res.headers['access-control-allow-methods']).toBe('POST')
      expect(String(res.headers['access-control-allow-headers'])).toContain('content-type')
      expect(res.headers['access-control-allow-credentials']).toBeUndefined()
      expect(res.headers.vary).toBe('origin')
    }
  })

  it('refuses a preflight from an origin nobody registered, and any preflight to introspection', async () => {
    const { server } = setup()
    const res = await server.handle(preflight('/token', 'https://evil.example'))
    expect(res.status).toBe(403)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    const intro = await server.handle(preflight('/introspect', SPA_ORIGIN))
    expect(intro.status).toBe(405)
    expect(intro.headers['access-control-allow-origin']).toBeUndefined()
    const wrongMethod = await server.handle(preflight('/token', SPA_ORIGIN, 'DELETE'))
    expect(wrongMethod.status).toBe(403)
  })

  it('keeps discovery and JWKS open to every origin', async () => {
    const { server } = setup()
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/jwks']) {
      const res = await server.handle({ method: 'GET', url: new URL(ISSUER + path), headers: { origin: 'https://anyone.example' } })
      expect(res.status).toBe(200)
      expect(res.headers['access-control-allow-origin']).toBe('*')
      expect((await server.handle(preflight(path, 'https://anyone.example', 'GET'))).status).toBe(204)
    }
  })

  it('lets a client’s allowed origin read the token response, and refuses the same request from another client’s origin', async () => {
    const { server } = setup()
    const ok = await server.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('partner', 'partner-secret'), origin: 'https://partner.example' }))
    expect(ok.status).toBe(200)
    expect(ok.headers['access-control-allow-origin']).toBe('https://partner.example')
    expect(String(ok.headers['access-control-expose-headers'])).toContain('www-authenticate')
    // spa.example is allowed for spa, not for partner: the request itself is refused.
    const refused = await server.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('partner', 'partner-secret'), origin: SPA_ORIGIN }))
    expect(refused.status).toBe(400)
    expect(json(refused).error).toBe('invalid_request')
    // A confidential client registers no origin by default: browsers are refused.
    const svc = await server.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret'), origin: SPA_ORIGIN }))
    expect(json(svc).error).toBe('invalid_request')
    // Server-side callers send no Origin, and pages of the issuer's own origin are always allowed.
    expect((await server.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))).status).toBe(200)
    expect((await server.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret'), origin: ISSUER }))).status).toBe(200)
  })

  it('checks the origin against the token’s client at userinfo', async () => {
    const { server } = setup()
    const token = json(await server.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('partner', 'partner-secret') }))).access_token as string
    const res = await server.userinfo({ method: 'GET', url: new URL(ISSUER + '/userinfo'), headers: { authorization: `Bearer ${token}`, origin: SPA_ORIGIN } })
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_request')
  })

  it('refuses allowed_origins that are not origins', () => {
    const base = { client_id: 'c', client_secret: 's', grant_types: ['client_credentials'] }
    expect(() => prepareClient({ ...base, allowed_origins: ['https://a.example/'] })).toThrow(/client\.allowed_origins\[0\]: .* is not an origin/)
    expect(() => prepareClient({ ...base, allowed_origins: ['https://a.example/path'] })).toThrow(/is not an origin/)
    expect(() => prepareClient({ ...base, allowed_origins: ['http://a.example'] })).toThrow(/uses http on a non-loopback host/)
    expect(() => prepareClient({ ...base, allowed_origins: ['*'] })).toThrow(/is not an origin/)
    expect(prepareClient({ ...base, allowed_origins: ['http://127.0.0.1:8080'] }).allowedOrigins.has('http://127.0.0.1:8080')).toBe(true)
  })
})
