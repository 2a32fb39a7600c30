import * as nodeCrypto from 'node:crypto'
import { createHash, createPublicKey, type JsonWebKey as NodeJsonWebKey } from 'node:crypto'
import { HMAC_ALGORITHMS, HMAC_MIN_KEY_BYTES, localKeySet, type JSONWebKeySet, type JWK, type LocalKeySet } from '../crypto/jose.js'
import { ID_TOKEN_DEFAULT_ALGORITHM } from '../keys/key-store.js'
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../keys/signing-key.js'
import { isPrivateHost, outboundUrlProblem } from '../http/outbound.js'
import { checkLogoutMetadata } from '../logout/client-metadata.js'
import { checkRequestMetadata } from '../jar/client-metadata.js'

/** Client authentication methods at the token endpoint (RFC 7591 §2, OIDC Core §9). */
export type ClientAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'none'

export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'none',
]

/**
 * Client metadata with the names of RFC 7591 §2, as a registry or a config file
 * holds it. Fields not listed are kept and ignored.
 */
export interface ClientMetadata {
  client_id: string
  /** The secret itself. Kept in memory only as a hash unless the client uses client_secret_jwt. */
  client_secret?: string
  /** Instead of `client_secret`: `sha256:` followed by the base64url SHA-256 of the secret. */
  client_secret_hash?: string
  /** Seconds since the epoch after which the secret no longer authenticates; 0 means never. */
  client_secret_expires_at?: number
  client_name?: string
  redirect_uris?: string[]
  /** Default `["authorization_code"]` (RFC 7591 §2). */
  grant_types?: string[]
  /** Default `["code"]` (RFC 7591 §2). */
  response_types?: string[]
  /** Default `client_secret_basic` (RFC 7591 §2). */
  token_endpoint_auth_method?: ClientAuthMethod
  /** Restricts the JWS algorithm of client assertions. */
  token_endpoint_auth_signing_alg?: string
  /** Space-separated scopes the client may ask for. */
  scope?: string
  /** grantkit extension: scopes granted when a request omits `scope`. Default: all of `scope`. */
  default_scope?: string
  /** The client's public keys, for private_key_jwt and JWT bearer assertions it signs. */
  jwks?: JSONWebKeySet
  /**
   * Instead of `jwks`: the https URL of the client's JWK Set (RFC 7591 §2),
   * fetched when a key is needed and cached (see docs/client-authentication.md).
   */
  jwks_uri?: string
  /**
   * grantkit extension: subjects this client may name in JWT bearer assertions
   * (RFC 7523) it signs with its own keys, besides itself. Default: only itself.
   */
  jwt_bearer_subjects?: string[]
  /**
   * Origins (`scheme://host[:port]`) whose browser pages may call the token,
   * revocation, userinfo and device authorization endpoints for this client
   * (CORS). Default: for a public client (`none`), the origins of its http(s)
   * redirect URIs; for a confidential one, none.
   */
  allowed_origins?: string[]
  /**
   * JWS algorithm of the ID tokens issued to the client (OIDC Registration §2):
   * one of the asymmetric algorithms the server has a key for. Default `RS256`
   * (OIDC Core §3.1.3.7). `none` is refused.
   */
  id_token_signed_response_alg?: string
  /** Where the client may send a person after RP-initiated logout; exact match (OIDC RP-Initiated Logout §3.1). */
  post_logout_redirect_uris?: string[]
  /** Where logout tokens are posted when a session the client is in ends (OIDC Back-Channel Logout §2.2). */
  backchannel_logout_uri?: string
  /** The client needs `sid` in logout tokens (OIDC Back-Channel Logout §2.2); grantkit always sends it. */
  backchannel_logout_session_required?: boolean
  /** Accept its authorization requests only through the PAR endpoint (RFC 9126 §6). Default false. */
  require_pushed_authorization_requests?: boolean
  /** Accept its authorization requests only as signed request objects (RFC 9101 §10.5). Default false; needs `jwks`. */
  require_signed_request_object?: boolean
  /** The one JWS algorithm its request objects may use (RFC 9101 §10.5): asymmetric only. Default: any asymmetric one. */
  request_object_signing_alg?: string
  /** Every token request of the client must carry a DPoP proof, so its access tokens are always DPoP-bound (RFC 9449 §5.2). Default false. */
  dpop_bound_access_tokens?: boolean
  [extension: string]: unknown
}

