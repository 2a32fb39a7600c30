import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  createAuthorizationServer,
  hashToken,
  TOKEN_EXCHANGE_GRANT,
  TOKEN_TYPES,
  type AuthorizationServer,
  type AuthorizationServerOptions,
  type GrantkitResponse,
  type TokenExchangeRequest,
} from '../../src/index.js'
import { contextOf } from '../../src/server.js'
import { alice, basic, counterIds, fakeClock, ISSUER, json, plainUsers, tokenRequest } from '../helpers.js'
import { assertionXml, b64url, IDP_ENTITY_ID, IDP_CERT, OTHER_KEY, sign, type AssertionOptions } from '../saml/helpers.js'

const ORDERS = 'https://orders.example'
const BILLING = 'https://billing.example'
const IDP = 'https://idp.example'
const GATEWAY = { authorization: basic('gateway', 'gateway-secret') }
const AT = TOKEN_TYPES.accessToken
const JWT = TOKEN_TYPES.jwt
const SAML2 = TOKEN_TYPES.saml2

const payload = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>

let idpKey: { privateKey: CryptoKey; jwk: JWK }
beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  idpKey = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' } }
})

interface Harness {
  server: AuthorizationServer
  clock: ReturnType<typeof fakeClock>
  /** alice's access token from the password grant (client `cli`). */
  personToken(scope?: string): Promise<string>
  /** A token of the `robot` client itself (client_credentials), to act with. */
  robotToken(): Promise<string>
  exchange(form: Record<string, string> | [string, string][], headers?: Record<string, string>): Promise<GrantkitResponse>
  /** A JWT from the trusted IdP for alice, `claims` over the defaults. */
  idpJwt(claims?: Record<string, unknown>): Promise<string>
  /** A signed, base64url SAML 2.0 assertion from the trusted SAML IdP for alice (RFC 8693 §3 saml2). */
  samlAssertion(options?: AssertionOptions, key?: string): string
}

function setup(extra: Partial<AuthorizationServerOptions> = {}): Harness {
  const clock = fakeClock()
  const server = createAuthorizationServer({
    issuer: ISSUER,
    users: plainUsers(alice()),
    resourceServers: [
      { resource: ORDERS, scopes: ['orders:read', 'orders:write'] },
      { resource: BILLING, scopes: ['billing:read'] },
    ],
    trust: { jwtIssuers: [{ issuer: IDP, jwks: { keys: [idpKey.jwk] } }], samlIdps: [{ entityId: IDP_ENTITY_ID, certificate: IDP_CERT }] },
    clients: [
      { client_id: 'cli', token_endpoint_auth_method: 'none', grant_types: ['password'], scope: 'orders:read orders:write profile' },
      { client_id: 'gateway', client_secret: 'gateway-secret', grant_types: [TOKEN_EXCHANGE_GRANT], scope: 'orders:read orders:write billing:read' },
      { client_id: 'robot', client_secret: 'robot-secret', grant_types: ['client_credentials'], scope: 'orders:read' },
      { client_id: 'public-x', token_endpoint_auth_method: 'none', grant_types: [TOKEN_EXCHANGE_GRANT], scope: 'orders:read' },
    ],
    deps: { now: clock.now, randomId: counterIds() },
    ...extra,
  })
  const h: Harness = {
    server,
    clock,
    async personToken(scope = 'orders:read orders:write profile') {
      const res = await server.token(tokenRequest({ grant_type: 'password', client_id: 'cli', username: 'alice', password: 'wonderland', scope }))
      expect(res.status, res.body).toBe(200)
      return json(res).access_token as string
    },
    async robotToken() {
      const res = await server.token(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('robot', 'robot-secret') }))
      expect(res.status, res.body).toBe(200)
      return json(res).access_token as string
    },
    exchange(form, headers = GATEWAY) {
      const pairs = Array.isArray(form) ? form : Object.entries(form)
      return server.token(tokenRequest(new URLSearchParams([['grant_type', TOKEN_EXCHANGE_GRANT], ...pairs]).toString(), headers))
    },
    async idpJwt(claims = {}) {
      const now = clock.now()
      const all: Record<string, unknown> = { iss: IDP, sub: 'alice-sub', aud: ISSUER, iat: now, exp: now + 120, jti: `jti-${Math.random()}`, ...claims }
      for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k]
      return new SignJWT(all).setProtectedHeader({ alg: 'ES256', kid: 'idp-1', typ: 'JWT' }).sign(idpKey.privateKey)
    },
    samlAssertion(options = {}, key) {
      const xml = assertionXml({ now: clock.now(), nameId: 'alice-sub', id: `_a${Math.random().toString(36).slice(2)}`, ...options })
      return b64url(sign(xml, key === undefined ? {} : { key }))
    },
  }
  return h
}

