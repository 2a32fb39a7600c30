import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { serve } from '@hono/node-server'
import express from 'express'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { protect as protectExpress, resourceMetadata as expressMetadata } from '../../adapters/protect-express.js'
import { protect as protectHono, resourceMetadata as honoMetadata } from '../../adapters/protect-hono.js'
import { protect as protectNode, resourceMetadata as nodeMetadata } from '../../adapters/protect-node.js'
import { createResourceProtector, protectedResourceMetadataUrl, type GrantkitRequest } from '../../src/index.js'
import { basic, ISSUER, json, tokenRequest } from '../helpers.js'
import { challenge, issue, listen, makeAs, withHeader } from './fixtures.js'

const MCP = 'https://api.example/mcp'
const OTHER = 'https://other.example'
const WELL_KNOWN = 'https://api.example/.well-known/oauth-protected-resource/mcp'
const resourceServers = [
  { resource: MCP, scopes: ['api:read', 'api:write'] },
  { resource: OTHER, scopes: ['api:read'] },
]

async function tokenFor(server: ReturnType<typeof makeAs>['server'], resource: string, scope = 'api:read'): Promise<string> {
  const res = await server.handle(tokenRequest({ grant_type: 'client_credentials', scope, resource }, { authorization: basic('svc', 'svc-secret') }))
  expect(res.status, res.body).toBe(200)
  return json(res).access_token as string
}

const get = (path: string, method = 'GET'): GrantkitRequest => ({ method, url: new URL(`https://api.example${path}`), headers: {} })

describe('protected resource metadata URL (RFC 9728 §3.1)', () => {
  it.each([
    ['https://api.example', 'https://api.example/.well-known/oauth-protected-resource'],
    ['https://api.example/', 'https://api.example/.well-known/oauth-protected-resource'],
    ['https://api.example/v1/mcp', 'https://api.example/.well-known/oauth-protected-resource/v1/mcp'],
    ['https://api.example/v1/mcp/', 'https://api.example/.well-known/oauth-protected-resource/v1/mcp'],
    ['https://api.example:8443/x?tenant=1', 'https://api.example:8443/.well-known/oauth-protected-resource/x?tenant=1'],
  ])('%s → %s', (resource, url) => {
    expect(protectedResourceMetadataUrl(resource)).toBe(url)
  })
})

