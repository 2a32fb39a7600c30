import { describe, expect, it } from 'vitest'
import { checkStorage, createMemoryStorage, defaultGrants, DEVICE_CODE_GRANT, FEATURE_STORES, missingStores, requireStore, type Storage } from '../../src/index.js'
import { runStorageConformance } from '../../src/testing/storage-conformance.js'
import { alice, basic, fakeClock, json, makeServer, plainUsers, tokenRequest } from '../helpers.js'

/** A backend written before the device flow existed: every store but deviceCodes (and no shared keys). */
function withoutDeviceFlow(now: () => number): Storage {
  const { deviceCodes: _dropped, ...rest } = createMemoryStorage({ now })
  // Typed as Storage on purpose: this must compile without the device-flow group.
  const storage: Storage = rest
  return storage
}

describe('storage grouped by feature', () => {
  it('serves client_credentials, opaque tokens and introspection from a backend without device-flow stores', async () => {
    const clock = fakeClock()
    const storage = withoutDeviceFlow(clock.now)
    expect('deviceCodes' in storage).toBe(false)
    // The device flow is off with its grant: nothing then needs deviceCodes.
    const grants = defaultGrants.filter((g) => g.grantType !== DEVICE_CODE_GRANT)
    const { server } = makeServer({ storage, grants, accessTokenFormat: 'opaque' })
    const res = await server.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))
    expect(res.status).toBe(200)
    const token = json(res).access_token as string
    const intro = await server.introspect(tokenRequest({ token }, { authorization: basic('svc', 'svc-secret') }, '/introspect'))
    expect(json(intro)).toMatchObject({ active: true, client_id: 'svc' })
  })

  it('requireStore returns a store that is there', () => {
    const storage = createMemoryStorage()
    expect(requireStore(storage, 'deviceCodes', 'the device flow')).toBe(storage.deviceCodes)
  })

  it('requireStore names the missing store and the feature that needs it', () => {
    const storage = withoutDeviceFlow(fakeClock().now)
    expect(() => requireStore(storage, 'deviceCodes', 'the device flow')).toThrow(TypeError)
    expect(() => requireStore(storage, 'deviceCodes', 'the device flow')).toThrow(/storage\.deviceCodes.*the device flow/)
  })

  it('lists which stores each feature needs, and what a backend lacks for them', () => {
    expect(FEATURE_STORES.deviceFlow).toContain('deviceCodes')
    expect(FEATURE_STORES.core).toEqual(['accessTokens', 'refreshTokens', 'grants', 'replay'])
    const storage = withoutDeviceFlow(fakeClock().now)
    expect(missingStores(storage, ['core', 'authorization', 'throttling'])).toEqual([])
    expect(missingStores(storage, ['core', 'deviceFlow', 'sharedKeys'])).toEqual(['storage.deviceCodes', 'storage.keys'])
    expect(() => checkStorage(storage, ['core', 'authorization'])).not.toThrow()
    expect(() => checkStorage(storage, ['core', 'deviceFlow'])).toThrow(/storage\.deviceCodes: missing, and the device flow needs it/)
    expect(() => checkStorage(null as never, ['core'])).toThrow(/storage: must be an object/)
  })

  it('refuses at construction to run the device flow on such a backend, naming the missing store', () => {
    const clock = fakeClock()
    const storage = withoutDeviceFlow(clock.now)
    expect(() =>
      makeServer({
        storage,
        users: plainUsers(alice()),
        clients: [{ client_id: 'tv', token_endpoint_auth_method: 'none', grant_types: [DEVICE_CODE_GRANT], scope: 'openid' }],
      }),
    ).toThrow(/^storage\.deviceCodes: required by the urn:ietf:params:oauth:grant-type:device_code grant$/)
  })
})

// The conformance kit on a backend without the optional groups: the core groups pass, the device-flow and key tests skip.
runStorageConformance('memory without the optional groups', () => {
  const clock = fakeClock()
  return { storage: withoutDeviceFlow(clock.now), now: clock.now, advance: clock.advance }
})
