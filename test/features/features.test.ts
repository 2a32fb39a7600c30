import { describe, expect, it } from 'vitest'
import {
  createMemoryStorage,
  defaultFeatures,
  defaultGrants,
  OAuthError,
  StorageUnavailableError,
  type Feature,
  type Storage,
} from '../../src/index.js'
import { basic, ISSUER, json, makeServer, tokenRequest } from '../helpers.js'

const get = (path: string, method = 'GET') => ({ method, url: new URL(ISSUER + path), headers: {} })

const status: Feature = {
  name: 'status',
  endpoints: [
    {
      name: 'status',
      path: '/status',
      methods: ['GET'],
      errors: 'json',
      handle: (ctx) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ issuer: ctx.issuer, at: ctx.now() }) }),
    },
    {
      name: 'broken',
      path: '/broken',
      methods: ['GET'],
      errors: 'json',
      handle: () => {
        throw new OAuthError('invalid_request', { description: 'Refused on purpose.' })
      },
    },
  ],
  discovery: (ctx) => ({ status_endpoint: ctx.endpoints.status }),
}

describe('features as units', () => {
  it('routes an embedder endpoint registered beside the built-in ones, and discovery lists it', async () => {
    const { server, clock } = makeServer({ features: [...defaultFeatures, status] })
    const res = await server.handle(get('/status'))
    expect(res.status).toBe(200)
    expect(json(res)).toEqual({ issuer: ISSUER, at: clock.now() })
    expect(server.routes('/status')).toBe(true)
    const meta = json(await server.handle(get('/.well-known/oauth-authorization-server')))
    expect(meta.status_endpoint).toBe(`${ISSUER}/status`)
    expect(meta.token_endpoint).toBe(`${ISSUER}/token`)
    expect(typeof server.endpoint('status')).toBe('function')
  })

  it('answers a method the endpoint does not declare with 405 and Allow, without running it', async () => {
    const { server } = makeServer({ features: [...defaultFeatures, status] })
    const res = await server.handle(get('/status', 'DELETE'))
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('GET')
  })

  it('turns what an endpoint throws into the RFC 6749 §5.2 body through the one failure path', async () => {
    const { server } = makeServer({ features: [...defaultFeatures, status] })
    const res = await server.handle(get('/broken'))
    expect(res.status).toBe(400)
    expect(json(res)).toEqual({ error: 'invalid_request', error_description: 'Refused on purpose.' })
  })

  it('moves an embedder endpoint with the paths option, like a built-in one', async () => {
    const { server } = makeServer({ features: [...defaultFeatures, status], paths: { status: '/health/status' } })
    expect((await server.handle(get('/health/status'))).status).toBe(200)
    expect((await server.handle(get('/status'))).status).toBe(404)
  })

  it('serves nothing of a feature that is left out, and does not advertise it', async () => {
    const withoutIntrospection = defaultFeatures.filter((f) => f.name !== 'introspection')
    const { server } = makeServer({ features: withoutIntrospection })
    const res = await server.handle(tokenRequest({ token: 'x' }, { authorization: basic('svc', 'svc-secret') }, '/introspect'))
    expect(res.status).toBe(404)
    const meta = json(server.metadata(get('/.well-known/oauth-authorization-server')))
    expect(meta.introspection_endpoint).toBeUndefined()
    expect(meta.revocation_endpoint).toBe(`${ISSUER}/revoke`)
  })

  it('switches the device flow off with its grant: no endpoints, nothing in discovery', async () => {
    const grants = defaultGrants.filter((g) => g.grantType !== 'urn:ietf:params:oauth:grant-type:device_code')
    const { server } = makeServer({ grants })
    expect(server.routes('/device_authorization')).toBe(false)
    expect(server.routes('/device')).toBe(false)
    expect((await server.deviceAuthorization(tokenRequest({ client_id: 'svc' }, {}, '/device_authorization'))).status).toBe(404)
    const meta = json(server.metadata(get('/.well-known/openid-configuration')))
    expect(meta.device_authorization_endpoint).toBeUndefined()
    expect(meta.grant_types_supported).not.toContain('urn:ietf:params:oauth:grant-type:device_code')
  })

  it('runs without the device-flow store when the device flow is off', async () => {
    const full = createMemoryStorage()
    const { deviceCodes: _, ...rest } = full
    const grants = defaultGrants.filter((g) => g.grantType !== 'urn:ietf:params:oauth:grant-type:device_code')
    const { server } = makeServer({ grants, storage: rest as unknown as Storage })
    const res = await server.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))
    expect(res.status).toBe(200)
  })

  it('refuses at construction a store that an enabled feature needs, naming store and feature', () => {
    const full = createMemoryStorage()
    const { deviceCodes: _, ...rest } = full
    const grants = defaultGrants.filter((g) => g.grantType !== 'urn:ietf:params:oauth:grant-type:device_code')
    const needsDevices: Feature = { name: 'needs-devices', stores: ['deviceCodes'] }
    expect(() => makeServer({ grants, storage: rest as unknown as Storage, features: [...defaultFeatures, needsDevices] })).toThrow(
      'storage.deviceCodes: required by the needs-devices feature',
    )
    // With the device grant registered, the grant names what it needs first.
    expect(() => makeServer({ storage: rest as unknown as Storage })).toThrow(/^storage\.deviceCodes: required by the urn:ietf:params:oauth:grant-type:device_code grant$/)
  })

  it('refuses features that clash: a name twice, an endpoint name twice, a path taken', () => {
    expect(() => makeServer({ features: [...defaultFeatures, { ...status }, { ...status }] })).toThrow(/features\[\d+\]\.name: "status" is registered twice/)
    const clash: Feature = { name: 'clash', endpoints: [{ ...status.endpoints![0]!, path: '/other' , name: 'token' }] }
    expect(() => makeServer({ features: [...defaultFeatures, clash] })).toThrow(/endpoint "token" is registered twice/)
    expect(() => makeServer({ features: [...defaultFeatures, status], paths: { status: '/token' } })).toThrow(/paths\.status: "\/token" is already the path/)
    const bad: Feature = { name: 'bad', endpoints: [{ ...status.endpoints![0]!, name: 'bad', errors: 'xml' as never }] }
    expect(() => makeServer({ features: [bad] })).toThrow(/features\[0\]\.endpoints\[0\]\.errors/)
  })

  it('refuses a paths entry for an endpoint nobody registered', () => {
    expect(() => makeServer({ paths: { nothing: '/x' } })).toThrow(/paths\.nothing: unknown endpoint/)
  })
})

