import { describe, expect, it } from 'vitest'
import {
  createAuthorizationServer,
  type AuthorizationServer,
  type AuthorizationServerOptions,
  type GrantkitResponse,
} from '../../src/index.js'
import { basic, counterIds, fakeClock, ISSUER, json, tokenRequest, alice, plainUsers } from '../helpers.js'

const users = plainUsers(alice())

const SCOPE = 'api:read api:write'
const APP = { authorization: basic('app', 'app-secret') }
const OTHER = { authorization: basic('other', 'other-secret') }
const RS = { authorization: basic('rs', 'rs-secret') }
const START = 1_800_000_000

function setup(extra: Partial<AuthorizationServerOptions> = {}): { server: AuthorizationServer; clock: ReturnType<typeof fakeClock> } {
  const clock = fakeClock(START)
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients: [
      { client_id: 'app', client_secret: 'app-secret', grant_types: ['password', 'refresh_token'], scope: SCOPE },
      { client_id: 'other', client_secret: 'other-secret', grant_types: ['password', 'refresh_token'], scope: SCOPE },
      { client_id: 'mobile', token_endpoint_auth_method: 'none', grant_types: ['password', 'refresh_token'], scope: SCOPE },
      // A resource server: it introspects tokens issued to anyone.
      { client_id: 'rs', client_secret: 'rs-secret', grant_types: ['client_credentials'], introspection_allowed: true },
    ],
    users,
    deps: { now: clock.now, randomId: counterIds() },
    ...extra,
  })
  return { server, clock }
}

async function signIn(server: AuthorizationServer): Promise<{ access: string; refresh: string }> {
  const res = await server.handle(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'api:read' }, APP))
  expect(res.status).toBe(200)
  const body = json(res)
  return { access: body.access_token as string, refresh: body.refresh_token as string }
}

function introspect(server: AuthorizationServer, params: Record<string, string>, headers: Record<string, string> = APP): Promise<GrantkitResponse> {
  return server.introspect(tokenRequest(params, headers, '/introspect'))
}

async function expectInactive(res: Promise<GrantkitResponse>): Promise<void> {
  const r = await res
  expect(r.status).toBe(200)
  expect(r.headers['cache-control']).toBe('no-store')
  expect(r.body).toBe('{"active":false}')
}

