/**
 * Every default of grantkit, in one place. The configuration reference in
 * docs/ is checked against this file by a test, so the two cannot drift.
 */
export const defaults = {
  /** Format of access tokens: `jwt` (RFC 9068) or `opaque` (random, stored hashed). Default `jwt`. */
  accessTokenFormat: 'jwt' as 'jwt' | 'opaque',
  ttl: {
    /** Access token lifetime in seconds. Default 3600 (one hour). */
    accessToken: 3600,
    /** Refresh token lifetime in seconds, from its last rotation. Default 1209600 (14 days). */
    refreshToken: 1_209_600,
    /** Absolute lifetime of a refresh-token chain in seconds; rotation never extends past it. Default 2592000 (30 days). */
    refreshTokenAbsolute: 2_592_000,
    /** Authorization code lifetime in seconds (RFC 6749 §4.1.2 recommends at most 600). Default 60. */
    authorizationCode: 60,
    /** Device code lifetime in seconds (RFC 8628 §3.2). Default 600. */
    deviceCode: 600,
    /** ID token lifetime in seconds. Default 3600. */
    idToken: 3600,
  },
  /** Lifetime in seconds of a browser session (single sign-on). Default 86400 (one day). */
  sessionTtl: 86_400,
  /** Lifetime in seconds of remembered consent. Default 31536000 (one year). */
  consentTtl: 31_536_000,
  /** Lifetime in seconds of a login/consent interaction in progress. Default 600. */
  interactionTtl: 600,
  pkce: {
    /** Who must send a PKCE challenge: `public` clients (RFC 9700 §2.1.1 MUST), or `all`. Default `public`. */
    required: 'public' as 'public' | 'all',
    /** Accept `code_challenge_method=plain` (RFC 7636 §4.2). Default `false`: S256 only. */
    allowPlain: false,
  },
  passwordGrant: {
    /** Failed password attempts for one username before it is locked for the rest of the window. Default 5. */
    maxFailures: 5,
    /** Length in seconds of the failure-counting window (and so of a lockout). Default 900. */
    failureWindow: 900,
  },
  deviceFlow: {
    /** Seconds a device waits between polls (RFC 8628 §3.2 `interval`). Default 5. */
    interval: 5,
    /** Code entries allowed per source address and per browser in one window (RFC 8628 §5.1). Default 10. */
    maxAttempts: 10,
    /** Length in seconds of the code-entry counting window. Default 900. */
    attemptWindow: 900,
  },
  /** Tolerance in seconds for clock differences when checking exp, nbf and iat of incoming JWTs. Default 60. */
  clockSkew: 60,
  /** Longest lifetime in seconds (exp − iat, or exp − now) accepted for a client assertion or JWT grant. Default 300. */
  maxAssertionLifetime: 300,
  /** Algorithm of the signing key generated when none is configured. Default `ES256`. */
  signingAlgorithm: 'ES256' as 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'PS256' | 'EdDSA',
  /** Seconds the JWKS and discovery documents may be cached by clients. Default 300. */
  metadataMaxAge: 300,
  /** Endpoint paths, relative to the issuer's path. */
  paths: {
    token: '/token',
    jwks: '/jwks',
    authorization: '/authorize',
    userinfo: '/userinfo',
    interaction: '/interaction',
    revocation: '/revoke',
    introspection: '/introspect',
    deviceAuthorization: '/device_authorization',
    deviceVerification: '/device',
  },
  /** Largest request body in bytes that the core and the adapters accept. Default 65536 (64 KiB). */
  maxBodyBytes: 65_536,
}

export type Defaults = typeof defaults
