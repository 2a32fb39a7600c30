import { describe, expect, it } from 'vitest'
import { mcpProfile, type ResourceServerOptions } from '../../src/index.js'
import {
  authorizeAs,
  Browser,
  expectErrorRedirect,
  expectTokenError,
  ISSUER,
  json,
  pkce,
  redeem,
  redirect,
  setup,
  WEB_AUTH,
  WEB_CB,
  webParams,
  type Harness,
} from '../authorize/fixtures.js'
import { basic, makeServer, tokenRequest } from '../helpers.js'
import { parRequest } from '../par/helpers.js'

const MCP = 'https://mcp.example/mcp'
const OTHER = 'https://other.example/api'
const servers: ResourceServerOptions[] = [
  { resource: MCP, scopes: ['api:read', 'api:write'] },
  { resource: OTHER, scopes: ['api:read'] },
]

const payload = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>

describe('mcpProfile()', () => {
  it('returns the options the MCP authorization specification needs', () => {
    expect(mcpProfile({ servers })).toEqual({
      pkce: { required: 'all', allowPlain: false },
      requireResource: true,
      resourceServers: servers,
      clientIdMetadataDocuments: { enabled: true },
      registration: { enabled: false },
    })
    expect(mcpProfile({ servers, registration: true, clientIdMetadataDocuments: { allowedHosts: ['app.example'] } })).toMatchObject({
      registration: { enabled: true },
      clientIdMetadataDocuments: { enabled: true, allowedHosts: ['app.example'] },
    })
    expect(mcpProfile({ servers, registration: { initialAccessToken: 'x'.repeat(32) }, clientIdMetadataDocuments: false })).toMatchObject({
      registration: { enabled: true, initialAccessToken: 'x'.repeat(32) },
      clientIdMetadataDocuments: { enabled: false },
    })
  })

  it('refuses a profile without an MCP server (TypeError naming servers)', () => {
    expect(() => mcpProfile({ servers: [] })).toThrow(/mcpProfile: servers/)
    expect(() => mcpProfile({} as never)).toThrow(TypeError)
  })
})

describe('a server with the MCP profile', () => {
  const h0 = (extra: Parameters<typeof mcpProfile>[0] = { servers }): Harness => setup(mcpProfile(extra))
  const params = (extra: Record<string, string> = {}, resources = [MCP]): [string, string][] => {
    const { challenge } = pkce()
    return [...Object.entries(webParams({ code_challenge: challenge, code_challenge_method: 'S256', ...extra })), ...resources.map((r) => ['resource', r] as [string, string])]
  }

  it('advertises S256 only, client ID metadata documents, and registration only when asked (MCP authorization: discovery)', () => {
    const meta = (h: Harness) => json(h.server.metadata({ method: 'GET', url: new URL(`${ISSUER}/.well-known/oauth-authorization-server`), headers: {} }))
    const plain = meta(h0())
    expect(plain.code_challenge_methods_supported).toEqual(['S256'])
    expect(plain.client_id_metadata_document_supported).toBe(true)
    expect(plain.registration_endpoint).toBeUndefined()
    expect(meta(h0({ servers, registration: true })).registration_endpoint).toBe(`${ISSUER}/register`)
  })

  it('refuses an authorization request without resource with invalid_target at the redirect URI (RFC 8707 §2)', async () => {
    const res = await authorizeAs(h0(), new Browser(), params({}, []))
    const back = expectErrorRedirect(res, WEB_CB, 'invalid_target')
    expect(back.get('state')).toBe('st-1')
  })

  it('refuses a pushed authorization request without resource with 400 invalid_target (RFC 9126 §2.3)', async () => {
    const h = h0()
    const pushed = (pairs: [string, string][]) => h.server.handle(parRequest(pairs, WEB_AUTH))
    const refused = await pushed(params({}, []))
    expect(refused.status, refused.body).toBe(400)
    expect(json(refused).error).toBe('invalid_target')
    const accepted = await pushed(params())
    expect(accepted.status, accepted.body).toBe(201)
  })

  it('refuses a confidential client without PKCE, and PKCE plain (OAuth 2.1 §4.1.1)', async () => {
    const h = h0()
    const noPkce = params().filter(([n]) => n !== 'code_challenge' && n !== 'code_challenge_method')
    expectErrorRedirect(await authorizeAs(h, new Browser(), noPkce), WEB_CB, 'invalid_request')
    const plain = params({ code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' })
    expectErrorRedirect(await authorizeAs(h, new Browser(), plain), WEB_CB, 'invalid_request')
  })

  it('refuses a code redemption without resource with invalid_target, without consuming the code', async () => {
    const h = h0()
    const { verifier, challenge } = pkce()
    const code = redirect(await authorizeAs(h, new Browser(), params({ code_challenge: challenge, scope: 'api:read offline_access' }))).query.get('code')!
    expectTokenError(await redeem(h, { code, redirect_uri: WEB_CB, code_verifier: verifier }), 'invalid_target')

    const res = await redeem(h, { code, redirect_uri: WEB_CB, code_verifier: verifier, resource: MCP })
    expect(res.status, res.body).toBe(200)
    const body = json(res)
    expect(payload(body.access_token as string)).toMatchObject({ aud: [MCP], scope: 'api:read' })

    // The refresh token too: resource required, and only the authorized one.
    const refresh = (extra: Record<string, string>) => h.server.token(tokenRequest({ grant_type: 'refresh_token', refresh_token: body.refresh_token as string, ...extra }, WEB_AUTH))
    expectTokenError(await refresh({}), 'invalid_target')
    expectTokenError(await refresh({ resource: OTHER }), 'invalid_target')
    const again = await refresh({ resource: MCP })
    expect(again.status, again.body).toBe(200)
    expect(payload(json(again).access_token as string).aud).toEqual([MCP])
  })

  it('refuses client credentials without resource, and issues for the named one with it', async () => {
    const { server } = makeServer(mcpProfile({ servers }))
    const svc = { authorization: basic('svc', 'svc-secret') }
    expectTokenError(await server.token(tokenRequest({ grant_type: 'client_credentials', scope: 'api:read' }, svc)), 'invalid_target')
    const res = await server.token(tokenRequest({ grant_type: 'client_credentials', scope: 'api:read', resource: OTHER }, svc))
    expect(res.status, res.body).toBe(200)
    expect(payload(json(res).access_token as string).aud).toEqual([OTHER])
  })

  it('leaves servers without requireResource as they were: no resource, the default audience', async () => {
    const { server } = makeServer({ resourceServers: servers })
    const res = await server.token(tokenRequest({ grant_type: 'client_credentials', scope: 'api:read' }, { authorization: basic('svc', 'svc-secret') }))
    expect(res.status, res.body).toBe(200)
    expect(payload(json(res).access_token as string).aud).toBe(ISSUER)
  })
})
