import type { JWK } from '../crypto/jose.js'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import type { GrantName, ProviderMetadata, TokenSet } from './types.js'

/** How the client authenticates at the token, revocation and device endpoints (RFC 7591 §2). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none'

/**
 * Per-provider deviations from the specs, each one small and declarative.
 * Presets fill them in; your own profile sets only what its provider needs.
 */
export interface ProviderQuirks {
  /** Extra authorization request parameters, e.g. Google's `access_type: 'offline'`. A call's own `params` win. */
  authorizationParams?: Record<string, string>
  /** Lifetime in seconds assumed when a token response has no `expires_in` (Salesforce sends none). */
  defaultExpiresIn?: number
  /** Token response fields kept in `TokenSet.extra`, e.g. `instance_url`. */
  keepFields?: string[]
  /** Repairs a token response body before it is checked. Return the body to use. */
  fixTokenResponse?: (body: Record<string, unknown>) => Record<string, unknown>
  /**
   * Accepts a discovery document's `issuer` that is not the configured one
   * (Microsoft Entra's multi-tenant `{tenantid}` template). Default: equal only (RFC 8414 §3.3).
   */
  acceptMetadataIssuer?: (issuer: string) => boolean
  /**
   * Accepts an ID token's `iss` that is not the metadata issuer (Google's bare
   * `accounts.google.com`, Entra's per-tenant issuer). Default: equal only (OIDC Core §3.1.3.7 item 2).
   */
  acceptIdTokenIssuer?: (iss: string, claims: Record<string, unknown>, metadataIssuer: string) => boolean
  /** Base URL that relative `fetchWithToken` inputs resolve against, e.g. Salesforce `instance_url`. */
  apiBaseUrl?: (tokens: TokenSet) => string | undefined
  /**
   * Whether an API response means the access token was refused, so it is
   * refreshed and the call retried once. Default: 401 with
   * `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).
   */
  isInvalidToken?: (response: Response) => boolean | Promise<boolean>
  /** The token request parameter that carries `audience`: `resource` (RFC 8707, default) or `audience` (Auth0 and kin). */
  audienceParameter?: 'resource' | 'audience'
  /** Aliases of device authorization response fields, e.g. Google's `verification_url` for `verification_uri`. */
  deviceResponseAliases?: Record<string, string>
}

/** Signs JWT bearer grant assertions (RFC 7523 §2.1). */
export interface JwtBearerProfile {
  /** Private JWK (RSA, EC or OKP) with `alg`, or one whose `kty`/`crv` implies it. */
  privateJwk: JWK
  /** `iss` of assertions. Default the client_id. */
  issuer?: string
  /** `aud` of assertions. Default the token endpoint. */
  audience?: string
  /** Seconds an assertion lives. Default 180. */
  lifetime?: number
  /** Put the scope in the assertion as a `scope` claim instead of the request (Google service accounts). */
  scopeInAssertion?: boolean
}

/** Signs SAML 2.0 bearer grant assertions (RFC 7522). */
export interface SamlBearerProfile {
  /** PEM RSA private key. */
  privateKey: string
  /** PEM certificate of that key, sent in KeyInfo and registered with the provider. */
  certificate: string
  /** The assertion's `Issuer` (the entity ID the provider trusts). */
  issuer: string
  /** `Audience`. Default the token endpoint. */
  audience?: string
  /** Seconds an assertion lives. Default 180. */
  lifetime?: number
  /** `NameID` Format. Default `urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified`. */
  nameIdFormat?: string
}

/**
 * Everything the client knows about one provider: where it is, who we are to
 * it, and how it deviates from the specs. Build one with `defineProvider` or a
 * preset (`google()`, `salesforce()`, …).
 */