describe('resource protector with resource (RFC 9728, RFC 8707)', () => {
  it('serves the metadata document at its well-known path, GET and HEAD, readable from any origin', () => {
    const { server } = makeAs({ resourceServers })
    const protector = createResourceProtector({ server, resource: MCP, metadata: { resourceName: 'MCP server' } })
    expect(protector.resourceMetadataUrl).toBe(WELL_KNOWN)
    const res = protector.handleMetadata(get('/.well-known/oauth-protected-resource/mcp'))!
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json')
    expect(res.headers['access-control-allow-origin']).toBe('*')
    expect(json(res)).toEqual({
      resource: MCP,
      authorization_servers: [ISSUER],
      scopes_supported: ['api:read', 'api:write'],
      bearer_methods_supported: ['header'],
      resource_name: 'MCP server',
    })
    expect(protector.resourceMetadata).toEqual(json(res))
    const head = protector.handleMetadata(get('/.well-known/oauth-protected-resource/mcp', 'HEAD'))!
    expect(head.status).toBe(200)
    expect(head.body).toBeUndefined()
    expect(protector.handleMetadata(get('/.well-known/oauth-protected-resource/mcp', 'POST'))!.status).toBe(405)
    // Other paths fall through, including the root document of another resource of the host.
    expect(protector.handleMetadata(get('/.well-known/oauth-protected-resource'))).toBeUndefined()
    expect(protector.handleMetadata(get('/mcp'))).toBeUndefined()
  })

  it('lists the bearer methods it accepts, and takes metadata overrides', () => {
    const { server } = makeAs({ resourceServers })
    const protector = createResourceProtector({
      server,
      resource: MCP,
      allowBodyToken: true,
      allowQueryToken: true,
      metadata: { scopesSupported: ['api:read'], authorizationServers: ['https://as.example', 'https://as2.example'], extra: { dpop_bound_access_tokens_required: false } },
    })
    expect(protector.resourceMetadata).toMatchObject({
      bearer_methods_supported: ['header', 'body', 'query'],
      scopes_supported: ['api:read'],
      authorization_servers: ['https://as.example', 'https://as2.example'],
      dpop_bound_access_tokens_required: false,
    })
  })

  it('points every challenge at the metadata (RFC 9728 §5.1)', async () => {
    const { server } = makeAs({ resourceServers })
    const protector = createResourceProtector({ server, resource: MCP })
    const none = await protector.check(withHeader(undefined))
    expect(none.ok).toBe(false)
    if (none.ok) return
    expect(none.response.status).toBe(401)
    // With resource named, the API also takes DPoP (its origin is the resource's): RFC 9449 §7.1 offers both schemes.
    expect(challenge(none.response)).toMatch(new RegExp(`^Bearer realm="${MCP}", resource_metadata="${WELL_KNOWN}", DPoP realm="${MCP}", resource_metadata="${WELL_KNOWN}", algs="[^"]+"$`))
    const bad = await protector.check(withHeader('nope'))
    if (bad.ok) throw new Error('accepted')
    expect(challenge(bad.response)).toContain(`error="invalid_token"`)
    expect(challenge(bad.response)).toContain(`resource_metadata="${WELL_KNOWN}"`)
    // A failure under the DPoP scheme (RFC 9449 §7.1) points at the metadata too.
    const badDpop = await protector.check(withHeader(undefined, { headers: { authorization: 'DPoP nope' } }))
    if (badDpop.ok) throw new Error('accepted')
    expect(challenge(badDpop.response)).toMatch(new RegExp(`^DPoP realm="${MCP}", error="invalid_token", error_description="[^"]+", resource_metadata="${WELL_KNOWN}", algs="[^"]+"$`))
    const scoped = await protector.check(withHeader(await tokenFor(server, MCP)), ['api:write'])
    if (scoped.ok) throw new Error('accepted')
    expect(scoped.response.status).toBe(403)
    expect(challenge(scoped.response)).toContain(`resource_metadata="${WELL_KNOWN}"`)
  })

  it('accepts a token for this resource and refuses one for another resource, or one without resource, as invalid_token', async () => {
    const { server } = makeAs({ resourceServers })
    const protector = createResourceProtector({ server, resource: MCP })
    const ok = await protector.check(withHeader(await tokenFor(server, MCP)), ['api:read'])
    expect(ok.ok).toBe(true)
    for (const token of [await tokenFor(server, OTHER), await issue(server)]) {
      const res = await protector.check(withHeader(token))
      if (res.ok) throw new Error('accepted a token for another audience')
      expect(res.response.status).toBe(401)
      expect(challenge(res.response)).toContain('error="invalid_token"')
    }
  })

  it('checks the audience by default in server mode: a token issued for a particular resource is refused by a protector that is not it', async () => {
    const { server } = makeAs({ resourceServers })
    const protector = createResourceProtector({ server })
    expect((await protector.check(withHeader(await issue(server)))).ok).toBe(true)
    expect((await protector.check(withHeader(await tokenFor(server, MCP)))).ok).toBe(false)
    expect(protector.handleMetadata(get('/.well-known/oauth-protected-resource'))).toBeUndefined()
  })

  it('refuses bad resource options at construction, naming the field', () => {
    const { server } = makeAs({ resourceServers })
    expect(() => createResourceProtector({ server, resource: 'https://unknown.example' })).toThrow(/^resource: .*not one of the server's resourceServers/)
    expect(() => createResourceProtector({ server, resource: 'http://api.example/mcp' })).toThrow(/^resource: must be https/)
    expect(() => createResourceProtector({ server, resource: `${MCP}#x` })).toThrow(/^resource: must not have a fragment/)
    expect(() => createResourceProtector({ server, metadata: { resourceName: 'x' } })).toThrow(/^metadata: needs resource/)
    expect(() => createResourceProtector({ server, resource: MCP, metadata: { extra: { resource: 'https://evil.example' } } })).toThrow(/^metadata\.extra\.resource/)
    expect(() => createResourceProtector({ server, resource: MCP, metadata: { scopesSupported: 'api:read' as never } })).toThrow(/^metadata\.scopesSupported/)
  })

  it('works with a remote JWKS authorization server: authorization_servers is its issuer', () => {
    const protector = createResourceProtector({ jwks: { issuer: 'https://as.example', jwksUri: 'https://as.example/jwks' }, resource: 'https://api.example' })
    expect(protector.resourceMetadata).toEqual({ resource: 'https://api.example', authorization_servers: ['https://as.example'], bearer_methods_supported: ['header'] })
    expect(protector.resourceMetadataUrl).toBe('https://api.example/.well-known/oauth-protected-resource')
  })
})

describe('resource metadata through the adapters', () => {
  async function listenServer(server: Server): Promise<{ origin: string; close: () => Promise<void> }> {
    if (!server.listening) await once(server, 'listening')
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    return { origin, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }) }
  }

  const apps = {
    async node(protector: ReturnType<typeof createResourceProtector>) {
      const metadata = nodeMetadata(protector)
      const guard = protectNode(protector)
      return listen(async (req, res) => {
        if (metadata(req, res)) return
        if ((await guard(req, res)) !== undefined) res.end('ok')
      })
    },
    async express(protector: ReturnType<typeof createResourceProtector>) {
      const app = express()
      app.use(expressMetadata(protector))
      app.get('/mcp', protectExpress(protector), (_req, res) => void res.send('ok'))
      return listenServer(app.listen(0, '127.0.0.1'))
    },
    async hono(protector: ReturnType<typeof createResourceProtector>) {
      const app = new Hono()
      app.use(honoMetadata(protector))
      app.get('/mcp', protectHono(protector), (c) => c.text('ok'))
      return listenServer(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server)
    },
  }

  it.each(['node', 'express', 'hono'] as const)('%s: serves the document and challenges with resource_metadata', async (name) => {
    const { server } = makeAs({ resourceServers })
    const protector = createResourceProtector({ server, resource: MCP })
    const app = await apps[name](protector)
    try {
      const doc = await fetch(`${app.origin}/.well-known/oauth-protected-resource/mcp`)
      expect(doc.status).toBe(200)
      expect(((await doc.json()) as { resource: string }).resource).toBe(MCP)
      const denied = await fetch(`${app.origin}/mcp`)
      expect(denied.status).toBe(401)
      expect(denied.headers.get('www-authenticate')).toContain(`resource_metadata="${WELL_KNOWN}"`)
      const allowed = await fetch(`${app.origin}/mcp`, { headers: { authorization: `Bearer ${await tokenFor(server, MCP)}` } })
      expect(allowed.status).toBe(200)
    } finally {
      await app.close()
    }
  })

  it('refuses to build a metadata handler for a protector without resource', () => {
    const { server } = makeAs()
    const protector = createResourceProtector({ server })
    expect(() => nodeMetadata(protector)).toThrow(TypeError)
    expect(() => expressMetadata(protector)).toThrow(TypeError)
    expect(() => honoMetadata(protector)).toThrow(TypeError)
  })
})
