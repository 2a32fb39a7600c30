import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import {
  createAuthorizationServer,
  hashToken,
  type AuthorizationServer,
  type AuthorizationServerOptions,
  type GrantkitResponse,
} from '../../src/index.js'
import { authorizeDevice, Browser, deviceServer, poll } from '../device/flow.js'
import { basic, counterIds, fakeClock, ISSUER, json, tokenRequest, alice, plainUsers } from '../helpers.js'
import { contextOf } from '../../src/server.js'

const users = plainUsers(alice())

const SCOPE = 'openid offline_access api:read'
const APP = { authorization: basic('app', 'app-secret') }
const OTHER = { authorization: basic('other', 'other-secret') }

function setup(extra: Partial<AuthorizationServerOptions> = {}): { server: AuthorizationServer; clock: ReturnType<typeof fakeClock> } {
  const clock = fakeClock()
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients: [
      { client_id: 'app', client_secret: 'app-secret', grant_types: ['password', 'refresh_token'], scope: SCOPE },
      { client_id: 'other', client_secret: 'other-secret', grant_types: ['password', 'refresh_token'], scope: SCOPE },
      { client_id: 'mobile', token_endpoint_auth_method: 'none', grant_types: ['password', 'refresh_token'], scope: SCOPE },
      // A resource server: it may introspect every client's tokens, which gives it no right to revoke them.
      { client_id: 'rs', client_secret: 'rs-secret', grant_types: ['client_credentials'], introspection_allowed: true },
    ],
    users,
    deps: { now: clock.now, randomId: counterIds() },
    ...extra,
  })
  return { server, clock }
}

/** Signs alice in with the password grant: an access token and a refresh token of one grant. */
async function signIn(server: AuthorizationServer, headers: Record<string, string> = APP, extra: Record<string, string> = {}): Promise<{ access: string; refresh: string }> {
  const res = await server.handle(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: SCOPE, ...extra }, headers))
  expect(res.status).toBe(200)
  const body = json(res)
  return { access: body.access_token as string, refresh: body.refresh_token as string }
}

function revoke(server: AuthorizationServer, params: Record<string, string>, headers: Record<string, string> = APP): Promise<GrantkitResponse> {
  return server.revoke(tokenRequest(params, headers, '/revoke'))
}

function userinfo(server: AuthorizationServer, accessToken: string): Promise<GrantkitResponse> {
  return server.userinfo({ method: 'GET', url: new URL(ISSUER + '/userinfo'), headers: { authorization: `Bearer ${accessToken}` } })
}

/** Uses a refresh token at the token endpoint. */
function redeem(server: AuthorizationServer, refreshToken: string, headers: Record<string, string> = APP): Promise<GrantkitResponse> {
  return server.handle(tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken }, headers))
}

async function expectLive(server: AuthorizationServer, accessToken: string): Promise<void> {
  expect((await userinfo(server, accessToken)).status).toBe(200)
}

async function expectDead(server: AuthorizationServer, accessToken: string): Promise<void> {
  const res = await userinfo(server, accessToken)
  expect(res.status).toBe(401)
  expect(json(res).error).toBe('invalid_token')
}

function expectRevocationOk(res: GrantkitResponse): void {
  expect(res.status).toBe(200)
  expect(res.headers['cache-control']).toBe('no-store')
}

