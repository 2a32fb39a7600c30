/**
 * Shared set-up for the client authentication tests: a server with one client
 * per authentication method, key pairs for private_key_jwt, an assertion
 * builder and response matchers. Everything runs on a fake clock and
 * deterministic ids.
 */
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import { createHash } from 'node:crypto'
import { expect } from 'vitest'
import {
  createAuthorizationServer,
  defaultGrants,
  type AuthorizationServer,
  type ClientMetadata,
  type GrantHandler,
  type GrantkitEvent,
  type GrantkitRequest,
  type GrantkitResponse,
} from '../../src/index.js'
import { counterIds, fakeClock, ISSUER } from '../helpers.js'

export { ISSUER }
export const TOKEN_URL = `${ISSUER}/token`
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
export const START = 1_800_000_000
export const CLOCK_SKEW = 60
export const MAX_ASSERTION_LIFETIME = 300

/**
 * An embedder's own grant, registered through the public `grants` option. It
 * accepts public clients (`clientAuth: 'optional'`) and echoes who was
 * authenticated and how, so tests can see the outcome of authentication.
 */
export const ECHO_GRANT = 'urn:example:params:oauth:grant-type:echo'
export const echoGrant: GrantHandler = {
  grantType: ECHO_GRANT,
  parameters: [],
  clientAuth: 'optional',
  async handle(ctx) {
    return { access_token: `echo-${ctx.client.id}`, token_type: 'Bearer', client_id: ctx.client.id, auth_method: ctx.clientAuthMethod }
  },
}

/** A client's key pair: the private key signs, the public JWK is registered. */
export interface TestKey {
  readonly alg: 'ES256' | 'RS256'
  readonly kid: string
  readonly privateKey: CryptoKey
  readonly publicKey: CryptoKey
  readonly publicJwk: JWK
}

export interface TestKeys {
  /** Registered for `pkjwt` and `pinned`. */
  readonly es256: TestKey
  /** Registered for `pkjwt` and `pinned`. */
  readonly rs256: TestKey
  /** Registered for nobody. */
  readonly stranger: TestKey
}

async function makeKey(alg: 'ES256' | 'RS256', kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { alg, kid, privateKey, publicKey, publicJwk }
}

let keysOnce: Promise<TestKeys> | undefined
/** Key pairs, generated once per test file. */
export function testKeys(): Promise<TestKeys> {
  keysOnce ??= (async () => ({
    es256: await makeKey('ES256', 'client-es256'),
    rs256: await makeKey('RS256', 'client-rs256'),
    stranger: await makeKey('ES256', 'stranger-es256'),
  }))()
  return keysOnce
}

export const SECRETS = {
  svc: 'svc-secret-0123456789',
  post: 'post-secret-0123456789',
  hashed: 'hashed-secret-0123456789',
  expired: 'expired-secret-0123456789',
  expiring: 'expiring-secret-0123456789',
  /** RFC 6749 §2.3.1: characters that must be form-url-encoded in a Basic header. */
  weird: 'p:a+s%s w rd',
  /** 64 bytes and more: long enough for HS512 (RFC 7518 §3.2). */
  hmac: 'hmac-secret-of-at-least-sixty-four-bytes-so-that-hs512-is-fine!!',
  /** 40 bytes: enough for HS256, too short for HS384 and HS512. */
  hmacShort: 'hmac-secret-of-exactly-forty-bytes-long!',
  hmacExpired: 'expired-hmac-secret-of-at-least-32-bytes!',
} as const

/** A client_id with the same awkward characters as its secret. */
export const WEIRD_ID = 'weird:id +%'

/** `sha256:` + base64url(SHA-256(secret)), the form of `client_secret_hash`. */
export function secretHash(secret: string): string {
  return 'sha256:' + createHash('sha256').update(secret, 'utf8').digest('base64url')
}

const GRANTS = ['client_credentials', ECHO_GRANT]

export function testClients(keys: TestKeys): ClientMetadata[] {
  const jwks = { keys: [keys.es256.publicJwk, keys.rs256.publicJwk] }
  return [
    { client_id: 'svc', client_secret: SECRETS.svc, grant_types: GRANTS, scope: 'api:read' },
    { client_id: 'post', client_secret: SECRETS.post, token_endpoint_auth_method: 'client_secret_post', grant_types: GRANTS, scope: 'api:read' },
    { client_id: 'hashed', client_secret_hash: secretHash(SECRETS.hashed), grant_types: GRANTS, scope: 'api:read' },
    { client_id: 'expired', client_secret: SECRETS.expired, client_secret_expires_at: START - 1, grant_types: GRANTS, scope: 'api:read' },
    { client_id: 'expiring', client_secret: SECRETS.expiring, client_secret_expires_at: START + 3600, grant_types: GRANTS, scope: 'api:read' },
    { client_id: WEIRD_ID, client_secret: SECRETS.weird, grant_types: GRANTS, scope: 'api:read' },
    { client_id: 'pub', token_endpoint_auth_method: 'none', grant_types: GRANTS, scope: 'api:read' },
    { client_id: 'pkjwt', token_endpoint_auth_method: 'private_key_jwt', jwks, grant_types: GRANTS, scope: 'api:read' },
    {
      client_id: 'pinned',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks,
      grant_types: GRANTS,
      scope: 'api:read',
    },
    { client_id: 'hmac', client_secret: SECRETS.hmac, token_endpoint_auth_method: 'client_secret_jwt', grant_types: GRANTS, scope: 'api:read' },
    { client_id: 'hmac-short', client_secret: SECRETS.hmacShort, token_endpoint_auth_method: 'client_secret_jwt', grant_types: GRANTS, scope: 'api:read' },
    {
      client_id: 'hmac-expired',
      client_secret: SECRETS.hmacExpired,
      client_secret_expires_at: START - 1,
      token_endpoint_auth_method: 'client_secret_jwt',
      grant_types: GRANTS,
      scope: 'api:read',
    },
  ]
}

