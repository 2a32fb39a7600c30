import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { json } from '../helpers.js'
import { authorizeDevice, Browser, DEVICE_CODE_GRANT, deviceServer, expectError, form, poll } from '../device/flow.js'

describe('device_code grant (RFC 8628 §3.4, §3.5)', () => {
  it('answers authorization_pending while the person has not answered', async () => {
    const { server, clock } = deviceServer()
    const { device_code } = await authorizeDevice(server)
    expectError(await poll(server, device_code), 'authorization_pending')
    clock.advance(5)
    expectError(await poll(server, device_code), 'authorization_pending')
  })

  it('answers slow_down to a poll faster than the interval, and adds 5 seconds to the interval each time', async () => {
    const { server, clock } = deviceServer()
    const { device_code, interval } = await authorizeDevice(server)
    expect(interval).toBe(5)
    expectError(await poll(server, device_code), 'authorization_pending')
    clock.advance(1)
    const fast = await poll(server, device_code)
    expectError(fast, 'slow_down')
    expect(json(fast).error_description).toContain('10 seconds')
    // Waiting the old interval is no longer enough: the interval is now 10.
    clock.advance(6)
    const again = await poll(server, device_code)
    expectError(again, 'slow_down')
    expect(json(again).error_description).toContain('15 seconds')
    // Waiting the grown interval is.
    clock.advance(15)
    expectError(await poll(server, device_code), 'authorization_pending')
  })

  it('does not answer slow_down to a poll exactly one interval after the last', async () => {
    const { server, clock } = deviceServer()
    const { device_code } = await authorizeDevice(server)
    await poll(server, device_code)
    clock.advance(5)
    expectError(await poll(server, device_code), 'authorization_pending')
  })

  it('issues tokens exactly once after approval; a second poll is invalid_grant', async () => {
    const { server, clock } = deviceServer()
    const { device_code, user_code } = await authorizeDevice(server, 'tv', 'openid offline_access api:read')
    await new Browser(server).answer(user_code)
    const res = await poll(server, device_code)
    expect(res.status).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    const body = json(res)
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'openid offline_access api:read' })
    const access = decodeJwt(body.access_token as string)
    expect(access).toMatchObject({ sub: 'alice-sub', client_id: 'tv', scope: 'openid offline_access api:read' })
    expect(typeof access.auth_time).toBe('number')
    expect(decodeJwt(body.id_token as string)).toMatchObject({ sub: 'alice-sub', aud: 'tv' })
    clock.advance(5)
    expectError(await poll(server, device_code), 'invalid_grant')
  })

  it('issues a refresh token that works at the token endpoint', async () => {
    const { server } = deviceServer()
    const { device_code, user_code } = await authorizeDevice(server, 'tv', 'openid offline_access api:read')
    await new Browser(server).answer(user_code)
    const { refresh_token } = json(await poll(server, device_code))
    const res = await server.handle(form('/token', { grant_type: 'refresh_token', refresh_token: refresh_token as string, client_id: 'tv' }))
    expect(res.status).toBe(200)
    expect(decodeJwt(json(res).access_token as string).sub).toBe('alice-sub')
  })

  it('issues no refresh token to a client not registered for the refresh_token grant', async () => {
    const { server } = deviceServer()
    const { device_code, user_code } = await authorizeDevice(server, 'console')
    await new Browser(server).answer(user_code)
    const body = json(await poll(server, device_code, 'console'))
    expect(body.access_token).toBeDefined()
    expect(body.refresh_token).toBeUndefined()
  })

  it('answers access_denied after the person chose Deny, on every later poll', async () => {
    const { server, clock } = deviceServer()
    const { device_code, user_code } = await authorizeDevice(server)
    await new Browser(server).answer(user_code, 'deny')
    expectError(await poll(server, device_code), 'access_denied')
    clock.advance(5)
    expectError(await poll(server, device_code), 'access_denied')
  })

  it('answers expired_token once the device code has expired, approved or not', async () => {
    const { server, clock } = deviceServer()
    const pending = await authorizeDevice(server)
    const approved = await authorizeDevice(server)
    await new Browser(server).answer(approved.user_code)
    clock.advance(600)
    expectError(await poll(server, pending.device_code), 'expired_token')
    expectError(await poll(server, approved.device_code), 'expired_token')
  })

  it("answers invalid_grant to another client polling with the device code, and the rightful client still gets its tokens", async () => {
    const { server, clock } = deviceServer()
    const { device_code, user_code } = await authorizeDevice(server, 'tv', 'api:read')
    await new Browser(server).answer(user_code)
    expectError(await poll(server, device_code, 'console'), 'invalid_grant')
    const res = await poll(server, device_code, 'tv')
    expect(res.status).toBe(200)
    expect(decodeJwt(json(res).access_token as string).client_id).toBe('tv')
    clock.advance(5)
    expectError(await poll(server, device_code, 'console'), 'invalid_grant')
  })

  it('answers invalid_grant to an unknown or overlong device code', async () => {
    const { server } = deviceServer()
    expectError(await poll(server, 'not-a-device-code'), 'invalid_grant')
    expectError(await poll(server, 'x'.repeat(600)), 'invalid_grant')
  })

  it('answers a missing device_code with invalid_request', async () => {
    const { server } = deviceServer()
    expectError(await server.handle(form('/token', { grant_type: DEVICE_CODE_GRANT, client_id: 'tv' })), 'invalid_request')
  })

  it('refuses a client not registered for the device grant with unauthorized_client', async () => {
    const { server } = deviceServer()
    const { device_code } = await authorizeDevice(server)
    const res = await server.handle(
      form('/token', { grant_type: DEVICE_CODE_GRANT, device_code }, { authorization: 'Basic ' + Buffer.from('svc:svc-secret').toString('base64') }),
    )
    expectError(res, 'unauthorized_client')
  })
})