export interface ProviderProfile {
  /** The name calls and the token store use for this provider, e.g. `google`. */
  id: string
  /** Issuer identifier: where discovery starts and what `iss` must say. */
  issuer?: string
  /**
   * How endpoints are found: `oidc` (issuer + `/.well-known/openid-configuration`),
   * `oauth` (RFC 8414 §3.1 `/.well-known/oauth-authorization-server` inserted), or
   * `false` (only `metadata`). Default `oidc` with an issuer, else `false`.
   */
  discovery?: 'oidc' | 'oauth' | false
  /** Endpoints given by hand (RFC 8414 names). They override discovered values. */
  metadata?: Partial<ProviderMetadata>
  clientId: string
  clientSecret?: string
  /** Default: `private_key_jwt` with `privateJwk`, `client_secret_basic` with a secret, else `none`. */
  authMethod?: ClientAuthMethod
  /** Private JWK for `private_key_jwt`. */
  privateJwk?: JWK
  /** Default redirect URI of the code flow. */
  redirectUri?: string
  /** Scopes asked for when a call gives none. */
  scopes?: string[]
  /** Grants the provider supports; a call to another throws a TypeError. Default: any. */
  grants?: GrantName[]
  quirks?: ProviderQuirks
  jwtBearer?: JwtBearerProfile
  saml?: SamlBearerProfile
  /** SECURITY: origins `fetchWithToken` may send this provider's tokens to. Default: any. */
  apiOrigins?: string[]
  /**
   * DPoP (RFC 9449) with this provider: `true` always sends proofs (a key is
   * generated when the client has no `dpop` option), `false` never. Default:
   * proofs when the client has a `dpop` option and the provider advertises
   * ES256 in `dpop_signing_alg_values_supported`.
   */
  dpop?: boolean
}

/** A profile checked by `defineProvider`, with defaults resolved. */
export interface ResolvedProfile extends ProviderProfile {
  readonly authMethod: ClientAuthMethod
  readonly discovery: 'oidc' | 'oauth' | false
  readonly scopes: string[]
  readonly quirks: ProviderQuirks
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])
const GRANTS: readonly GrantName[] = ['authorization_code', 'refresh_token', 'password', 'client_credentials', 'jwt_bearer', 'saml2_bearer', 'device_code']
const METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']

/**
 * True for https URLs, and http ones on a loopback host. SECURITY: tokens and
 * secrets never travel in clear text over a network.
 */
export function isSafeEndpoint(value: string): boolean {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  if (url.hash !== '') return false
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))
}

function fail(path: string, message: string): never {
  throw new TypeError(`${path}: ${message}`)
}

function nonEmpty(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') fail(path, 'must be a non-empty string')
  return value
}

function checkPrivateJwk(jwk: unknown, path: string): void {
  if (typeof jwk !== 'object' || jwk === null) fail(path, 'must be a private JWK')
  const k = jwk as JWK
  if (k.kty === 'oct') fail(path, 'must be an asymmetric private key (kty RSA, EC or OKP), not a shared secret')
  if (typeof k.d !== 'string') fail(path, 'must be a private key (it has no "d")')
  try {
    createPrivateKey({ key: k as never, format: 'jwk' })
  } catch (cause) {
    throw new TypeError(`${path}: is not a valid private key`, { cause })
  }
}

function positive(value: unknown, path: string): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)) fail(path, 'must be a positive number of seconds')
}

/**
 * Checks a provider profile and fills in its defaults. Mistakes are TypeErrors
 * naming the field, at start rather than at the first request.
 *
 * @example
 * // A provider without discovery, in a few lines:
 * const github = defineProvider({
 *   id: 'github',
 *   discovery: false,
 *   metadata: {
 *     authorization_endpoint: 'https://github.com/login/oauth/authorize',
 *     token_endpoint: 'https://github.com/login/oauth/access_token',
 *   },
 *   clientId: process.env.GITHUB_ID!,
 *   clientSecret: process.env.GITHUB_SECRET!,
 *   authMethod: 'client_secret_post',
 *   scopes: ['repo'],
 *   grants: ['authorization_code', 'refresh_token', 'device_code'],
 * })
 */
