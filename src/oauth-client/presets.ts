import { isBearerInvalidToken } from './http.js'
import type { ClientAuthMethod, JwtBearerProfile, ProviderProfile, ProviderQuirks, SamlBearerProfile } from './provider.js'

/** What every preset takes: who you are to the provider, and optional overrides. */
export interface PresetOptions {
  /** Name of this provider in calls and in the token store. Default the preset's name. */
  id?: string
  clientId: string
  clientSecret?: string
  authMethod?: ClientAuthMethod
  privateJwk?: ProviderProfile['privateJwk']
  redirectUri?: string
  /** Replaces the preset's default scopes. */
  scopes?: string[]
  /** Merged over the preset's quirks. */
  quirks?: ProviderQuirks
  jwtBearer?: JwtBearerProfile
  saml?: SamlBearerProfile
  apiOrigins?: string[]
}

function build(options: PresetOptions, preset: Omit<ProviderProfile, 'clientId'>): ProviderProfile {
  const { quirks, id, ...rest } = options
  const profile: ProviderProfile = { ...preset, ...rest, id: id ?? preset.id, quirks: { ...preset.quirks, ...quirks } }
  if (options.scopes === undefined && preset.scopes !== undefined) profile.scopes = preset.scopes
  if (preset.jwtBearer !== undefined && options.jwtBearer !== undefined) profile.jwtBearer = { ...preset.jwtBearer, ...options.jwtBearer }
  return profile
}

/**
 * Google (OIDC discovery at accounts.google.com). Asks for offline access so a
 * refresh token comes back, accepts the bare `accounts.google.com` issuer
 * Google puts in some ID tokens, and reads `verification_url` in the device flow.
 *
 * @example
 * google({ clientId, clientSecret, redirectUri: 'https://app.example/cb/google', scopes: ['openid', 'email', 'https://www.googleapis.com/auth/calendar.readonly'] })
 */
export function google(options: PresetOptions): ProviderProfile {
  return build(options, {
    id: 'google',
    issuer: 'https://accounts.google.com',
    discovery: 'oidc',
    authMethod: options.authMethod ?? (options.privateJwk !== undefined ? 'private_key_jwt' : 'client_secret_post'),
    scopes: ['openid', 'email', 'profile'],
    grants: ['authorization_code', 'refresh_token', 'device_code', 'jwt_bearer'],
    // Service accounts (RFC 7523): scope travels inside the assertion.
    ...(options.jwtBearer !== undefined && { jwtBearer: { ...options.jwtBearer, scopeInAssertion: options.jwtBearer.scopeInAssertion ?? true } }),
    quirks: {
      // Without access_type=offline Google issues no refresh token; prompt=consent makes it issue one again.
      authorizationParams: { access_type: 'offline', prompt: 'consent' },
      acceptIdTokenIssuer: (iss) => iss === 'https://accounts.google.com' || iss === 'accounts.google.com',
      deviceResponseAliases: { verification_url: 'verification_uri' },
    },
  })
}

/**
 * Salesforce (login.salesforce.com, or test.salesforce.com for a sandbox, or
 * your My Domain). Keeps `instance_url` (API calls with relative URLs go
 * there), assumes 15-minute tokens since Salesforce sends no `expires_in`, and
 * treats `INVALID_SESSION_ID` as an expired token.
 *
 * @example
 * const sf = salesforce({ clientId, clientSecret, redirectUri, sandbox: true })
 * await client.fetchWithToken('salesforce', user.id, '/services/data/v61.0/sobjects/Account')
 */