/** A client as the core uses it: metadata checked once, with everything per-request prepared. */
export interface Client {
  readonly id: string
  readonly metadata: Readonly<ClientMetadata>
  readonly authMethod: ClientAuthMethod
  /** True for clients that authenticate with `none` (RFC 6749 §2.1 public clients). */
  readonly isPublic: boolean
  readonly grantTypes: ReadonlySet<string>
  readonly responseTypes: ReadonlySet<string>
  readonly redirectUris: readonly string[]
  /** Scopes the client may be granted. */
  readonly scopes: ReadonlySet<string>
  /** Scope used when a request omits it. */
  readonly defaultScope: string
  /** SHA-256 of the client secret, for constant-time comparison. */
  readonly secretHash: Buffer | undefined
  readonly secretExpiresAt: number
  /**
   * A stored client's secret replaced by the last rotation: it keeps
   * authenticating until `validUntil` (seconds since the epoch), so that the
   * client can switch to the new secret without an outage.
   */
  readonly previousSecret?: { readonly hash: Buffer; readonly validUntil: number }
  /** Raw secret bytes: only for client_secret_jwt, which needs the HMAC key. */
  readonly hmacSecret: Uint8Array | undefined
  /** The client's inline key set (`jwks`), imported once. Read keys through `clientVerificationKeys`, which also knows `jwksUri`. */
  readonly keys: LocalKeySet | undefined
  /** Where the client publishes its public keys (`jwks_uri`), fetched and cached when needed. */
  readonly jwksUri?: string
  /**
   * Set for a client described by a Client ID Metadata Document (its
   * `client_id` is the document's https URL): the URL and its host, which the
   * consent page shows (CIMD §8.5). Such a client is never stored.
   */
  readonly metadataDocument?: { readonly url: string; readonly host: string }
  /** Subjects the client may assert in JWT bearer assertions signed with its own keys: itself and `jwt_bearer_subjects`. */
  readonly selfAssertableSubjects: ReadonlySet<string>
  /** Origins whose browser pages may call the server for this client (CORS): `allowed_origins`, or a public client's redirect URI origins. */
  readonly allowedOrigins: ReadonlySet<string>
  /** The algorithm of its ID tokens: `id_token_signed_response_alg`, default RS256. */
  readonly idTokenAlg: SigningAlgorithm
}

/**
 * SHA-256 of a client secret, the form secrets are compared in. For
 * `client_secret_hash` in configuration, write `'sha256:' + hash.toString('base64url')`.
 *
 * @example
 * const client_secret_hash = 'sha256:' + hashClientSecret(process.env.WEB_SECRET!).toString('base64url')
 */
export function hashClientSecret(secret: string): Buffer {
  return oneShotHash !== undefined ? oneShotHash('sha256', secret, 'buffer') : createHash('sha256').update(secret, 'utf8').digest()
}

// crypto.hash (Node 20.12+) skips the Hash object: a third of the cost on the hot path.
const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: string, enc: 'buffer') => Buffer }).hash

function fail(path: string, message: string): never {
  throw new TypeError(`${path}: ${message}`)
}

function stringArray(value: unknown, path: string): string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
    fail(path, 'must be an array of non-empty strings')
  }
  return value as string[]
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

/**
 * The origins a client's browser pages may call from (Fetch Standard CORS).
 * Registered ones must be bare origins, https except on loopback; without a
 * registration, a public client (a browser app, RFC 6749 §2.1) is allowed the
 * origins of its web redirect URIs, where its pages live.
 */