function expectError(res: GrantkitResponse, error: string): void {
  expect(res.status, res.body).toBe(error === 'invalid_client' ? 401 : 400)
  expect(json(res).error).toBe(error)
  expect(json(res).access_token).toBeUndefined()
}

describe('token exchange (RFC 8693): the exchange', () => {
  it('exchanges a person\'s access token for a narrower one for the asked audience, with issued_token_type and no refresh token', async () => {
    const h = setup()
    const res = await h.exchange({ subject_token: await h.personToken(), subject_token_type: AT, audience: ORDERS, scope: 'orders:read' })
    expect(res.status, res.body).toBe(200)
    const body = json(res)
    expect(body).toMatchObject({ token_type: 'Bearer', issued_token_type: AT, scope: 'orders:read' })
    expect(body.refresh_token).toBeUndefined()
    const p = payload(body.access_token as string)
    expect(p).toMatchObject({ iss: ISSUER, sub: 'alice-sub', client_id: 'gateway', aud: [ORDERS], scope: 'orders:read' })
    expect(p.act).toBeUndefined()
  })

  it('keeps the subject token\'s scope, as far as the client may hold it, when none is asked', async () => {
    const h = setup()
    const res = await h.exchange({ subject_token: await h.personToken(), subject_token_type: AT })
    // profile is the subject's but not the gateway's to hold.
    expect(json(res).scope).toBe('orders:read orders:write')
    expect(payload(json(res).access_token as string).aud).toBe(ISSUER)
  })

  it('maps audience and resource through resourceServers; each is repeatable and an unknown one is invalid_target', async () => {
    const h = setup()
    const subject = await h.personToken()
    expectError(await h.exchange({ subject_token: subject, subject_token_type: AT, audience: 'https://unknown.example' }), 'invalid_target')
    expectError(await h.exchange({ subject_token: subject, subject_token_type: AT, resource: 'https://unknown.example' }), 'invalid_target')
    expectError(await h.exchange({ subject_token: subject, subject_token_type: AT, audience: 'orders' }), 'invalid_target')
    const res = await h.exchange([['subject_token', subject], ['subject_token_type', AT], ['audience', ORDERS], ['resource', ORDERS], ['scope', 'orders:read']])
    expect(payload(json(res).access_token as string).aud).toEqual([ORDERS])
    // orders:read is ORDERS' only: a token for both would give it to BILLING too.
    const both = await h.exchange([['subject_token', subject], ['subject_token_type', AT], ['audience', ORDERS], ['audience', BILLING], ['scope', 'orders:read']])
    expectError(both, 'invalid_target')
  })

  it('with requireResource, takes audience or resource as the target and refuses neither with invalid_target (RFC 8707 §2)', async () => {
    const h = setup({ requireResource: true })
    const person = await h.server.token(tokenRequest({ grant_type: 'password', client_id: 'cli', username: 'alice', password: 'wonderland', scope: 'orders:read', resource: ORDERS }))
    expect(person.status, person.body).toBe(200)
    const subject = json(person).access_token as string
    expectError(await h.exchange({ subject_token: subject, subject_token_type: AT, scope: 'orders:read' }), 'invalid_target')
    const byAudience = await h.exchange({ subject_token: subject, subject_token_type: AT, audience: ORDERS, scope: 'orders:read' })
    expect(byAudience.status, byAudience.body).toBe(200)
    const byResource = await h.exchange({ subject_token: subject, subject_token_type: AT, resource: ORDERS, scope: 'orders:read' })
    expect(payload(json(byResource).access_token as string).aud).toEqual([ORDERS])
  })

  it('refuses a scope wider than the subject token\'s with invalid_scope', async () => {
    const h = setup()
    expectError(await h.exchange({ subject_token: await h.personToken('orders:read'), subject_token_type: AT, scope: 'orders:read orders:write' }), 'invalid_scope')
  })

  it('issues a JWT when asked (requested_token_type jwt), even on a server of opaque tokens', async () => {
    const h = setup({ accessTokenFormat: 'opaque' })
    const res = await h.exchange({ subject_token: await h.personToken(), subject_token_type: AT, requested_token_type: JWT, audience: ORDERS })
    expect(res.status, res.body).toBe(200)
    expect(json(res).issued_token_type).toBe(JWT)
    expect(payload(json(res).access_token as string).aud).toEqual([ORDERS])
  })

  it('carries the subject\'s grant, so revoking the original grant kills the exchanged token', async () => {
    const h = setup({ accessTokenFormat: 'opaque' })
    const subject = await h.personToken()
    const exchanged = json(await h.exchange({ subject_token: subject, subject_token_type: AT })).access_token as string
    const ctx = contextOf(h.server)
    const before = await ctx.storage.accessTokens.find(hashToken(exchanged))
    expect(before?.grantId).toBeTypeOf('string')
    await ctx.storage.grants.revoke(before!.grantId!, h.clock.now() + 7200)
    const introspected = await h.server.introspect(tokenRequest({ token: exchanged }, GATEWAY, '/introspect'))
    expect(json(introspected)).toEqual({ active: false })
  })
})

