import { describe, expect, it } from 'vitest'
import type { GrantkitEvent } from '../../src/index.js'
import { basic, ISSUER, makeServer, tokenRequest } from '../helpers.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('request ids', () => {
  it('echoes a sane X-Request-Id on the response', async () => {
    const { server } = makeServer()
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret'), 'x-request-id': 'edge-7f3a:42/b' }))
    expect(res.status).toBe(200)
    expect(res.headers['x-request-id']).toBe('edge-7f3a:42/b')
  })

  it('generates a fresh id for every request without one, on success and on failure', async () => {
    const { server } = makeServer()
    const ok = await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))
    const refused = await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'wrong') }))
    expect(refused.status).toBe(401)
    expect(ok.headers['x-request-id']).toMatch(UUID)
    expect(refused.headers['x-request-id']).toMatch(UUID)
    expect(ok.headers['x-request-id']).not.toBe(refused.headers['x-request-id'])
  })

  it.each([
    ['with a space', 'a b'],
    ['two joined headers', 'first, second'],
    ['with a control character', 'abc\u0007def'],
    ['non-ASCII', 'id-ü'],
    ['longer than 128 characters', 'x'.repeat(129)],
    ['empty', ''],
  ])('replaces an X-Request-Id %s with a generated one', async (_what, header) => {
    const { server } = makeServer()
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret'), 'x-request-id': header }))
    expect(res.headers['x-request-id']).toMatch(UUID)
  })

  it("keeps the embedder's own id when the request already has one, over the header", async () => {
    const { server } = makeServer()
    const res = await server.handle({ ...tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret'), 'x-request-id': 'from-header' }), requestId: 'from-app' })
    expect(res.headers['x-request-id']).toBe('from-app')
    const insane = await server.handle({ ...tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }), requestId: 'no spaces please' })
    expect(insane.headers['x-request-id']).toMatch(UUID)
  })

  it('keeps an id of exactly 128 printable characters', async () => {
    const { server } = makeServer()
    const id = '!~'.repeat(64)
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret'), 'x-request-id': id }))
    expect(res.headers['x-request-id']).toBe(id)
  })

  it('is given by server.endpoint(name) too, to synchronous endpoints and to 405 answers', async () => {
    const { server } = makeServer()
    const jwks = server.endpoint('jwks')!({ method: 'GET', url: new URL(`${ISSUER}/jwks`), headers: { 'x-request-id': 'direct-1' } })
    expect(jwks).not.toBeInstanceOf(Promise)
    expect((jwks as { headers: Record<string, string> }).headers['x-request-id']).toBe('direct-1')
    const wrongMethod = await server.handle({ method: 'GET', url: new URL(`${ISSUER}/token`), headers: {} })
    expect(wrongMethod.status).toBe(405)
    expect(wrongMethod.headers['x-request-id']).toMatch(UUID)
  })

  it('tags the events of the request with the id its response carries', async () => {
    const { server } = makeServer()
    const events: GrantkitEvent[] = []
    server.on('*', (e) => events.push(e))
    const ok = await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))
    const refused = await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('post', 'post-secret') }))
    expect(events.map((e) => [e.type, e.requestId])).toEqual([
      ['token.issued', ok.headers['x-request-id']],
      ['client.authentication.failed', refused.headers['x-request-id']],
      ['token.error', refused.headers['x-request-id']],
    ])
  })

  it('lets a browser client read it, and send one, across origins', async () => {
    const { server } = makeServer({ clients: [{ client_id: 'spa', token_endpoint_auth_method: 'none', grant_types: ['client_credentials'], allowed_origins: ['https://app.example'] }] })
    const res = await server.handle({ ...tokenRequest({ grant_type: 'client_credentials', client_id: 'spa' }), headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://app.example' } })
    expect(String(res.headers['access-control-expose-headers']).split(', ')).toContain('x-request-id')
    const preflight = await server.handle({
      method: 'OPTIONS',
      url: new URL(`${ISSUER}/token`),
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-request-id' },
    })
    expect(preflight.status).toBe(204)
    expect(String(preflight.headers['access-control-allow-headers']).split(', ')).toContain('x-request-id')
  })
})