export function salesforce(options: PresetOptions & { sandbox?: boolean; myDomain?: string }): ProviderProfile {
  const { sandbox, myDomain, ...rest } = options
  const issuer = myDomain ?? (sandbox === true ? 'https://test.salesforce.com' : 'https://login.salesforce.com')
  return build(rest, {
    id: 'salesforce',
    issuer,
    discovery: 'oidc',
    scopes: ['api', 'refresh_token'],
    grants: ['authorization_code', 'refresh_token', 'password', 'client_credentials', 'jwt_bearer', 'saml2_bearer', 'device_code'],
    // Salesforce's JWT bearer flow wants the login URL as aud, iss = the consumer key, sub = the username.
    ...(rest.jwtBearer !== undefined && { jwtBearer: { ...rest.jwtBearer, audience: rest.jwtBearer.audience ?? issuer } }),
    quirks: {
      defaultExpiresIn: 900,
      keepFields: ['instance_url', 'id', 'issued_at', 'signature'],
      apiBaseUrl: (tokens) => (typeof tokens.extra?.instance_url === 'string' ? tokens.extra.instance_url : undefined),
      isInvalidToken: async (res) => {
        if (isBearerInvalidToken(res)) return true
        if (res.status !== 401) return false
        const body = await res.clone().text().catch(() => '')
        return body.includes('INVALID_SESSION_ID')
      },
    },
  })
}

const ENTRA_ISSUER = /^https:\/\/login\.microsoftonline\.com\/(\{tenantid\}|[0-9a-f-]{36})\/v2\.0$/

/**
 * Microsoft Entra ID (v2.0 endpoints) for a tenant: its id or domain, or
 * `common`, `organizations`, `consumers`. The multi-tenant discovery document
 * names the issuer as a `{tenantid}` template; ID tokens are checked against
 * the tenant in their `tid`. Entra has no revocation endpoint: disconnecting
 * deletes the tokens here only.
 *
 * @example
 * microsoftEntra({ tenant: 'contoso.onmicrosoft.com', clientId, clientSecret, redirectUri })
 */
export function microsoftEntra(options: PresetOptions & { tenant: string }): ProviderProfile {
  const { tenant, ...rest } = options
  if (typeof tenant !== 'string' || !/^[A-Za-z0-9.-]+$/.test(tenant)) throw new TypeError('microsoftEntra: tenant must be a tenant id, a domain, or common / organizations / consumers')
  return build(rest, {
    id: 'microsoft',
    issuer: `https://login.microsoftonline.com/${tenant}/v2.0`,
    discovery: 'oidc',
    scopes: ['openid', 'profile', 'offline_access'],
    grants: ['authorization_code', 'refresh_token', 'client_credentials', 'device_code', 'password'],
    quirks: {
      // The document names the tenant by id (or the template) even when asked by domain or alias.
      acceptMetadataIssuer: (iss) => ENTRA_ISSUER.test(iss),
      acceptIdTokenIssuer: (iss, claims, metadataIssuer) =>
        metadataIssuer.includes('{tenantid}') ? typeof claims.tid === 'string' && iss === metadataIssuer.replace('{tenantid}', claims.tid) : iss === metadataIssuer,
    },
  })
}

/**
 * Any OpenID Connect provider with discovery at `{issuer}/.well-known/openid-configuration`.
 *
 * @example
 * genericOidc({ id: 'okta', issuer: 'https://example.okta.com', clientId, clientSecret, redirectUri })
 */
export function genericOidc(options: PresetOptions & { issuer: string }): ProviderProfile {
  const { issuer, ...rest } = options
  return build(rest, { id: 'oidc', issuer, discovery: 'oidc', scopes: ['openid'] })
}

/**
 * A grantkit authorization server: every grant, RFC 9207 `iss`, RFC 7009 revocation.
 *
 * @example
 * grantkit({ issuer: 'https://auth.example.com', clientId: 'web', clientSecret, redirectUri })
 */
export function grantkit(options: PresetOptions & { issuer: string }): ProviderProfile {
  const { issuer, ...rest } = options
  return build(rest, {
    id: 'grantkit',
    issuer,
    discovery: 'oidc',
    scopes: ['openid'],
    grants: ['authorization_code', 'refresh_token', 'password', 'client_credentials', 'jwt_bearer', 'saml2_bearer', 'device_code'],
  })
}