export function defineProvider(profile: ProviderProfile): ResolvedProfile {
  if (typeof profile !== 'object' || profile === null) throw new TypeError('provider: must be an object')
  const id = nonEmpty(profile.id, 'provider.id')
  const at = `providers["${id}"]`
  nonEmpty(profile.clientId, `${at}.clientId`)
  if (profile.clientSecret !== undefined) nonEmpty(profile.clientSecret, `${at}.clientSecret`)

  if (profile.issuer !== undefined && !isSafeEndpoint(nonEmpty(profile.issuer, `${at}.issuer`))) {
    fail(`${at}.issuer`, 'must be an https URL (http only on a loopback host)')
  }
  const discovery = profile.discovery ?? (profile.issuer !== undefined ? 'oidc' : false)
  if (discovery !== 'oidc' && discovery !== 'oauth' && discovery !== false) fail(`${at}.discovery`, 'must be "oidc", "oauth" or false')
  if (discovery !== false && profile.issuer === undefined) fail(`${at}.issuer`, 'is required for discovery')
  const metadata = profile.metadata ?? {}
  if (typeof metadata !== 'object' || metadata === null) fail(`${at}.metadata`, 'must be an object of RFC 8414 metadata')
  if (discovery === false && metadata.token_endpoint === undefined) fail(`${at}.metadata.token_endpoint`, 'is required without discovery')
  for (const [name, value] of Object.entries(metadata)) {
    if (name.endsWith('_endpoint') || name === 'jwks_uri') {
      if (typeof value !== 'string' || !isSafeEndpoint(value)) fail(`${at}.metadata.${name}`, 'must be an https URL (http only on a loopback host)')
    }
  }

  const authMethod = profile.authMethod ?? (profile.privateJwk !== undefined ? 'private_key_jwt' : profile.clientSecret !== undefined ? 'client_secret_basic' : 'none')
  if (!METHODS.includes(authMethod)) fail(`${at}.authMethod`, `must be one of ${METHODS.join(', ')}`)
  if ((authMethod === 'client_secret_basic' || authMethod === 'client_secret_post') && profile.clientSecret === undefined) {
    fail(`${at}.clientSecret`, `is required for authMethod "${authMethod}"`)
  }
  if (authMethod === 'private_key_jwt') {
    if (profile.privateJwk === undefined) fail(`${at}.privateJwk`, 'is required for authMethod "private_key_jwt"')
    checkPrivateJwk(profile.privateJwk, `${at}.privateJwk`)
  }
  if (profile.redirectUri !== undefined) {
    try {
      new URL(nonEmpty(profile.redirectUri, `${at}.redirectUri`))
    } catch {
      fail(`${at}.redirectUri`, 'must be an absolute URL')
    }
  }
  const scopes = profile.scopes ?? []
  if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string' || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))) {
    fail(`${at}.scopes`, 'must be an array of scope tokens (RFC 6749 §3.3)')
  }
  if (profile.grants !== undefined && (!Array.isArray(profile.grants) || profile.grants.some((g) => !GRANTS.includes(g)))) {
    fail(`${at}.grants`, `must be an array of ${GRANTS.join(', ')}`)
  }
  const quirks = profile.quirks ?? {}
  positive(quirks.defaultExpiresIn, `${at}.quirks.defaultExpiresIn`)
  if (profile.jwtBearer !== undefined) {
    checkPrivateJwk(profile.jwtBearer.privateJwk, `${at}.jwtBearer.privateJwk`)
    positive(profile.jwtBearer.lifetime, `${at}.jwtBearer.lifetime`)
  }
  if (profile.saml !== undefined) {
    const s = profile.saml
    nonEmpty(s.issuer, `${at}.saml.issuer`)
    try {
      const key = createPrivateKey(s.privateKey)
      if (key.asymmetricKeyType !== 'rsa') fail(`${at}.saml.privateKey`, 'must be an RSA key')
    } catch (cause) {
      if (cause instanceof TypeError && cause.message.startsWith(at)) throw cause
      throw new TypeError(`${at}.saml.privateKey: is not a PEM private key`, { cause })
    }
    try {
      new X509Certificate(s.certificate)
    } catch (cause) {
      throw new TypeError(`${at}.saml.certificate: is not a PEM certificate`, { cause })
    }
    positive(s.lifetime, `${at}.saml.lifetime`)
  }
  if (profile.dpop !== undefined && typeof profile.dpop !== 'boolean') fail(`${at}.dpop`, 'must be a boolean')
  if (profile.apiOrigins !== undefined) {
    if (!Array.isArray(profile.apiOrigins)) fail(`${at}.apiOrigins`, 'must be an array of origins')
    profile.apiOrigins.forEach((o, i) => {
      if (typeof o !== 'string' || !isSafeEndpoint(o) || new URL(o).origin !== o) fail(`${at}.apiOrigins[${i}]`, 'must be an origin such as "https://api.example.com"')
    })
  }
  return Object.freeze({ ...profile, authMethod, discovery, scopes: [...scopes], quirks })
}
