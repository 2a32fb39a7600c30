import { describe, expect, it } from 'vitest'
import { defaultGrants, type Feature, defaultFeatures, type GrantHandler, type GrantkitEvent, StorageUnavailableError } from '../../src/index.js'
import { EventHub } from '../../src/events/events.js'
import { basic, clients, ISSUER, makeServer, tokenRequest } from '../helpers.js'

describe('events', () => {
  it('carry a timestamp in milliseconds from the server clock, and the request id', async () => {
    const { server, clock } = makeServer()
    clock.set(1_800_000_000.25)
    const events: GrantkitEvent[] = []
    server.on('token.issued', (e) => events.push(e))
    await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret'), 'x-request-id': 'rid-1' }))
    expect(events).toEqual([expect.objectContaining({ type: 'token.issued', clientId: 'svc', timestamp: 1_800_000_000_250, requestId: 'rid-1' })])
  })

  it('serialise a thrown error with its name and message, never {} and never its stack', async () => {
    const boom: Feature = {
      name: 'boom',
      endpoints: [{ name: 'boom', path: '/boom', methods: ['GET'], errors: 'json', handle: () => { throw new TypeError('wires crossed') } }],
    }
    const { server } = makeServer({ features: [...defaultFeatures, boom] })
    const events: GrantkitEvent[] = []
    server.on('server.error', (e) => events.push(e))
    const res = await server.handle({ method: 'GET', url: new URL(`${ISSUER}/boom`), headers: { 'x-request-id': 'rid-2' } })
    expect(res.status).toBe(500)
    const event = events[0]!
    // Listeners get the error itself.
    expect(event.type === 'server.error' && event.error).toBeInstanceOf(TypeError)
    const json = JSON.parse(JSON.stringify(event)) as Record<string, unknown>
    expect(json).toEqual({ type: 'server.error', endpoint: 'boom', error: { name: 'TypeError', message: 'wires crossed' }, timestamp: expect.any(Number), requestId: 'rid-2' })
    expect(JSON.stringify(event)).not.toContain('at ')
  })

  it('serialise a storage failure with its code', () => {
    const hub = new EventHub(() => 1)
    const seen: string[] = []
    hub.on('storage.unavailable', (e) => seen.push(JSON.stringify(e)))
    const cause = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
    hub.emit({ type: 'storage.unavailable', endpoint: 'token', error: Object.assign(new StorageUnavailableError('postgres: down', { cause }), { code: 'ECONNREFUSED' }) })
    expect(JSON.parse(seen[0]!)).toEqual({
      type: 'storage.unavailable',
      endpoint: 'token',
      error: { name: 'StorageUnavailableError', message: 'postgres: down', code: 'ECONNREFUSED' },
      timestamp: 1000,
    })
  })

  it('serialise a thrown non-error without dumping it', () => {
    const hub = new EventHub(() => 1)
    const seen: string[] = []
    hub.on('*', (e) => seen.push(JSON.stringify(e)))
    hub.emit({ type: 'server.error', endpoint: 'token', error: { password: 'hunter2' } }, 'rid')
    hub.emit({ type: 'server.error', endpoint: 'token', error: 'plain string' }, 'rid')
    expect(seen[0]).not.toContain('hunter2')
    expect(JSON.parse(seen[0]!).error).toEqual({ name: 'object', message: 'a thrown object, not an Error' })
    expect(JSON.parse(seen[1]!).error).toEqual({ name: 'string', message: 'plain string' })
  })

  it('are stamped by the hub: an event emitted outside a request has no request id', () => {
    const hub = new EventHub(() => 2)
    const seen: GrantkitEvent[] = []
    hub.on('token.revoked', (e) => seen.push(e))
    hub.emit({ type: 'token.revoked', clientId: 'svc' })
    expect(seen).toEqual([{ type: 'token.revoked', clientId: 'svc', timestamp: 2000, requestId: undefined }])
  })

  it("carry the request id when a grant of one's own emits through its context", async () => {
    const custom: GrantHandler = {
      grantType: 'urn:example:revoke-all',
      parameters: [],
      clientAuth: 'required',
      async handle(ctx) {
        ctx.events.emit({ type: 'token.revoked', clientId: ctx.client.id })
        return ctx.tokens.issue({ sub: ctx.client.id, scope: ctx.scopes.resolve(undefined) })
      },
    }
    const { server } = makeServer({ grants: [...defaultGrants, custom], clients: [{ ...clients[0]!, grant_types: ['urn:example:revoke-all'] }] })
    const events: GrantkitEvent[] = []
    server.on('*', (e) => events.push(e))
    await server.handle(tokenRequest({ grant_type: 'urn:example:revoke-all' }, { authorization: basic('svc', 'svc-secret'), 'x-request-id': 'rid-3' }))
    expect(events.map((e) => [e.type, e.requestId])).toEqual([
      ['token.revoked', 'rid-3'],
      ['token.issued', 'rid-3'],
    ])
  })
})