describe('one failure path', () => {
  it('answers a storage outage on a page endpoint with a 503 page carrying Retry-After', async () => {
    const storage = createMemoryStorage()
    const failing: Storage = {
      ...storage,
      interactions: { ...storage.interactions, save: async () => { throw new StorageUnavailableError('down') } },
    }
    const { server } = makeServer({
      storage: failing,
      clients: [{ client_id: 'web', client_secret: 'web-secret', redirect_uris: ['https://app.example/cb'], grant_types: ['authorization_code'], scope: 'openid' }],
      interaction: { url: (uid) => `https://ui.example/${uid}` },
    })
    const res = await server.authorize(get('/authorize?client_id=web&response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid&code_challenge=' + 'a'.repeat(43) + '&code_challenge_method=S256'))
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(res.headers['content-type']).toMatch(/text\/html/)
    expect(res.body).toContain('temporarily_unavailable')
  })

  it('never redirects an error before the redirect_uri is validated', async () => {
    const { server } = makeServer({
      clients: [{ client_id: 'web', client_secret: 'web-secret', redirect_uris: ['https://app.example/cb'], grant_types: ['authorization_code'], scope: 'openid' }],
      interaction: { url: (uid) => `https://ui.example/${uid}` },
    })
    const res = await server.authorize(get('/authorize?client_id=web&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=bogus'))
    expect(res.status).toBe(400)
    expect(res.headers.location).toBeUndefined()
    expect(res.body).toContain('invalid_request')
    const redirected = await server.authorize(get('/authorize?client_id=web&response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=bogus'))
    expect(redirected.status).toBe(303)
    expect(new URL(redirected.headers.location as string).searchParams.get('error')).toBe('invalid_scope')
  })
})

describe('options owned by features', () => {
  it('lists in each built-in feature exactly the schema options that name it as their owner', async () => {
    const { optionSchema } = await import('../../src/config/schema.js')
    const owned = new Map<string, string[]>()
    const walk = (entries: Record<string, { feature: string; members?: Record<string, never> }>, prefix: string) => {
      for (const [name, entry] of Object.entries(entries)) {
        const path = prefix + name
        // Endpoint paths come from the endpoints themselves.
        if (!path.startsWith('paths')) owned.set(entry.feature, [...(owned.get(entry.feature) ?? []), path])
        if (entry.members !== undefined) walk(entry.members, path + '.')
      }
    }
    walk(optionSchema as never, '')
    for (const feature of defaultFeatures) {
      if (!owned.has(feature.name) && feature.options === undefined) continue
      expect([...(feature.options ?? [])].sort(), feature.name).toEqual((owned.get(feature.name) ?? []).sort())
    }
  })
})