describe('revocation endpoint (RFC 7009)', () => {
  describe('requests', () => {
    it('requires client authentication: none is 401 invalid_client', async () => {
      const { server } = setup()
      const { refresh } = await signIn(server)
      const res = await revoke(server, { token: refresh }, {})
      expect(res.status).toBe(401)
      expect(json(res).error).toBe('invalid_client')
      expect(res.headers['www-authenticate']).toMatch(/^Basic /)
      // Nothing was revoked.
      expect((await redeem(server, refresh)).status).toBe(200)
    })

    it('refuses a wrong client secret with 401 invalid_client', async () => {
      const { server } = setup()
      const { refresh } = await signIn(server)
      const res = await revoke(server, { token: refresh }, { authorization: basic('app', 'wrong') })
      expect(res.status).toBe(401)
      expect(json(res).error).toBe('invalid_client')
    })

    it('answers a missing token with invalid_request', async () => {
      const { server } = setup()
      const res = await revoke(server, { token_type_hint: 'refresh_token' })
      expect(res.status).toBe(400)
      expect(json(res).error).toBe('invalid_request')
    })

    it('answers GET with 405', async () => {
      const { server } = setup()
      const res = await server.handle({ method: 'GET', url: new URL(ISSUER + '/revoke?token=x'), headers: APP })
      expect(res.status).toBe(405)
      expect(res.headers.allow).toBe('POST')
    })

    it('answers 200 with Cache-Control: no-store and an empty body for unknown, garbage and overlong tokens', async () => {
      const { server } = setup()
      for (const token of ['unknown-token', 'a.b.c', '%%%', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'x'.repeat(10_000)]) {
        const res = await revoke(server, { token })
        expectRevocationOk(res)
        expect(json(res)).toEqual({})
      }
    })

    it('lets a public client revoke its own token with its client_id', async () => {
      const { server } = setup()
      const { access, refresh } = await signIn(server, {}, { client_id: 'mobile' })
      expectRevocationOk(await revoke(server, { token: refresh, client_id: 'mobile' }, {}))
      await expectDead(server, access)
    })
  })

  describe('refresh tokens', () => {
    it('revokes the refresh token and the access tokens of its grant', async () => {
      const { server } = setup()
      const { access, refresh } = await signIn(server)
      await expectLive(server, access)
      expectRevocationOk(await revoke(server, { token: refresh, token_type_hint: 'refresh_token' }))
      expect(json(await redeem(server, refresh)).error).toBe('invalid_grant')
      await expectDead(server, access)
    })

    it('also kills access tokens issued later in the grant by rotation, and the rotated successor', async () => {
      const { server } = setup()
      const first = await signIn(server)
      const rotated = json(await redeem(server, first.refresh))
      expectRevocationOk(await revoke(server, { token: rotated.refresh_token as string }))
      await expectDead(server, first.access)
      await expectDead(server, rotated.access_token as string)
      expect(json(await redeem(server, rotated.refresh_token as string)).error).toBe('invalid_grant')
    })

    it('leaves other grants of the same person and client alone', async () => {
      const { server } = setup()
      const a = await signIn(server)
      const b = await signIn(server)
      expectRevocationOk(await revoke(server, { token: a.refresh }))
      await expectLive(server, b.access)
      expect((await redeem(server, b.refresh)).status).toBe(200)
    })

    it('revokes a refresh token sent with token_type_hint=access_token (the hint is only a hint)', async () => {
      const { server } = setup()
      const { access, refresh } = await signIn(server)
      expectRevocationOk(await revoke(server, { token: refresh, token_type_hint: 'access_token' }))
      expect(json(await redeem(server, refresh)).error).toBe('invalid_grant')
      await expectDead(server, access)
    })

    it('ignores an unknown token_type_hint value', async () => {
      const { server } = setup()
      const { refresh } = await signIn(server)
      expectRevocationOk(await revoke(server, { token: refresh, token_type_hint: 'id_token' }))
      expect(json(await redeem(server, refresh)).error).toBe('invalid_grant')
    })

    it("does not revoke another client's refresh token, and still answers 200", async () => {
      const { server } = setup()
      const { access, refresh } = await signIn(server)
      for (const token_type_hint of ['refresh_token', 'access_token']) {
        expectRevocationOk(await revoke(server, { token: refresh, token_type_hint }, OTHER))
      }
      await expectLive(server, access)
      expect((await redeem(server, refresh)).status).toBe(200)
    })

    it('answers 200 to revoking an already revoked refresh token', async () => {
      const { server } = setup()
      const { refresh } = await signIn(server)
      expectRevocationOk(await revoke(server, { token: refresh }))
      expectRevocationOk(await revoke(server, { token: refresh }))
    })

    it('revokes refresh tokens from the device flow', async () => {
      const { server } = deviceServer()
      const { device_code, user_code } = await authorizeDevice(server, 'tv', 'openid offline_access api:read')
      await new Browser(server).answer(user_code)
      const tokens = json(await poll(server, device_code))
      const res = await server.revoke(tokenRequest({ token: tokens.refresh_token as string, client_id: 'tv' }, {}, '/revoke'))
      expectRevocationOk(res)
      await expectDead(server, tokens.access_token as string)
    })

    it('keeps the access tokens of a revoked grant dead until they expire, even past the end of the refresh-token chain', async () => {
      // Defaults: refresh tokens live 14 days from rotation and 30 days in all; access tokens an hour.
      const { server, clock } = setup()
      let tokens = await signIn(server)
      for (const days of [13, 13, 4]) {
        clock.advance(days * 86_400 - (days === 4 ? 10 : 0))
        const body = json(await redeem(server, tokens.refresh))
        tokens = { access: body.access_token as string, refresh: body.refresh_token as string }
      }
      // 10 seconds before the chain's absolute end, the last access token still has an hour to live.
      expect((decodeJwt(tokens.access).exp as number) - clock.now()).toBe(3600)
      expectRevocationOk(await revoke(server, { token: tokens.refresh }))
      await expectDead(server, tokens.access)
      clock.advance(11)
      await expectDead(server, tokens.access)
    })
  })

  describe('access tokens', () => {
    it('revokes a JWT access token: its jti is recorded and introspection says inactive', async () => {
      const { server } = setup()
      const { access, refresh } = await signIn(server)
      expectRevocationOk(await revoke(server, { token: access, token_type_hint: 'access_token' }))
      await expectDead(server, access)
      expect(await contextOf(server).storage.accessTokens.isJtiRevoked(decodeJwt(access).jti as string)).toBe(true)
      const introspected = await server.introspect(tokenRequest({ token: access }, APP, '/introspect'))
      expect(json(introspected)).toEqual({ active: false })
      // Revoking an access token leaves its refresh token alone.
      expect((await redeem(server, refresh)).status).toBe(200)
    })

    it('revokes a JWT access token sent with token_type_hint=refresh_token', async () => {
      const { server } = setup()
      const { access } = await signIn(server)
      expectRevocationOk(await revoke(server, { token: access, token_type_hint: 'refresh_token' }))
      await expectDead(server, access)
    })

    it('revokes an opaque access token, which disappears from storage', async () => {
      const { server } = setup({ accessTokenFormat: 'opaque' })
      const { access } = await signIn(server)
      await expectLive(server, access)
      expect(await contextOf(server).storage.accessTokens.find(hashToken(access))).not.toBeNull()
      expectRevocationOk(await revoke(server, { token: access }))
      await expectDead(server, access)
      expect(await contextOf(server).storage.accessTokens.find(hashToken(access))).toBeNull()
    })

    it('revokes an opaque access token sent with token_type_hint=refresh_token', async () => {
      const { server } = setup({ accessTokenFormat: 'opaque' })
      const { access } = await signIn(server)
      expectRevocationOk(await revoke(server, { token: access, token_type_hint: 'refresh_token' }))
      await expectDead(server, access)
    })

    it("does not revoke another client's access token (200, the token still works)", async () => {
      for (const accessTokenFormat of ['jwt', 'opaque'] as const) {
        const { server } = setup({ accessTokenFormat })
        const { access } = await signIn(server)
        expectRevocationOk(await revoke(server, { token: access }, OTHER))
        await expectLive(server, access)
      }
    })

    it("does not let a resource server allowed to introspect revoke another client's tokens", async () => {
      const { server } = setup()
      const { access, refresh } = await signIn(server)
      const RS = { authorization: basic('rs', 'rs-secret') }
      expectRevocationOk(await revoke(server, { token: access }, RS))
      expectRevocationOk(await revoke(server, { token: refresh }, RS))
      await expectLive(server, access)
      expect((await redeem(server, refresh)).status).toBe(200)
    })

    it('answers 200 to revoking an expired access token', async () => {
      const { server, clock } = setup()
      const { access } = await signIn(server)
      clock.advance(3601)
      expectRevocationOk(await revoke(server, { token: access }))
    })
  })
})
