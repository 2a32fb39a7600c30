import { defaults } from '../config/defaults.js'
import { jsonNoStore, serverErrorResponse } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import type { ServerContext } from '../context.js'
import { contextOf, type AuthorizationServer } from '../server.js'
import { bearerError, bodyMayCarryToken, extractBearer } from './bearer.js'
import { createIntrospectionVerifier } from './introspection.js'
import { ASYMMETRIC_ALGORITHMS, isAsymmetricAlgorithm } from '../crypto/jose.js'
import { createJwksVerifier } from './jwks.js'
import { createLocalVerifier } from './local.js'
import { checkResourceIdentifier, createResourceMetadataEndpoint, type ProtectedResourceMetadataOptions, type ResourceMetadataEndpoint } from './metadata.js'
import type { TokenVerifier, VerifiedToken } from './types.js'
import { checkDpopBinding, dpopChallenge, dpopError, readDpopAuthorization, type DpopResourceErrorCode, type DpopResourcePolicy } from '../dpop/resource.js'
import { createMemoryReplayStore } from '../storage/memory.js'
import type { ReplayStore } from '../storage/types.js'

export type { VerifiedToken } from './types.js'
export type { ProtectedResourceMetadataOptions } from './metadata.js'

/** Verify JWT access tokens (RFC 9068) with the keys a remote authorization server publishes. */
export interface RemoteJwksOptions {
  /** The `iss` every token must carry, exactly. */
  issuer: string
  /** Where the keys are (https, or http for a loopback host). */
  jwksUri: string
  /** JWS algorithms accepted; asymmetric ones only. Default: every algorithm of grantkit's asymmetric allow-list (RS, PS, ES 256/384/512, EdDSA, Ed25519). */
  algorithms?: string[]
  /** Seconds after a fetch before an unknown kid may trigger another (key rotation). Default 30. */
  cooldownSeconds?: number
  /** Seconds the key set is kept before it is fetched again. Default 600. */
  cacheMaxAgeSeconds?: number
  /** Seconds before a JWKS request is abandoned (then 503). Default 5. */
  timeoutSeconds?: number
  /** Tolerance in seconds for exp, nbf and iat. Default 60 (`defaults.clockSkew`). */
  clockSkew?: number
}

/** Verify opaque tokens at a remote introspection endpoint (RFC 7662). */
export interface RemoteIntrospectionOptions {
  /** The endpoint's URL (https, or http for a loopback host). */
  introspectionEndpoint: string
  /** This resource server's client credentials, sent as client_secret_basic. */
  clientId: string
  clientSecret: string
  /** Seconds an active answer is reused, never past the token's exp; 0 turns the cache off. Default 30. */
  cacheSeconds?: number
  /** Seconds an inactive answer is reused (at most cacheSeconds). Default 5. */
  inactiveCacheSeconds?: number
  /** Most answers cached at once. Default 10000. */
  cacheMaxEntries?: number
  /** Seconds before an introspection request is abandoned (then 503). Default 5. */
  timeoutSeconds?: number
}

/**
 * DPoP (RFC 9449 §7) at a protected resource: requests with
 * `Authorization: DPoP <token>` and a `DPoP` proof. Seconds.
 */
export interface ResourceDpopOptions {
  /**
   * The origin clients reach this API at (`https://api.example`): a proof's
   * `htu` must be it plus the request's path (RFC 9449 §4.3 step 9). Default:
   * the origin of the first `audience` that is an http(s) URL. Without either
   * the DPoP scheme is not accepted (and DPoP-bound tokens are refused): the
   * Host header, which a client chooses, is never trusted for it.
   */
  origin?: string
  /**
   * Where proof `jti`s are remembered, so that a proof is used once (§11.1).
   * Default: with `server`, that server's storage; otherwise memory of this
   * process (give a shared store when several processes serve the API).
   */
  replay?: ReplayStore
  /** Proof algorithms accepted; asymmetric only. Default: every one of grantkit's asymmetric allow-list. */
  algorithms?: string[]
  /** Seconds a proof is accepted after its `iat`. Default 60. */
  proofMaxAge?: number
  /** Seconds a proof's `iat` may be ahead of the clock. Default 5. */
  proofClockSkew?: number
}