function allowedOrigins(metadata: ClientMetadata, method: ClientAuthMethod, redirectUris: readonly string[], path: string, allowHttp: boolean): ReadonlySet<string> {
  const listed = stringArray(metadata.allowed_origins, `${path}.allowed_origins`)
  if (listed === undefined) {
    if (method !== 'none') return new Set()
    return new Set(redirectUris.map((u) => new URL(u)).filter((u) => u.protocol === 'https:' || u.protocol === 'http:').map((u) => u.origin))
  }
  listed.forEach((origin, i) => {
    let url: URL | undefined
    try {
      url = new URL(origin)
    } catch {
      url = undefined
    }
    if (url === undefined || url.origin !== origin || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      fail(`${path}.allowed_origins[${i}]`, `"${origin}" is not an origin (scheme://host[:port], no path or trailing slash)`)
    }
    if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname) && !allowHttp) fail(`${path}.allowed_origins[${i}]`, `"${origin}" uses http on a non-loopback host`)
  })
  return new Set(listed)
}

/** Options of client validation. */
export interface PrepareClientOptions {
  /** SECURITY: accept http redirect URIs on hosts other than loopback (RFC 9700 §2.6 forbids them). Default false. */
  allowHttpRedirectUris?: boolean
  /** SECURITY: accept a `backchannel_logout_uri` or `jwks_uri` on loopback or private addresses. Default false. */
  allowPrivateNetworkFetches?: boolean
}

/**
 * Checks a JWK Set of public keys and imports it once: each key well-formed,
 * public (no private or symmetric members), and importable now, so that a
 * broken key fails where it is given, named, not at first use.
 *
 * @throws TypeError naming the key (`path` is the prefix, e.g. `clients[0].jwks`)
 * @example
 * const keys = publicKeySet({ keys: [publicJwk] }, 'jwks')
 */
export function publicKeySet(value: unknown, path: string): LocalKeySet {
  const jwks = value as { keys?: unknown }
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) fail(path, 'must be a JWK Set: { "keys": [...] }')
  ;(jwks.keys as JWK[]).forEach((k, i) => {
    if (typeof k !== 'object' || k === null || typeof k.kty !== 'string') fail(`${path}.keys[${i}]`, 'must be a JWK with kty')
    if ('d' in k || 'p' in k || 'k' in k) fail(`${path}.keys[${i}]`, 'must be a public key (it holds private or symmetric material)')
    try {
      createPublicKey({ key: k as NodeJsonWebKey, format: 'jwk' })
    } catch {
      fail(`${path}.keys[${i}]`, 'is not a valid public key')
    }
  })
  return localKeySet(jwks as JSONWebKeySet)
}

/**
 * RFC 7591 §2 `jwks_uri`: an absolute URL the server will fetch, so under
 * the rules of every request the server makes itself (RFC 9700 §4.15): https
 * (http only to loopback with `allowPrivateNetworkFetches`, for tests), no
 * credentials, no fragment, and not a loopback or private address literal
 * unless allowed. Names are checked again when resolved, at each fetch.
 */
function checkJwksUri(value: unknown, path: string, allowPrivate: boolean): string {
  if (typeof value !== 'string' || value === '') fail(path, 'must be an https URL')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    fail(path, `"${value.slice(0, 200)}" is not an absolute URL`)
  }
  if (url.hash !== '' || value.includes('#')) fail(path, `"${value}" must not contain a fragment`)
  const problem = outboundUrlProblem(url, allowPrivate)
  if (problem !== undefined) fail(path, `"${value}" ${problem}`)
  if (isPrivateHost(url) && !allowPrivate) fail(path, `"${value}" is a loopback or private address, where the server sends nothing unless allowPrivateNetworkFetches is true`)
  return value
}

function checkRedirectUri(uri: string, path: string, allowHttp: boolean): void {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    fail(path, `"${uri}" is not an absolute URI`)
  }
  // RFC 6749 §3.1.2: absolute, and MUST NOT include a fragment.
  if (url.hash !== '' || uri.includes('#')) fail(path, `"${uri}" must not contain a fragment`)
  // RFC 9700 §2.6: redirects travel over TLS; loopback (RFC 8252 §7.3) and app schemes are the exceptions.
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname) && !allowHttp) {
    fail(path, `"${uri}" uses http on a non-loopback host; use https (or the allowHttpRedirectUris switch for tests)`)
  }
  if (url.protocol === 'javascript:' || url.protocol === 'data:') fail(path, `"${uri}" is not a redirect URI`)
}

