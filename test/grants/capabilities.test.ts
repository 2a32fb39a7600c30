import { describe, expect, it } from 'vitest'
import { createMemoryStorage, defaultGrants, OAuthError, Scope, type GrantHandler, type Storage } from '../../src/index.js'
import { basic, ISSUER, json, makeServer, tokenRequest } from '../helpers.js'

const TARGETED = 'urn:example:targeted'

/** A grant that shows what it was given: every resource, and whether a nonce was fresh. */
const targeted: GrantHandler = {
  grantType: TARGETED,
  parameters: ['resource', 'nonce'],
  repeatable: ['resource'],
  clientAuth: 'required',
  async handle(ctx) {
    const nonce = ctx.params.get('nonce')
    if (nonce === undefined) throw new OAuthError('invalid_request', { description: 'nonce is required.' })
    if (!(await ctx.once('targeted', nonce, ctx.now() + 60))) throw new OAuthError('invalid_grant', { detail: 'nonce replayed' })
    const body = await ctx.tokens.issue({ sub: ctx.client.id, scope: ctx.scopes.resolve(ctx.params.get('scope')), audience: [...ctx.values('resource')] })
    return { ...body, resources: ctx.values('resource'), first: ctx.params.get('resource') }
  },
}

const client = { client_id: 'gw', client_secret: 'gw-secret', grant_types: [TARGETED], scope: 'api:read api:write' }
const auth = { authorization: basic('gw', 'gw-secret') }

describe('grant capabilities', () => {
  it('hands a grant every value of a parameter it declared repeatable (RFC 8707 resource)', async () => {
    const { server } = makeServer({ grants: [...defaultGrants, targeted], clients: [client] })
    const res = await server.token(tokenRequest(`grant_type=${encodeURIComponent(TARGETED)}&resource=https%3A%2F%2Fa.example&resource=https%3A%2F%2Fb.example&nonce=n1`, auth))
    expect(res.status).toBe(200)
    const body = json(res)
    expect(body.resources).toEqual(['https://a.example', 'https://b.example'])
    expect(body.first).toBe('https://a.example')
    const payload = JSON.parse(Buffer.from((body.access_token as string).split('.')[1]!, 'base64url').toString()) as { aud: unknown }
    expect(payload.aud).toEqual(['https://a.example', 'https://b.example'])
    // No resource asked: the configured audience, never an empty one.
    const plain = json(await server.token(tokenRequest(`grant_type=${encodeURIComponent(TARGETED)}&nonce=n2`, auth)))
    expect(JSON.parse(Buffer.from((plain.access_token as string).split('.')[1]!, 'base64url').toString()).aud).toBe(ISSUER)
  })

  it('still refuses a repeat of any parameter the grant did not declare repeatable (RFC 6749 §3.2)', async () => {
    const { server } = makeServer({ grants: [...defaultGrants, targeted], clients: [client] })
    const res = await server.token(tokenRequest(`grant_type=${encodeURIComponent(TARGETED)}&nonce=a&nonce=b`, auth))
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_request')
    const other = await server.token(tokenRequest(`grant_type=${encodeURIComponent(TARGETED)}&nonce=a&unknown=1&unknown=2`, auth))
    expect(json(other).error).toBe('invalid_request')
    const cc = makeServer().server
    // A built-in grant declares resource repeatable (RFC 8707) and nothing else.
    const repeatedScope = await cc.token(tokenRequest('grant_type=client_credentials&scope=api:read&scope=api:write', { authorization: basic('svc', 'svc-secret') }))
    expect(json(repeatedScope).error).toBe('invalid_request')
  })

  it('marks a key once per namespace through storage: the second use is refused', async () => {
    const { server } = makeServer({ grants: [...defaultGrants, targeted], clients: [client] })
    const body = `grant_type=${encodeURIComponent(TARGETED)}&nonce=same`
    expect((await server.token(tokenRequest(body, auth))).status).toBe(200)
    const again = await server.token(tokenRequest(body, auth))
    expect(json(again).error).toBe('invalid_grant')
  })

  it('checks what a grant requires at construction, naming the client', () => {
    const needsUsers: GrantHandler = { ...targeted, requires: ['users'] }
    expect(() => makeServer({ grants: [...defaultGrants.filter((g) => g.grantType !== TARGETED), needsUsers], clients: [client] })).toThrow(
      `users: required by the ${TARGETED} grant, which clients[0] ("gw") has`,
    )
    const needsStore: GrantHandler = { ...targeted, stores: ['deviceCodes'] }
    const { deviceCodes: _, ...rest } = createMemoryStorage()
    const grants = [...defaultGrants.filter((g) => !g.grantType.endsWith('device_code')), needsStore]
    expect(() => makeServer({ grants, clients: [client], storage: rest as unknown as Storage })).toThrow(`storage.deviceCodes: required by the ${TARGETED} grant`)
  })
})

describe('Scope', () => {
  it('parses once, drops repeats, answers membership and subsets, prints in first-seen order', () => {
    const s = Scope.parse('openid  api:read openid')
    expect(String(s)).toBe('openid api:read')
    expect(s.has('openid')).toBe(true)
    expect(s.size).toBe(2)
    expect(Scope.parse('api:read').isSubsetOf(s)).toBe(true)
    expect(Scope.parse('api:write').isSubsetOf(s)).toBe(false)
    expect(Scope.empty.isSubsetOf(s)).toBe(true)
    expect(String(s.filter((t) => t !== 'openid'))).toBe('api:read')
  })

  it('refuses characters RFC 6749 §3.3 forbids with invalid_scope', () => {
    expect(() => Scope.parse('bad"scope')).toThrow(OAuthError)
    expect(() => Scope.parse('a\\b')).toThrow(expect.objectContaining({ error: 'invalid_scope' }))
  })
})