/**
 * Options of `createResourceProtector`. Give exactly one of `server`, `jwks`
 * or `introspection`.
 */
export interface ResourceProtectorOptions {
  /** An authorization server in this process: JWT and opaque tokens, revocation included, no network. */
  server?: AuthorizationServer
  /** A remote authorization server's JWKS, for JWT access tokens. */
  jwks?: RemoteJwksOptions
  /** A remote introspection endpoint, for opaque tokens. */
  introspection?: RemoteIntrospectionOptions
  /**
   * This resource server's identifier (RFC 9728 §1.2, RFC 8707 §2): an https
   * URL without fragment. With it, a token must name it in `aud` (unless
   * `audience` says otherwise), the protector serves the protected resource
   * metadata (RFC 9728) at its well-known URL (`handleMetadata`), and every
   * challenge points there with `resource_metadata` (RFC 9728 §5.1). With
   * `server`, it must be one of that server's `resourceServers`.
   */
  resource?: string
  /** More of the protected resource metadata document (RFC 9728 §2); needs `resource`. */
  metadata?: ProtectedResourceMetadataOptions
  /**
   * The identifiers a token must name (one of) in `aud` (RFC 9068 §4, RFC 7662
   * §2.2). Applies to every mode. Default: `[resource]` when `resource` is
   * given; else, with `server`, that server's `accessTokenAudience` (so a
   * token issued for a particular resource server is refused here); else
   * (remote modes) not checked.
   */
  audience?: string | string[]
  /** `realm` of the WWW-Authenticate challenge. Default: the audience, else the issuer (or the introspection endpoint's origin). */
  realm?: string
  /**
   * Accept `access_token` in a POST form body (RFC 6750 §2.2). Default `false`:
   * a body token is then not looked at, as if absent.
   */
  allowBodyToken?: boolean
  /**
   * Accept `access_token` in the query (RFC 6750 §2.3). Default `false`, and
   * best left so: URLs end up in logs and Referer headers.
   */
  allowQueryToken?: boolean
  /** The fetch used for JWKS and introspection requests. Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch
  /** Clock for exp checks and the cache, in seconds since the epoch. With `server`, the server's own clock rules. */
  deps?: { now?: () => number }
  /** Told why a request got 503 (network, timeout, storage) or 500. For logs; never reaches the client. */
  onError?: (error: unknown) => void
  /** DPoP-bound tokens (RFC 9449 §7): where this API is, and how proofs are checked. */
  dpop?: ResourceDpopOptions
}

/** The verdict on one request. */
export type ProtectionResult = { ok: true; token: VerifiedToken } | { ok: false; response: GrantkitResponse }

/** Checks bearer tokens (RFC 6750) and DPoP-bound tokens (RFC 9449 §7) on requests to a protected resource. */
export interface ResourceProtector {
  /**
   * Finds the bearer token, verifies it and checks that it carries every one
   * of `requiredScopes`. Never throws on what a client sends; `response` is
   * the complete RFC 6750 §3 answer to send back. A `requiredScopes` that is
   * not a list of scope tokens is a TypeError (a programming mistake).
   */
  check(req: GrantkitRequest, requiredScopes?: readonly string[]): Promise<ProtectionResult>
  /**
   * True when `check` would look for a token in this request's body. Adapters
   * ask it (with a request that has no body yet) to read the body only then.
   */
  readsBody(req: GrantkitRequest): boolean
  /** The resource identifier (option `resource`), when given. */
  readonly resource: string | undefined
  /** RFC 9728 §3.1: where the metadata document is served; undefined without `resource`. */
  readonly resourceMetadataUrl: string | undefined
  /** RFC 9728 §2: the metadata document; undefined without `resource`. */
  readonly resourceMetadata: Readonly<Record<string, unknown>> | undefined
  /**
   * The answer to a request for the metadata document: GET or HEAD at its
   * well-known path (RFC 9728 §3.1) gets it, another method 405. Undefined
   * for every other path, and always without `resource`, so that a server
   * falls through to its own routes.
   *
   * @example
   * const res = protector.handleMetadata(req)
   * if (res !== undefined) return res
   */
  handleMetadata(req: GrantkitRequest): GrantkitResponse | undefined
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])
// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/
const NO_SCOPES: readonly string[] = Object.freeze([])

function fail(path: string, message: string): never {
  throw new TypeError(`${path}: ${message}`)
}