describe('introspection endpoint (RFC 7662)', () => {
  describe('caller authentication (§2.1)', () => {
    it('refuses a request without client authentication with 401 invalid_client', async () => {
      const { server } = setup()
      const { access } = await signIn(server)
      const res = await introspect(server, { token: access }, {})
      expect(res.status).toBe(401)
      expect(json(res).error).toBe('invalid_client')
      expect(res.headers['www-authenticate']).toMatch(/^Basic /)
    })

    it('refuses a public client with 401 invalid_client, even for its own token', async () => {
      const { server } = setup()
      const res0 = await server.handle(tokenRequest({ grant_type: 'password', username: 'alice', password: 'wonderland', client_id: 'mobile' }))
      const access = json(res0).access_token as string
      const res = await introspect(server, { token: access, client_id: 'mobile' }, {})
      expect(res.status).toBe(401)
      expect(json(res).error).toBe('invalid_client')
    })

    it('refuses a wrong secret with 401 invalid_client', async () => {
      const { server } = setup()
      const res = await introspect(server, { token: 'x' }, { authorization: basic('rs', 'wrong') })
      expect(res.status).toBe(401)
      expect(json(res).error).toBe('invalid_client')
    })

    it('answers a missing token with invalid_request', async () => {
      const { server } = setup()
      const res = await introspect(server, { token_type_hint: 'access_token' })
      expect(res.status).toBe(400)
      expect(json(res).error).toBe('invalid_request')
    })

    it('answers GET with 405', async () => {
      const { server } = setup()
      const res = await server.handle({ method: 'GET', url: new URL(ISSUER + '/introspect?token=x'), headers: RS })
      expect(res.status).toBe(405)
    })
  })

  describe('active tokens (§2.2)', () => {
    it('describes a live JWT access token: scope, client_id, sub, exp, iat, token_type, aud, iss', async () => {
      const { server } = setup()
      const { access } = await signIn(server)
      const res = await introspect(server, { token: access })
      expect(res.status).toBe(200)
      expect(res.headers['cache-control']).toBe('no-store')
      expect(json(res)).toMatchObject({
        active: true,
        scope: 'api:read',
        client_id: 'app',
        sub: 'alice-sub',
        exp: START + 3600,
        iat: START,
        token_type: 'Bearer',
        aud: ISSUER,
        iss: ISSUER,
      })
    })

    it('describes a live opaque access token the same way', async () => {
      const { server } = setup({ accessTokenFormat: 'opaque', accessTokenAudience: ['https://api.example', 'https://files.example'] })
      const { access } = await signIn(server)
      expect(json(await introspect(server, { token: access }))).toMatchObject({
        active: true,
        scope: 'api:read',
        client_id: 'app',
        sub: 'alice-sub',
        exp: START + 3600,
        iat: START,
        token_type: 'Bearer',
        aud: ['https://api.example', 'https://files.example'],
        iss: ISSUER,
      })
    })

    it('describes a live refresh token with token_type refresh_token', async () => {
      const { server } = setup()
      const { refresh } = await signIn(server)
      expect(json(await introspect(server, { token: refresh }))).toMatchObject({
        active: true,
        token_type: 'refresh_token',
        scope: 'api:read',
        client_id: 'app',
        sub: 'alice-sub',
        iat: START,
        exp: START + 1_209_600,
        iss: ISSUER,
      })
    })

    it('finds the token whatever token_type_hint says', async () => {
      const { server } = setup()
      const { access, refresh } = await signIn(server)
      for (const token_type_hint of ['access_token', 'refresh_token', 'something_else']) {
        expect(json(await introspect(server, { token: access, token_type_hint })).token_type).toBe('Bearer')
        expect(json(await introspect(server, { token: refresh, token_type_hint })).token_type).toBe('refresh_token')
      }
    })
  })

  describe('inactive tokens: exactly {"active":false}', () => {
    it('for an expired access token', async () => {
      for (const accessTokenFormat of ['jwt', 'opaque'] as const) {
        const { server, clock } = setup({ accessTokenFormat })
        const { access } = await signIn(server)
        clock.advance(3600)
        await expectInactive(introspect(server, { token: access }))
      }
    })

    it('for an expired refresh token', async () => {
      const { server, clock } = setup({ ttl: { refreshToken: 600 } })
      const { refresh } = await signIn(server)
      clock.advance(600)
      await expectInactive(introspect(server, { token: refresh }))
    })

    it('for revoked access and refresh tokens', async () => {
      const { server } = setup()
      const a = await signIn(server)
      const b = await signIn(server)
      expect((await server.revoke(tokenRequest({ token: a.access }, APP, '/revoke'))).status).toBe(200)
      expect((await server.revoke(tokenRequest({ token: b.refresh }, APP, '/revoke'))).status).toBe(200)
      await expectInactive(introspect(server, { token: a.access }))
      await expectInactive(introspect(server, { token: b.refresh }))
      await expectInactive(introspect(server, { token: b.access }))
    })

    it('for unknown and malformed tokens', async () => {
      const { server } = setup()
      const { access } = await signIn(server)
      const [h, p] = access.split('.')
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'mallory' })).toString('base64url')}.${access.split('.')[2]}`
      const unsigned = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${p}.`
      for (const token of ['unknown', 'a.b.c', '...', tampered, unsigned, `${h}.${p}.AAAA`, 'x'.repeat(9000)]) {
        await expectInactive(introspect(server, { token }))
      }
    })

    it('for a refresh token that was rotated away, and for the whole grant once it is reused', async () => {
      const { server } = setup()
      const first = await signIn(server)
      const rotated = json(await server.handle(tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh }, APP)))
      await expectInactive(introspect(server, { token: first.refresh }))
      expect(json(await introspect(server, { token: rotated.refresh_token as string })).active).toBe(true)
      // Reuse of the old token revokes the grant (RFC 9700 §4.14.2).
      await server.handle(tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh }, APP))
      await expectInactive(introspect(server, { token: rotated.refresh_token as string }))
      await expectInactive(introspect(server, { token: rotated.access_token as string }))
    })
  })

  describe('who may see a token', () => {
    it("shows a client only its own tokens: another client's are inactive", async () => {
      for (const accessTokenFormat of ['jwt', 'opaque'] as const) {
        const { server } = setup({ accessTokenFormat })
        const { access, refresh } = await signIn(server)
        await expectInactive(introspect(server, { token: access }, OTHER))
        await expectInactive(introspect(server, { token: refresh }, OTHER))
        await expectInactive(introspect(server, { token: refresh, token_type_hint: 'refresh_token' }, OTHER))
      }
    })

    it('shows a resource server registered with introspection_allowed: true the tokens of every client', async () => {
      const { server } = setup()
      const { access, refresh } = await signIn(server)
      expect(json(await introspect(server, { token: access }, RS))).toMatchObject({ active: true, client_id: 'app', sub: 'alice-sub' })
      expect(json(await introspect(server, { token: refresh }, RS))).toMatchObject({ active: true, client_id: 'app', token_type: 'refresh_token' })
    })
  })
})