describe('token exchange: the rules broken', () => {
  it('requires subject_token and subject_token_type (invalid_request)', async () => {
    const h = setup()
    const subject = await h.personToken()
    expectError(await h.exchange({ subject_token: subject }), 'invalid_request')
    expectError(await h.exchange({ subject_token_type: AT }), 'invalid_request')
  })

  it('requires actor_token_type with actor_token and refuses it alone (invalid_request)', async () => {
    const h = setup()
    const subject = await h.personToken()
    expectError(await h.exchange({ subject_token: subject, subject_token_type: AT, actor_token: await h.robotToken() }), 'invalid_request')
    expectError(await h.exchange({ subject_token: subject, subject_token_type: AT, actor_token_type: AT }), 'invalid_request')
  })

  it('refuses a revoked, an expired and a made-up subject token with invalid_request (RFC 8693 §2.2.2)', async () => {
    const h = setup()
    const subject = await h.personToken()
    const jti = payload(subject).jti as string
    await contextOf(h.server).storage.accessTokens.revokeJti(jti, h.clock.now() + 3600)
    expectError(await h.exchange({ subject_token: subject, subject_token_type: AT }), 'invalid_request')
    const later = await h.personToken()
    h.clock.advance(3601)
    expectError(await h.exchange({ subject_token: later, subject_token_type: AT }), 'invalid_request')
    expectError(await h.exchange({ subject_token: 'not-a-token', subject_token_type: AT }), 'invalid_request')
  })

  it('refuses token types it does not take, as subject and as requested type (invalid_request)', async () => {
    const h = setup()
    const subject = await h.personToken()
    expectError(await h.exchange({ subject_token: subject, subject_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }), 'invalid_request')
    expectError(await h.exchange({ subject_token: subject, subject_token_type: 'urn:ietf:params:oauth:token-type:saml1' }), 'invalid_request')
    expectError(await h.exchange({ subject_token: subject, subject_token_type: AT, requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' }), 'invalid_request')
    expectError(await h.exchange({ subject_token: subject, subject_token_type: AT, actor_token: subject, actor_token_type: 'urn:example:odd' }), 'invalid_request')
  })

  it('refuses an access token passed as a JWT assertion, and the other way round (invalid_request)', async () => {
    const h = setup()
    expectError(await h.exchange({ subject_token: await h.personToken(), subject_token_type: JWT }), 'invalid_request')
    expectError(await h.exchange({ subject_token: await h.idpJwt(), subject_token_type: AT }), 'invalid_request')
  })

  it('is for confidential clients registered for it (unauthorized_client)', async () => {
    const h = setup()
    const subject = await h.personToken()
    expectError(await h.exchange({ subject_token: subject, subject_token_type: AT, client_id: 'public-x' }, {}), 'unauthorized_client')
    expectError(await h.exchange({ subject_token: subject, subject_token_type: AT }, { authorization: basic('robot', 'robot-secret') }), 'unauthorized_client')
  })

  it('refuses a repeated subject_token (invalid_request): only audience and resource repeat', async () => {
    const h = setup()
    const subject = await h.personToken()
    expectError(await h.exchange([['subject_token', subject], ['subject_token', subject], ['subject_token_type', AT]]), 'invalid_request')
  })
})

describe('token exchange: delegation (RFC 8693 §4.1 act)', () => {
  it('puts the actor in act', async () => {
    const h = setup()
    const res = await h.exchange({ subject_token: await h.personToken(), subject_token_type: AT, actor_token: await h.robotToken(), actor_token_type: AT })
    expect(res.status, res.body).toBe(200)
    expect(payload(json(res).access_token as string)).toMatchObject({ sub: 'alice-sub', act: { sub: 'robot', client_id: 'robot' } })
  })

  it('nests the earlier actor when the subject token already has act, and keeps act when no actor is given', async () => {
    const h = setup()
    const first = json(await h.exchange({ subject_token: await h.personToken(), subject_token_type: AT, actor_token: await h.robotToken(), actor_token_type: AT }))
    const second = await h.exchange({ subject_token: first.access_token as string, subject_token_type: AT, actor_token: await h.idpJwt({ sub: 'bob-svc' }), actor_token_type: JWT })
    expect(second.status, second.body).toBe(200)
    expect(payload(json(second).access_token as string).act).toEqual({ sub: 'bob-svc', iss: IDP, act: { sub: 'robot', client_id: 'robot' } })
    // Without an actor, a delegated token is not laundered into one without act.
    const third = await h.exchange({ subject_token: first.access_token as string, subject_token_type: AT })
    expect(payload(json(third).access_token as string).act).toEqual({ sub: 'robot', client_id: 'robot' })
  })

  it('refuses an actor the subject token\'s may_act does not name (RFC 8693 §4.4)', async () => {
    const h = setup()
    const subject = await h.idpJwt({ may_act: { sub: 'someone-else' } })
    expectError(await h.exchange({ subject_token: subject, subject_token_type: JWT, actor_token: await h.robotToken(), actor_token_type: AT }), 'invalid_request')
    const allowed = await h.idpJwt({ may_act: { sub: 'robot', iss: ISSUER } })
    const ok = await h.exchange({ subject_token: allowed, subject_token_type: JWT, actor_token: await h.robotToken(), actor_token_type: AT })
    expect(ok.status, ok.body).toBe(200)
  })

  it('shows act in introspection of an opaque exchanged token', async () => {
    const h = setup({ accessTokenFormat: 'opaque' })
    const res = json(await h.exchange({ subject_token: await h.personToken(), subject_token_type: AT, actor_token: await h.robotToken(), actor_token_type: AT }))
    const introspected = json(await h.server.introspect(tokenRequest({ token: res.access_token as string }, GATEWAY, '/introspect')))
    expect(introspected).toMatchObject({ active: true, sub: 'alice-sub', client_id: 'gateway', act: { sub: 'robot' } })
  })
})

describe('token exchange: JWT subject tokens from the trust registry', () => {
  it('exchanges a trusted issuer\'s JWT for a token for its subject', async () => {
    const h = setup()
    const res = await h.exchange({ subject_token: await h.idpJwt(), subject_token_type: JWT, audience: ORDERS, scope: 'orders:read' })
    expect(res.status, res.body).toBe(200)
    expect(payload(json(res).access_token as string)).toMatchObject({ sub: 'alice-sub', aud: [ORDERS], scope: 'orders:read', client_id: 'gateway' })
  })

  it('accepts each JWT once (replay is invalid_request)', async () => {
    const h = setup()
    const jwt = await h.idpJwt()
    expect((await h.exchange({ subject_token: jwt, subject_token_type: JWT })).status).toBe(200)
    expectError(await h.exchange({ subject_token: jwt, subject_token_type: JWT }), 'invalid_request')
  })

  it('refuses an untrusted issuer, a wrong audience, an expired JWT and an unknown subject (invalid_request)', async () => {
    const h = setup()
    expectError(await h.exchange({ subject_token: await h.idpJwt({ iss: 'https://evil.example' }), subject_token_type: JWT }), 'invalid_request')
    expectError(await h.exchange({ subject_token: await h.idpJwt({ aud: 'https://elsewhere.example' }), subject_token_type: JWT }), 'invalid_request')
    expectError(await h.exchange({ subject_token: await h.idpJwt({ exp: h.clock.now() - 600, iat: h.clock.now() - 700 }), subject_token_type: JWT }), 'invalid_request')
    expectError(await h.exchange({ subject_token: await h.idpJwt({ sub: 'nobody' }), subject_token_type: JWT }), 'invalid_request')
  })
})

describe('token exchange: SAML 2.0 subject and actor tokens from the trust registry (RFC 8693 §3 saml2)', () => {
  it('exchanges a trusted identity provider\'s assertion for a token for its NameID', async () => {
    const h = setup()
    const res = await h.exchange({ subject_token: h.samlAssertion(), subject_token_type: SAML2, audience: ORDERS, scope: 'orders:read' })
    expect(res.status, res.body).toBe(200)
    expect(json(res).issued_token_type).toBe(AT)
    expect(payload(json(res).access_token as string)).toMatchObject({ sub: 'alice-sub', aud: [ORDERS], scope: 'orders:read', client_id: 'gateway' })
  })

  it('accepts each assertion ID once (replay is invalid_request), sharing the replay record with the SAML bearer grant', async () => {
    const h = setup()
    const assertion = h.samlAssertion({ id: '_once' })
    expect((await h.exchange({ subject_token: assertion, subject_token_type: SAML2 })).status).toBe(200)
    expectError(await h.exchange({ subject_token: assertion, subject_token_type: SAML2 }), 'invalid_request')
  })

  it('refuses a wrong signer, an untrusted issuer, a foreign audience, an expired assertion, a wrong Recipient and an unknown NameID (invalid_request)', async () => {
    const h = setup()
    const now = h.clock.now()
    expectError(await h.exchange({ subject_token: h.samlAssertion({}, OTHER_KEY), subject_token_type: SAML2 }), 'invalid_request')
    expectError(await h.exchange({ subject_token: h.samlAssertion({ issuer: 'https://evil.example/saml' }), subject_token_type: SAML2 }), 'invalid_request')
    expectError(await h.exchange({ subject_token: h.samlAssertion({ audiences: [['https://elsewhere.example']] }), subject_token_type: SAML2 }), 'invalid_request')
    expectError(await h.exchange({ subject_token: h.samlAssertion({ now: now - 1000 }), subject_token_type: SAML2 }), 'invalid_request')
    expectError(await h.exchange({ subject_token: h.samlAssertion({ recipient: 'https://elsewhere.example/token' }), subject_token_type: SAML2 }), 'invalid_request')
    expectError(await h.exchange({ subject_token: h.samlAssertion({ nameId: 'nobody' }), subject_token_type: SAML2 }), 'invalid_request')
  })

  it('refuses an unsigned assertion, one that is not base64url, and a JWT passed as SAML (invalid_request)', async () => {
    const h = setup()
    expectError(await h.exchange({ subject_token: b64url(assertionXml({ now: h.clock.now(), nameId: 'alice-sub' })), subject_token_type: SAML2 }), 'invalid_request')
    expectError(await h.exchange({ subject_token: '<saml:Assertion/>', subject_token_type: SAML2 }), 'invalid_request')
    expectError(await h.exchange({ subject_token: await h.idpJwt(), subject_token_type: SAML2 }), 'invalid_request')
    expectError(await h.exchange({ subject_token: h.samlAssertion(), subject_token_type: JWT }), 'invalid_request')
  })

  it('keeps within the identity provider\'s scopes limit (invalid_scope past it), and takes an assertion as the actor, its issuer in act', async () => {
    const h = setup({ trust: { samlIdps: [{ entityId: IDP_ENTITY_ID, certificate: IDP_CERT, scopes: ['orders:read'] }] } })
    expectError(await h.exchange({ subject_token: h.samlAssertion(), subject_token_type: SAML2, scope: 'orders:write' }), 'invalid_scope')
    const res = await h.exchange({ subject_token: await h.personToken(), subject_token_type: AT, actor_token: h.samlAssertion({ nameId: 'alice-sub' }), actor_token_type: SAML2, scope: 'orders:read' })
    expect(res.status, res.body).toBe(200)
    expect(payload(json(res).access_token as string).act).toEqual({ sub: 'alice-sub', iss: IDP_ENTITY_ID })
  })

  it('shows the policy the assertion\'s issuer, NameID and ID', async () => {
    const seen: TokenExchangeRequest[] = []
    const h = setup({ tokenExchange: { policy: (r) => void seen.push(r) === undefined } })
    expect((await h.exchange({ subject_token: h.samlAssertion({ id: '_seen' }), subject_token_type: SAML2 })).status).toBe(200)
    expect(seen[0]?.subject).toMatchObject({ sub: 'alice-sub', tokenType: SAML2, issuer: IDP_ENTITY_ID, claims: { iss: IDP_ENTITY_ID, sub: 'alice-sub', jti: '_seen' } })
    expect(seen[0]?.subject.clientId).toBeUndefined()
  })
})

describe('token exchange: policy hook and discovery', () => {
  it('asks the policy after the built-in checks; false is invalid_request', async () => {
    const seen: TokenExchangeRequest[] = []
    const h = setup({
      tokenExchange: {
        policy: (r) => {
          seen.push(r)
          return r.actor === undefined
        },
      },
    })
    const subject = await h.personToken()
    expect((await h.exchange({ subject_token: subject, subject_token_type: AT, audience: ORDERS, scope: 'orders:read' })).status).toBe(200)
    expect(seen[0]).toMatchObject({ clientId: 'gateway', audience: [ORDERS], scope: 'orders:read', requestedTokenType: AT, subject: { sub: 'alice-sub', clientId: 'cli', issuer: ISSUER } })
    expectError(await h.exchange({ subject_token: subject, subject_token_type: AT, actor_token: await h.robotToken(), actor_token_type: AT }), 'invalid_request')
    expect(seen[1]?.actor).toMatchObject({ sub: 'robot' })
  })

  it('refuses a policy that is not a function at construction', () => {
    expect(() => setup({ tokenExchange: { policy: 'yes' as never } })).toThrow(/tokenExchange\.policy: must be a function/)
  })

  it('lists the grant in grant_types_supported', async () => {
    const h = setup()
    const meta = json(h.server.metadata({ method: 'GET', url: new URL(`${ISSUER}/.well-known/oauth-authorization-server`), headers: {} }))
    expect(meta.grant_types_supported).toContain(TOKEN_EXCHANGE_GRANT)
  })
})
