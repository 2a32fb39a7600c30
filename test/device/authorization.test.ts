import { describe, expect, it } from 'vitest'
import { hashToken } from '../../src/index.js'
import { basic, json } from '../helpers.js'
import { authorizeDevice, deviceServer, expectError, form, ISSUER } from './flow.js'

describe('device authorization endpoint (RFC 8628 §3.1, §3.2)', () => {
  it('answers with a device code of at least 256 bits, a consonant user code, both verification URIs, expires_in and interval', async () => {
    const { server } = deviceServer()
    const res = await server.handle(form('/device_authorization', { client_id: 'tv', scope: 'api:read' }))
    expect(res.status).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    const body = json(res)
    expect(Object.keys(body).sort()).toEqual(['device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete'])
    expect(body.device_code).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(Buffer.from(body.device_code as string, 'base64url').length * 8).toBeGreaterThanOrEqual(256)
    expect(body.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
    expect(body.verification_uri).toBe(`${ISSUER}/device`)
    const complete = new URL(body.verification_uri_complete as string)
    expect(complete.origin + complete.pathname).toBe(`${ISSUER}/device`)
    expect(complete.searchParams.get('user_code')).toBe(body.user_code)
    expect(body.expires_in).toBe(600)
    expect(body.interval).toBe(5)
  })

  it('uses the configured interval and device code lifetime', async () => {
    const { server } = deviceServer({ deviceFlow: { interval: 9 }, ttl: { deviceCode: 120 } })
    const body = await authorizeDevice(server)
    expect(body.interval).toBe(9)
    expect(body.expires_in).toBe(120)
  })

  it('gives every request its own device code and user code', async () => {
    const { server } = deviceServer()
    const a = await authorizeDevice(server)
    const b = await authorizeDevice(server)
    expect(a.device_code).not.toBe(b.device_code)
    expect(a.user_code).not.toBe(b.user_code)
  })

  it('stores the device code and the user code only as hashes', async () => {
    const { server, saved } = deviceServer()
    const body = await authorizeDevice(server)
    expect(saved).toHaveLength(1)
    const record = saved[0]!
    expect(record.deviceCodeHash).toBe(hashToken(body.device_code))
    expect(record.userCodeHash).toBe(hashToken(body.user_code.replace('-', '')))
    const stored = JSON.stringify(record)
    expect(stored).not.toContain(body.device_code)
    expect(stored).not.toContain(body.user_code)
    expect(stored).not.toContain(body.user_code.replace('-', ''))
    expect(record).toMatchObject({ clientId: 'tv', status: 'pending', interval: 5 })
  })

  it('is advertised in discovery as device_authorization_endpoint', async () => {
    const { server } = deviceServer()
    const res = await server.handle({ method: 'GET', url: new URL(ISSUER + '/.well-known/oauth-authorization-server'), headers: {} })
    const metadata = json(res)
    expect(metadata.device_authorization_endpoint).toBe(`${ISSUER}/device_authorization`)
    expect(metadata.grant_types_supported).toContain('urn:ietf:params:oauth:grant-type:device_code')
  })

  it('refuses a client not registered for the device grant with unauthorized_client', async () => {
    const { server } = deviceServer()
    const res = await server.handle(form('/device_authorization', {}, { authorization: basic('svc', 'svc-secret') }))
    expectError(res, 'unauthorized_client')
  })

  it('refuses a request without client identification with invalid_client (401)', async () => {
    const { server } = deviceServer()
    expectError(await server.handle(form('/device_authorization', {})), 'invalid_client', 401)
    expectError(await server.handle(form('/device_authorization', { client_id: 'nobody' })), 'invalid_client', 401)
  })

  it('refuses a scope beyond the client registration with invalid_scope', async () => {
    const { server } = deviceServer()
    expectError(await server.handle(form('/device_authorization', { client_id: 'console', scope: 'api:read api:write' })), 'invalid_scope')
  })

  it('answers GET with 405', async () => {
    const { server } = deviceServer()
    const res = await server.handle({ method: 'GET', url: new URL(ISSUER + '/device_authorization?client_id=tv'), headers: {} })
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('POST')
  })
})