export interface Harness {
  readonly server: AuthorizationServer
  readonly clock: ReturnType<typeof fakeClock>
  readonly keys: TestKeys
  /** Every event the server emitted, in order. */
  readonly events: GrantkitEvent[]
  /** POSTs a form to the token endpoint; `undefined` values are left out. */
  token(params: Record<string, string | undefined>, headers?: Record<string, string>): Promise<GrantkitResponse>
  /** An assertion from `sub` (default `pkjwt`) signed with `key`, with claims overridden by `claims`. */
  assertion(key: TestKey | Uint8Array, claims?: AssertionClaims, header?: Record<string, unknown>): Promise<string>
}

/** Claim overrides for `assertion`: `undefined` leaves the claim out. */
export type AssertionClaims = { [K in 'iss' | 'sub' | 'aud' | 'exp' | 'iat' | 'nbf' | 'jti']?: JWTPayload[K] | undefined } & Record<string, unknown>

/** Builds the claims of a client assertion: RFC 7523 §3 defaults, then `claims` over them. */
export function assertionClaims(now: number, nextJti: () => string, claims: AssertionClaims = {}): JWTPayload {
  const sub = typeof claims.sub === 'string' ? claims.sub : 'pkjwt'
  const payload: Record<string, unknown> = { iss: sub, sub, aud: TOKEN_URL, iat: now, exp: now + 60, jti: nextJti() }
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined) delete payload[name]
    else payload[name] = value
  }
  return payload
}

export async function setup(options: { maxAssertionLifetime?: number; clockSkew?: number } = {}): Promise<Harness> {
  const keys = await testKeys()
  const clock = fakeClock(START)
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients: testClients(keys),
    grants: [...defaultGrants, echoGrant],
    clockSkew: options.clockSkew ?? CLOCK_SKEW,
    maxAssertionLifetime: options.maxAssertionLifetime ?? MAX_ASSERTION_LIFETIME,
    deps: { now: clock.now, randomId: counterIds(), randomToken: counterIds('token') },
  })
  const events: GrantkitEvent[] = []
  server.on('*', (e) => void events.push(e))
  const nextJti = counterIds('jti')
  return {
    server,
    clock,
    keys,
    events,
    token: (params, headers = {}) => server.token(tokenRequest(params, headers)),
    assertion: async (key, claims = {}, header = {}) => {
      const payload = assertionClaims(clock.now(), nextJti, claims)
      const jwt = new SignJWT(payload)
      if (key instanceof Uint8Array) return jwt.setProtectedHeader({ alg: 'HS256', ...header }).sign(key)
      return jwt.setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey)
    },
  }
}

/** A plain token request object, as an adapter would build it. */
export function tokenRequest(params: Record<string, string | undefined>, headers: Record<string, string> = {}): GrantkitRequest {
  const form = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) if (value !== undefined) form.set(name, value)
  return {
    method: 'POST',
    url: new URL(TOKEN_URL),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: form.toString(),
  }
}

/** RFC 6749 §2.3.1: form-url-encode id and secret, join with ':', base64. */
export function basicHeader(id: string, secret: string): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+')
  return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`, 'utf8').toString('base64')
}

/** A JWS with `alg: none` and no signature, made by hand (jose will not make one). */
export function unsecuredJwt(payload: JWTPayload, header: Record<string, unknown> = {}): string {
  const part = (v: unknown): string => base64url.encode(JSON.stringify(v))
  return `${part({ alg: 'none', ...header })}.${part(payload)}.`
}

export function body(res: GrantkitResponse): Record<string, unknown> {
  return JSON.parse(res.body ?? 'null') as Record<string, unknown>
}

/** RFC 6749 §5.2: invalid_client is 401 with a WWW-Authenticate header, and never cached. */
export function expectInvalidClient(res: GrantkitResponse): void {
  expect({ status: res.status, error: body(res).error }).toEqual({ status: 401, error: 'invalid_client' })
  expect(res.headers['www-authenticate']).toMatch(/^Basic realm="[^"]*"$/)
  expect(res.headers['cache-control']).toBe('no-store')
}

/** RFC 6749 §5.2: a 400 with the given error code (and no WWW-Authenticate). */
export function expectError(res: GrantkitResponse, error: string, status = 400): void {
  expect({ status: res.status, error: body(res).error }).toEqual({ status, error })
  expect(res.headers['cache-control']).toBe('no-store')
}

/** A successful echo-grant response that names the client and method authenticated. */
export function expectAuthenticated(res: GrantkitResponse, clientId: string, method: string): void {
  expect(res.status).toBe(200)
  expect(body(res)).toMatchObject({ client_id: clientId, auth_method: method })
}

export function failures(events: readonly GrantkitEvent[]): Array<Extract<GrantkitEvent, { type: 'client.authentication.failed' }>> {
  return events.filter((e): e is Extract<GrantkitEvent, { type: 'client.authentication.failed' }> => e.type === 'client.authentication.failed')
}