function httpsUrl(value: unknown, path: string): URL {
  if (typeof value !== 'string') fail(path, 'must be a URL string')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    fail(path, `"${value}" is not a URL`)
  }
  // SECURITY: keys and client secrets travel over TLS; plain http only to this machine.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) fail(path, 'must be https (http only for loopback hosts)')
  return url
}

function seconds(value: unknown, fallback: number, path: string, min = 0): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) fail(path, `must be a number of seconds >= ${min}`)
  return value
}

function nonEmpty(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') fail(path, 'must be a non-empty string')
  return value
}

/**
 * Validates a list of required scopes once, when a middleware is built, so a
 * typo is a TypeError at startup rather than a failure per request.
 */
export function checkRequiredScopes(scopes: unknown, path = 'requiredScopes'): readonly string[] {
  if (scopes === undefined) return NO_SCOPES
  if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string' || !SCOPE_TOKEN.test(s))) {
    fail(path, 'must be an array of scope tokens (RFC 6749 §3.3)')
  }
  return scopes as string[]
}

function unavailable(): GrantkitResponse {
  return jsonNoStore(
    503,
    { error: 'temporarily_unavailable', error_description: 'The token cannot be verified right now; try again later.' },
    { 'retry-after': '5' },
  )
}

/**
 * The protector's DPoP settings, checked once: the origin proofs name (never
 * from the Host header), the replay store and the proof policy. Undefined when
 * no origin is known: the DPoP scheme is then not accepted.
 */
function resourceDpop(options: ResourceDpopOptions | undefined, audience: string[] | undefined, serverReplay: ReplayStore | undefined, now: () => number): { policy: DpopResourcePolicy; origin: string } | undefined {
  if (options !== undefined && (typeof options !== 'object' || options === null)) fail('dpop', 'must be an object')
  let origin: string | undefined
  if (options?.origin !== undefined) {
    const url = httpsUrlOrAny(options.origin, 'dpop.origin')
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '') fail('dpop.origin', 'must be an origin (scheme, host and port), without path, query or fragment')
    origin = url.origin
  } else {
    for (const a of audience ?? []) {
      if (/^https?:\/\//i.test(a)) {
        try {
          origin = new URL(a).origin
          break
        } catch {
          // Not a URL after all: try the next audience.
        }
      }
    }
  }
  if (origin === undefined) return undefined
  const algorithms = options?.algorithms ?? [...ASYMMETRIC_ALGORITHMS]
  // RFC 9449 §4.3 step 5: asymmetric only; none and HMAC never.
  if (!Array.isArray(algorithms) || algorithms.length === 0 || algorithms.some((a) => !isAsymmetricAlgorithm(a))) {
    fail('dpop.algorithms', `must be a non-empty list of asymmetric algorithms (${ASYMMETRIC_ALGORITHMS.join(', ')})`)
  }
  const replay = options?.replay ?? serverReplay ?? createMemoryReplayStore(now)
  if (typeof replay.markUsed !== 'function') fail('dpop.replay', 'must be a ReplayStore (markUsed)')
  return {
    origin,
    policy: {
      algs: algorithms.join(' '),
      proofs: {
        algorithms: new Set(algorithms),
        maxAge: seconds(options?.proofMaxAge, 60, 'dpop.proofMaxAge', 1),
        clockSkew: seconds(options?.proofClockSkew, 5, 'dpop.proofClockSkew'),
        replay,
      },
    },
  }
}

