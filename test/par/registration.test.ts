import { describe, expect, it } from 'vitest'
import { body, registerRequest, registrationServer } from '../registration/fixtures.js'
import { clientKeys } from './helpers.js'

const WEB = { redirect_uris: ['https://app.example/cb'], client_name: 'App', scope: 'openid' }

describe('PAR and JAR client metadata through Dynamic Client Registration (RFC 7591 §2)', () => {
  it('registers the switches and the signing algorithm, and answers them back', async () => {
    const { server } = registrationServer()
    const { jwk } = await clientKeys()
    const res = await server.handle(
      registerRequest({ ...WEB, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] }, require_pushed_authorization_requests: true, require_signed_request_object: true, request_object_signing_alg: 'ES256' }),
    )
    expect(res.status, res.body).toBe(201)
    expect(body(res)).toMatchObject({ require_pushed_authorization_requests: true, require_signed_request_object: true, request_object_signing_alg: 'ES256' })
  })

  it('answers invalid_client_metadata for alg none or HMAC, a non-boolean switch, or signed request objects without keys', async () => {
    const { server } = registrationServer()
    for (const metadata of [
      { ...WEB, request_object_signing_alg: 'none' },
      { ...WEB, request_object_signing_alg: 'HS256' },
      { ...WEB, require_pushed_authorization_requests: 'true' },
      { ...WEB, require_signed_request_object: true },
    ]) {
      const res = await server.handle(registerRequest(metadata))
      expect(res.status, JSON.stringify(metadata)).toBe(400)
      expect(body(res).error, JSON.stringify(metadata)).toBe('invalid_client_metadata')
    }
  })
})
