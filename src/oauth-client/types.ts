/** Grants this client can run, by their short names. */
export type GrantName =
  | 'authorization_code'
  | 'refresh_token'
  | 'password'
  | 'client_credentials'
  | 'jwt_bearer'
  | 'saml2_bearer'
  | 'device_code'

/** The grant_type values of RFC 6749, RFC 7523, RFC 7522 and RFC 8628. */
export const GRANT_TYPE: Readonly<Record<GrantName, string>> = {
  authorization_code: 'authorization_code',
  refresh_token: 'refresh_token',
  password: 'password',
  client_credentials: 'client_credentials',
  jwt_bearer: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
  saml2_bearer: 'urn:ietf:params:oauth:grant-type:saml2-bearer',
  device_code: 'urn:ietf:params:oauth:grant-type:device_code',
}

/**
 * Tokens held for one subject at one provider, as stored (encrypted) and
 * returned by `getTokens`. Times are seconds since the epoch.
 */
export interface TokenSet {
  accessToken: string
  /** `Bearer`, or `DPoP` for a token bound to the client's DPoP key (RFC 9449), sent with a proof by `fetchWithToken` and `userinfo`. Other types are refused. */
  tokenType: 'Bearer' | 'DPoP'
  /** When the access token expires; undefined when the provider did not say and no default applies. */
  expiresAt?: number
  refreshToken?: string
  /** Granted scope: the response's, or the requested one when the response omits it (RFC 6749 §5.1). */
  scope?: string
  /** The ID token received when connecting, already validated. */
  idToken?: string
  /** Claims of that validated ID token. */
  claims?: Record<string, unknown>
  /** Response fields a provider profile keeps (`quirks.keepFields`), e.g. Salesforce `instance_url`. */
  extra?: Record<string, unknown>
  /** When the tokens were obtained. */
  obtainedAt: number
  /** How to get a new access token without a refresh token: run the assertion grant again. */
  renew?: { grant: 'jwt_bearer' | 'saml2_bearer'; assertionSubject: string | null; scope?: string }
}

/** RFC 8414 §2 / OIDC Discovery §3 metadata this client reads, with the names the specs use. */
export interface ProviderMetadata {
  issuer?: string
  authorization_endpoint?: string
  token_endpoint: string
  jwks_uri?: string
  userinfo_endpoint?: string
  revocation_endpoint?: string
  device_authorization_endpoint?: string
  /** RFC 9207 §3: every authorization response carries `iss`. */
  authorization_response_iss_parameter_supported?: boolean
  id_token_signing_alg_values_supported?: string[]
  grant_types_supported?: string[]
  [other: string]: unknown
}
