import { describe, expect, it } from 'vitest'
import { body, registerRequest, registrationServer } from './fixtures.js'

const SIGNER = { token_endpoint_auth_method: 'private_key_jwt', grant_types: ['client_credentials'], scope: 'api:read' }

describe('dynamic registration with jwks_uri (RFC 7591 §2, issue 15)', () => {
  it('registers a private_key_jwt client whose keys are at an https jwks_uri', async () => {
    const { server } = registrationServer()
    const res = await server.handle(registerRequest({ ...SIGNER, jwks_uri: 'https://signer.example/jwks.json' }))
    expect(res.status, res.body).toBe(201)
    expect(body(res)).toMatchObject({ jwks_uri: 'https://signer.example/jwks.json', token_endpoint_auth_method: 'private_key_jwt' })
    expect(body(res)).not.toHaveProperty('client_secret')
  })

  it('refuses jwks and jwks_uri together, a plain http one and a private address with invalid_client_metadata', async () => {
    const { server } = registrationServer()
    for (const metadata of [
      { ...SIGNER, jwks_uri: 'https://signer.example/jwks.json', jwks: { keys: [] } },
      { ...SIGNER, jwks_uri: 'http://signer.example/jwks.json' },
      { ...SIGNER, jwks_uri: 'https://169.254.169.254/latest/meta-data' },
    ]) {
      const res = await server.handle(registerRequest(metadata))
      expect(res.status, JSON.stringify(metadata)).toBe(400)
      expect(body(res).error).toBe('invalid_client_metadata')
    }
  })

  it('accepts a loopback jwks_uri for a stored client only with allowPrivateNetworkFetches', async () => {
    const loopback = { ...SIGNER, jwks_uri: 'http://127.0.0.1:9/jwks.json' }
    expect((await registrationServer().server.handle(registerRequest(loopback))).status).toBe(400)
    expect((await registrationServer({ enabled: true }, { allowPrivateNetworkFetches: true }).server.handle(registerRequest(loopback))).status).toBe(201)
  })
})
