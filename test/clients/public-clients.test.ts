import { describe, expect, it } from 'vitest'
import { clientCredentials, createAuthorizationServer, defaultGrants } from '../../src/index.js'
import { body, ECHO_GRANT, echoGrant, expectAuthenticated, expectError, expectInvalidClient, ISSUER, setup, testClients, testKeys } from './fixtures.js'
import { contextOf } from '../../src/server.js'

const echo = { grant_type: ECHO_GRANT }

describe("token_endpoint_auth_method 'none' (RFC 6749 §2.1, §3.2.1)", () => {
  it('registers an embedder grant through the public grants option, next to the built-in ones', async () => {
    const h = await setup()
    expect(contextOf(h.server).grants.get(ECHO_GRANT)).toBe(echoGrant)
    expect(contextOf(h.server).grants.get('client_credentials')).toBe(clientCredentials)
  })

  it('identifies a public client by client_id alone at a grant that allows public clients', async () => {
    const h = await setup()
    expectAuthenticated(await h.token({ ...echo, client_id: 'pub' }), 'pub', 'none')
  })

  it('refuses a public client at client_credentials, which requires a confidential client (RFC 6749 §4.4)', async () => {
    const h = await setup()
    const res = await h.token({ grant_type: 'client_credentials', client_id: 'pub' })
    expectError(res, 'unauthorized_client')
    expect(body(res).access_token).toBeUndefined()
  })

  it('rejects a confidential client that sends only its client_id', async () => {
    const h = await setup()
    for (const client_id of ['svc', 'post', 'pkjwt', 'hmac']) {
      expectInvalidClient(await h.token({ ...echo, client_id }))
      expectInvalidClient(await h.token({ grant_type: 'client_credentials', client_id }))
    }
  })

  it('rejects an unknown client_id', async () => {
    const h = await setup()
    expectInvalidClient(await h.token({ ...echo, client_id: 'nobody' }))
  })

  it('rejects a request with no client identification at all', async () => {
    const h = await setup()
    expectInvalidClient(await h.token(echo))
    expectInvalidClient(await h.token({ grant_type: 'client_credentials' }))
  })

  it('rejects a public client that sends a secret', async () => {
    const h = await setup()
    expectInvalidClient(await h.token({ ...echo, client_id: 'pub', client_secret: 'anything' }))
  })

  it('ignores an Authorization header of another scheme', async () => {
    const h = await setup()
    expectAuthenticated(await h.token({ ...echo, client_id: 'pub' }, { authorization: 'Bearer abc' }), 'pub', 'none')
    expectInvalidClient(await h.token(echo, { authorization: 'Bearer abc' }))
  })

  it('refuses to start when a client names a grant the server does not have', async () => {
    const keys = await testKeys()
    expect(() => createAuthorizationServer({ issuer: ISSUER, clients: testClients(keys), grants: defaultGrants })).toThrow(TypeError)
    expect(() => createAuthorizationServer({ issuer: ISSUER, clients: testClients(keys), grants: defaultGrants })).toThrow(/grant_types/)
  })
})
