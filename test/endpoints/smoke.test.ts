import { createLocalJWKSet, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { basic, json, makeServer, tokenRequest, ISSUER } from '../helpers.js'

describe('smoke', () => {
  it('issues a JWT access token that verifies against the JWKS', async () => {
    const { server, clock } = makeServer()
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials', scope: 'api:read' }, { authorization: basic('svc', 'svc-secret') }))
    expect(res.status).toBe(200)
    const body = json(res)
    const jwks = json(await server.handle({ method: 'GET', url: new URL(ISSUER + '/jwks'), headers: {} }))
    const { payload, protectedHeader } = await jwtVerify(body.access_token as string, createLocalJWKSet(jwks as never), { currentDate: new Date(clock.now() * 1000), issuer: ISSUER })
    expect(protectedHeader.typ).toBe('at+jwt')
    expect(payload.scope).toBe('api:read')
  })
})