function httpsUrlOrAny(value: unknown, path: string): URL {
  if (typeof value !== 'string') fail(path, 'must be a URL string')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    fail(path, `"${value}" is not a URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(path, 'must be an http(s) origin')
  return url
}

/**
 * Protects an API with bearer tokens (RFC 6750), verified by an authorization
 * server in this process, a remote JWKS (RFC 9068 JWTs) or a remote
 * introspection endpoint (RFC 7662). Options are validated here; mistakes are
 * a TypeError naming the field.
 *
 * @example
 * const protector = createResourceProtector({
 *   jwks: { issuer: 'https://as.example', jwksUri: 'https://as.example/jwks' },
 *   audience: 'https://api.example',
 * })
 * const result = await protector.check(req, ['orders:read'])
 * if (!result.ok) return result.response
 */
export function createResourceProtector(options: ResourceProtectorOptions): ResourceProtector {
  if (typeof options !== 'object' || options === null) throw new TypeError('options: must be an object')
  const modes = (['server', 'jwks', 'introspection'] as const).filter((m) => options[m] !== undefined)
  if (modes.length !== 1) fail('options', `give exactly one of server, jwks, introspection (got ${modes.length === 0 ? 'none' : modes.join(', ')})`)
  if (options.fetch !== undefined && typeof options.fetch !== 'function') fail('fetch', 'must be a fetch function')
  if (options.deps?.now !== undefined && typeof options.deps.now !== 'function') fail('deps.now', 'must be a function returning seconds')
  if (options.onError !== undefined && typeof options.onError !== 'function') fail('onError', 'must be a function')
  for (const name of ['allowBodyToken', 'allowQueryToken'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') fail(name, 'must be a boolean')
  }
  let audience: string[] | undefined
  if (options.audience !== undefined) {
    audience = typeof options.audience === 'string' ? [options.audience] : options.audience
    if (!Array.isArray(audience) || audience.length === 0 || audience.some((a) => typeof a !== 'string' || a === '')) {
      fail('audience', 'must be a non-empty string or array of strings')
    }
  }
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const now = options.deps?.now ?? (() => Date.now() / 1000)

  const resourceUrl = options.resource === undefined ? undefined : checkResourceIdentifier(options.resource, 'resource')
  const resource = resourceUrl === undefined ? undefined : (options.resource as string)
  if (options.metadata !== undefined && resource === undefined) fail('metadata', 'needs resource: the document describes that resource (RFC 9728 §2)')
  if (options.metadata !== undefined && (typeof options.metadata !== 'object' || options.metadata === null)) fail('metadata', 'must be an object')
  if (audience === undefined && resource !== undefined) audience = [resource]
  // The audience this API named itself (or its resource): the only one whose origin may stand for the API's own in a DPoP proof's htu.
  const namedAudience = audience

  let verify: TokenVerifier
  let defaultRealm: string
  let issuer: string | undefined
  let scopesSupported: readonly string[] | undefined
  if (options.server !== undefined) {
    let ctx: ServerContext
    try {
      ctx = contextOf(options.server)
    } catch {
      fail('server', 'must be an AuthorizationServer from createAuthorizationServer')
    }
    verify = createLocalVerifier(ctx)
    defaultRealm = ctx.issuer
    issuer = ctx.issuer
    if (resource !== undefined) {
      const entry = ctx.resourceServers.get(resource)
      // A token for a resource the server does not know would be invalid_target: this protector would refuse everything.
      if (entry === undefined) fail('resource', `"${resource}" is not one of the server's resourceServers, so no token could name it`)
      scopesSupported = [...entry.scopes]
    }
    // RFC 9068 §4: the audience is checked by default; in-process, we know what the server puts in aud.
    audience ??= typeof ctx.accessTokenAudience === 'string' ? [ctx.accessTokenAudience] : [...ctx.accessTokenAudience]
  } else if (options.jwks !== undefined) {
    const j = options.jwks
    if (typeof j !== 'object' || j === null) fail('jwks', 'must be an object')
    issuer = nonEmpty(j.issuer, 'jwks.issuer')
    const algorithms = j.algorithms ?? [...ASYMMETRIC_ALGORITHMS]
    if (!Array.isArray(algorithms) || algorithms.length === 0 || algorithms.some((a) => !isAsymmetricAlgorithm(a))) {
      fail('jwks.algorithms', `must be a non-empty list of asymmetric algorithms (${ASYMMETRIC_ALGORITHMS.join(', ')})`)
    }
    verify = createJwksVerifier({
      issuer,
      jwksUri: httpsUrl(j.jwksUri, 'jwks.jwksUri'),
      algorithms,
      cooldown: seconds(j.cooldownSeconds, 30, 'jwks.cooldownSeconds'),
      cacheMaxAge: seconds(j.cacheMaxAgeSeconds, 600, 'jwks.cacheMaxAgeSeconds'),
      timeout: seconds(j.timeoutSeconds, 5, 'jwks.timeoutSeconds', 0.001),
      clockSkew: seconds(j.clockSkew, defaults.clockSkew, 'jwks.clockSkew'),
      now,
      fetch: fetchImpl,
    })
    defaultRealm = issuer
  } else {
    const i = options.introspection
    if (typeof i !== 'object' || i === null) fail('introspection', 'must be an object')
    const endpoint = httpsUrl(i.introspectionEndpoint, 'introspection.introspectionEndpoint')
    const cacheSeconds = seconds(i.cacheSeconds, 30, 'introspection.cacheSeconds')
    const cacheMaxEntries = i.cacheMaxEntries ?? 10_000
    if (!Number.isInteger(cacheMaxEntries) || cacheMaxEntries < 1) fail('introspection.cacheMaxEntries', 'must be a whole number >= 1')
    verify = createIntrospectionVerifier({
      endpoint: endpoint.href,
      clientId: nonEmpty(i.clientId, 'introspection.clientId'),
      clientSecret: nonEmpty(i.clientSecret, 'introspection.clientSecret'),
      cacheSeconds,
      inactiveCacheSeconds: seconds(i.inactiveCacheSeconds, Math.min(5, cacheSeconds), 'introspection.inactiveCacheSeconds'),
      cacheMaxEntries,
      timeout: seconds(i.timeoutSeconds, 5, 'introspection.timeoutSeconds', 0.001),
      now,
      fetch: fetchImpl,
    })
    defaultRealm = endpoint.origin
  }

  const serverCtx = options.server !== undefined ? contextOf(options.server) : undefined
  // With `server`, its clock rules proofs as it rules tokens.
  const proofNow = serverCtx?.now ?? now
  // SECURITY: never the server's default audience (its issuer, likely another origin than this API's): htu from a guess is refused, not made up.
  const dpop = resourceDpop(options.dpop, namedAudience, serverCtx?.storage.replay, proofNow)

  const realm = options.realm ?? audience?.[0] ?? defaultRealm
  // RFC 7235 §2.1: realm is a quoted-string; we allow no quote, backslash or control character in it.
  if (typeof realm !== 'string' || realm === '' || /["\\\x00-\x1f\x7f]/.test(realm)) fail('realm', 'must be a non-empty string without quotes, backslashes or control characters')
  const allowBody = options.allowBodyToken === true
  const queryPolicy = options.allowQueryToken === true ? 'accept' : 'ignore'
  const report = options.onError ?? (() => {})
  let metadata: ResourceMetadataEndpoint | undefined
  if (resource !== undefined) {
    metadata = createResourceMetadataEndpoint({
      resource,
      authorizationServers: issuer === undefined ? undefined : [issuer],
      scopesSupported,
      // RFC 9728 §2: how this resource accepts tokens (RFC 6750 §2.1, §2.2, §2.3).
      bearerMethods: ['header', ...(allowBody ? ['body'] : []), ...(queryPolicy === 'accept' ? ['query'] : [])],
      options: options.metadata ?? {},
      path: 'metadata',
    })
    // The URL goes into a quoted-string of the challenge (RFC 7235 §2.1).
    if (/["\\\x00-\x1f\x7f]/.test(metadata.url)) fail('resource', 'must not contain quotes, backslashes or control characters')
  }
  const metadataUrl = metadata?.url
  const challenge = (error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope', description?: string, scope?: string) => bearerError(realm, error, description, scope, metadataUrl)

  /** RFC 9449 §7.1: a request without credentials learns that DPoP is accepted too. */
  const noCredentials = (): GrantkitResponse => {
    const response = challenge()
    if (dpop !== undefined) response.headers['www-authenticate'] += `, ${dpopChallenge(realm, dpop.policy.algs, undefined, undefined, undefined, metadataUrl)}`
    return response
  }

  async function verifyToken(token: string): Promise<VerifiedToken | 'invalid' | GrantkitResponse> {
    let outcome
    try {
      outcome = await verify(token)
    } catch (err) {
      // A bug or an unexpected failure: fail closed, tell no one but the log.
      report(err)
      return serverErrorResponse()
    }
    if (outcome.status === 'unavailable') {
      report(outcome.cause)
      return unavailable()
    }
    if (outcome.status === 'invalid') return 'invalid'
    const verified = outcome.token
    // RFC 9068 §4 / RFC 7662 §2.2: the token must be meant for this resource server.
    if (audience !== undefined && !verified.aud.some((a) => audience!.includes(a))) return 'invalid'
    return verified
  }

  async function check(req: GrantkitRequest, requiredScopes?: readonly string[]): Promise<ProtectionResult> {
    const required = checkRequiredScopes(requiredScopes)
    // A request without the DPoP scheme pays one regular-expression test for it, nothing more.
    const dpopCredential = dpop === undefined ? undefined : readDpopAuthorization(req.headers.authorization)
    if (dpopCredential !== undefined) return checkDpop(req, dpopCredential, required)
    const { token, error } = extractBearer(req, allowBody, queryPolicy)
    if (error !== undefined) return { ok: false, response: challenge('invalid_request', 'The bearer token is malformed or sent more than once.') }
    // RFC 6750 §3.1: no credentials at all → 401 without an error code; RFC 9728 §5.1 says where to find the metadata.
    if (token === undefined) return { ok: false, response: noCredentials() }
    const verified = await verifyToken(token)
    if (verified === 'invalid') return { ok: false, response: challenge('invalid_token', 'The access token is invalid, expired or revoked.') }
    if ('status' in verified) return { ok: false, response: verified }
    // SECURITY: RFC 9449 §7.1: a DPoP-bound token is no bearer token; without its proof it is worth nothing.
    if (verified.jkt !== undefined) {
      const response = challenge('invalid_token', 'The access token is bound to a DPoP key; send it with the DPoP scheme and a proof.')
      if (dpop !== undefined) response.headers['www-authenticate'] += `, ${dpopChallenge(realm, dpop.policy.algs, undefined, undefined, undefined, metadataUrl)}`
      return { ok: false, response }
    }
    // RFC 6750 §3.1: every required scope must be granted; the challenge names them all.
    if (required.some((s) => !verified.scope.includes(s))) {
      return { ok: false, response: challenge('insufficient_scope', 'The access token lacks a required scope.', required.join(' ')) }
    }
    return { ok: true, token: verified }
  }

  /** RFC 9449 §7.1: `Authorization: DPoP <token>` with a proof by the key the token is bound to. */
  async function checkDpop(req: GrantkitRequest, credential: { token: string } | 'malformed', required: readonly string[]): Promise<ProtectionResult> {
    const d = dpop!
    const fail = (error: DpopResourceErrorCode, description: string, extra: { scope?: string; nonce?: string } = {}): ProtectionResult => ({ ok: false, response: dpopError(realm, d.policy.algs, error, description, metadataUrl === undefined ? extra : { ...extra, resourceMetadata: metadataUrl }) })
    if (credential === 'malformed') return fail('invalid_request', 'The DPoP authorization header is malformed.')
    // RFC 6750 §2: one way of sending the token; a body or query token besides the header is malformed.
    const elsewhere = extractBearer(req, allowBody, queryPolicy)
    if (elsewhere.token !== undefined || elsewhere.error !== undefined) return fail('invalid_request', 'The access token is sent more than once.')
    const verified = await verifyToken(credential.token)
    if (verified === 'invalid') return fail('invalid_token', 'The access token is invalid, expired or revoked.')
    if ('status' in verified) return { ok: false, response: verified }
    // A bearer token sent with the DPoP scheme binds nothing: refused, so the scheme always means a proof was checked.
    if (verified.jkt === undefined) return fail('invalid_token', 'The access token is not bound to a DPoP key.')
    const htu = d.origin + req.url.pathname
    let failure
    try {
      failure = await checkDpopBinding(d.policy, req, htu, credential.token, verified.jkt, proofNow())
    } catch (err) {
      // The replay store failed: fail closed.
      report(err)
      return { ok: false, response: unavailable() }
    }
    if (failure !== undefined) return fail(failure.error, failure.description, failure.nonce === undefined ? {} : { nonce: failure.nonce })
    if (required.some((s) => !verified.scope.includes(s))) return fail('insufficient_scope', 'The access token lacks a required scope.', { scope: required.join(' ') })
    return { ok: true, token: verified }
  }

  return {
    check,
    readsBody: (req) => bodyMayCarryToken(req, allowBody),
    resource,
    resourceMetadataUrl: metadataUrl,
    resourceMetadata: metadata?.document,
    handleMetadata: (req) => metadata?.handle(req),
  }
}