/**
 * Checks RFC 7591 metadata and prepares a Client. Throws a TypeError naming
 * the field (`path` is the prefix, e.g. `clients[2]`).
 *
 * @example
 * const client = prepareClient({ client_id: 'svc', client_secret: 's3cret', grant_types: ['client_credentials'] })
 * client.authMethod // 'client_secret_basic'
 */
export function prepareClient(metadata: ClientMetadata, path = 'client', options: PrepareClientOptions = {}): Client {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) fail(path, 'must be an object')
  const id = metadata.client_id
  if (typeof id !== 'string' || id === '') fail(`${path}.client_id`, 'is required and must be a non-empty string')
  if (id.length > 255) fail(`${path}.client_id`, 'must be at most 255 characters')

  const secret = metadata.client_secret
  if (secret !== undefined && (typeof secret !== 'string' || secret === '')) fail(`${path}.client_secret`, 'must be a non-empty string')
  const secretHashText = metadata.client_secret_hash
  if (secretHashText !== undefined) {
    if (typeof secretHashText !== 'string' || !/^sha256:[A-Za-z0-9_-]{43}$/.test(secretHashText)) {
      fail(`${path}.client_secret_hash`, 'must be "sha256:" followed by 43 base64url characters')
    }
    if (secret !== undefined) fail(`${path}.client_secret_hash`, 'give client_secret or client_secret_hash, not both')
  }
  const hasSecret = secret !== undefined || secretHashText !== undefined

  const method = metadata.token_endpoint_auth_method ?? 'client_secret_basic'
  if (!CLIENT_AUTH_METHODS.includes(method)) {
    fail(`${path}.token_endpoint_auth_method`, `"${String(method)}" is not one of ${CLIENT_AUTH_METHODS.join(', ')}`)
  }
  if ((method === 'client_secret_basic' || method === 'client_secret_post') && !hasSecret) {
    fail(`${path}.client_secret`, `is required for token_endpoint_auth_method "${method}" (a public client says "none")`)
  }
  if (method === 'client_secret_jwt' && secret === undefined) {
    fail(`${path}.client_secret`, 'is required in plain form for client_secret_jwt: it is the HMAC key')
  }
  if (method === 'client_secret_jwt' && secret !== undefined) {
    const pinned = metadata.token_endpoint_auth_signing_alg
    if (pinned !== undefined && !(HMAC_ALGORITHMS as readonly unknown[]).includes(pinned)) {
      fail(`${path}.token_endpoint_auth_signing_alg`, `must be one of ${HMAC_ALGORITHMS.join(', ')} for client_secret_jwt`)
    }
    // RFC 7518 §3.2: the HMAC key must be at least as long as the hash output.
    const need = HMAC_MIN_KEY_BYTES[(pinned as (typeof HMAC_ALGORITHMS)[number] | undefined) ?? 'HS256']
    if (Buffer.byteLength(secret, 'utf8') < need) {
      fail(`${path}.client_secret`, `must be at least ${need} bytes for client_secret_jwt${pinned === undefined ? '' : ` with ${pinned}`} (RFC 7518 §3.2)`)
    }
  }
  if (method === 'none' && hasSecret) fail(`${path}.client_secret`, 'a client with token_endpoint_auth_method "none" has no secret')
  // RFC 7591 §2: jwks and jwks_uri MUST NOT both be present.
  if (metadata.jwks !== undefined && metadata.jwks_uri !== undefined) fail(`${path}.jwks_uri`, 'give jwks or jwks_uri, not both (RFC 7591 §2)')
  if (method === 'private_key_jwt' && metadata.jwks === undefined && metadata.jwks_uri === undefined) {
    fail(`${path}.jwks`, 'is required for private_key_jwt (or jwks_uri)')
  }
  const jwksUri = metadata.jwks_uri === undefined ? undefined : checkJwksUri(metadata.jwks_uri, `${path}.jwks_uri`, options.allowPrivateNetworkFetches === true)

  const expiresAt = metadata.client_secret_expires_at ?? 0
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || expiresAt < 0) {
    fail(`${path}.client_secret_expires_at`, 'must be seconds since the epoch, or 0 for never')
  }

  const keys = metadata.jwks === undefined ? undefined : publicKeySet(metadata.jwks, `${path}.jwks`)

  const grantTypes = stringArray(metadata.grant_types, `${path}.grant_types`) ?? ['authorization_code']
  const responseTypes = stringArray(metadata.response_types, `${path}.response_types`) ?? (grantTypes.includes('authorization_code') ? ['code'] : [])
  const redirectUris = stringArray(metadata.redirect_uris, `${path}.redirect_uris`) ?? []
  redirectUris.forEach((u, i) => checkRedirectUri(u, `${path}.redirect_uris[${i}]`, options.allowHttpRedirectUris === true))
  // RFC 7591 §2.1: response types go with their grant types.
  for (const type of responseTypes) {
    const parts = type.split(' ')
    if (parts.includes('code') && !grantTypes.includes('authorization_code')) fail(`${path}.response_types`, `"${type}" needs the authorization_code grant type`)
    if ((parts.includes('token') || parts.includes('id_token')) && !grantTypes.includes('implicit')) fail(`${path}.response_types`, `"${type}" needs the implicit grant type`)
  }
  if ((grantTypes.includes('authorization_code') || grantTypes.includes('implicit')) && redirectUris.length === 0) {
    fail(`${path}.redirect_uris`, 'is required for a client with the authorization_code or implicit grant')
  }

  if (metadata.scope !== undefined && typeof metadata.scope !== 'string') fail(`${path}.scope`, 'must be a space-separated string')
  const scopes = new Set((metadata.scope ?? '').split(' ').filter(Boolean))
  let defaultScope = [...scopes].join(' ')
  if (metadata.default_scope !== undefined) {
    if (typeof metadata.default_scope !== 'string') fail(`${path}.default_scope`, 'must be a space-separated string')
    const wanted = metadata.default_scope.split(' ').filter(Boolean)
    const extra = wanted.find((s) => !scopes.has(s))
    if (extra !== undefined) fail(`${path}.default_scope`, `"${extra}" is not in the client's scope`)
    defaultScope = wanted.join(' ')
  }

  checkLogoutMetadata(metadata, path, options)
  checkRequestMetadata(metadata, path)
  if (metadata.dpop_bound_access_tokens !== undefined && typeof metadata.dpop_bound_access_tokens !== 'boolean') fail(`${path}.dpop_bound_access_tokens`, 'must be a boolean (RFC 9449 §5.2)')

  const idTokenAlg = metadata.id_token_signed_response_alg ?? ID_TOKEN_DEFAULT_ALGORITHM
  if (!(SIGNING_ALGORITHMS as readonly unknown[]).includes(idTokenAlg)) {
    // SECURITY: an unsigned ID token (alg none) proves nothing about its issuer; grantkit never issues one.
    const why = idTokenAlg === 'none' ? '"none" is refused: ID tokens are always signed' : /^HS/.test(String(idTokenAlg)) ? `"${String(idTokenAlg)}" is symmetric, not supported` : `"${String(idTokenAlg)}" is not supported`
    fail(`${path}.id_token_signed_response_alg`, `${why}; use one of ${SIGNING_ALGORITHMS.join(', ')}`)
  }

  return {
    id,
    metadata,
    idTokenAlg: idTokenAlg as SigningAlgorithm,
    authMethod: method,
    isPublic: method === 'none',
    grantTypes: new Set(grantTypes),
    responseTypes: new Set(responseTypes),
    redirectUris,
    scopes,
    defaultScope,
    secretHash:
      secret !== undefined
        ? hashClientSecret(secret)
        : secretHashText !== undefined
          ? Buffer.from(secretHashText.slice(7), 'base64url')
          : undefined,
    secretExpiresAt: expiresAt,
    hmacSecret: method === 'client_secret_jwt' && secret !== undefined ? new TextEncoder().encode(secret) : undefined,
    keys,
    jwksUri,
    selfAssertableSubjects: new Set([id, ...(stringArray(metadata.jwt_bearer_subjects, `${path}.jwt_bearer_subjects`) ?? [])]),
    allowedOrigins: allowedOrigins(metadata, method, redirectUris, path, options.allowHttpRedirectUris === true),
  }
}
