/**
 * What can go wrong on the client side, as three types a caller can tell apart:
 * the provider said no ({@link ProviderError}), the provider's answer failed a
 * check ({@link ProtocolError}), or there is no usable token ({@link TokenUnavailableError}).
 * Misuse and bad configuration throw `TypeError`, naming the field.
 */

/**
 * The provider answered with an OAuth error (RFC 6749 §4.1.2.1, §5.2; RFC 8628 §3.5):
 * `error`, `error_description` and `error_uri` as it sent them.
 *
 * @example
 * try { await client.completeAuthorization(url, pending) }
 * catch (e) { if (e instanceof ProviderError && e.error === 'access_denied') showDenied() }
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError'
  /** The RFC 6749 error code, e.g. `invalid_grant`. */
  readonly error: string
  /** `error_description`, trimmed to 500 characters. */
  readonly errorDescription: string | undefined
  readonly errorUri: string | undefined
  /** HTTP status of the response; undefined for an error in the authorization callback. */
  readonly status: number | undefined

  constructor(fields: { error: string; errorDescription?: string | undefined; errorUri?: string | undefined; status?: number | undefined }) {
    super(fields.errorDescription === undefined ? `provider error: ${fields.error}` : `provider error: ${fields.error}: ${fields.errorDescription}`)
    this.error = fields.error
    this.errorDescription = fields.errorDescription
    this.errorUri = fields.errorUri
    this.status = fields.status
  }
}

/** Why a provider's answer was refused. */
export type ProtocolErrorCode =
  /** The callback's `state` is missing or not the one this flow started with (RFC 6749 §10.12). */
  | 'state_mismatch'
  /** The callback's `iss` names another issuer (RFC 9207 §2.4). */
  | 'iss_mismatch'
  /** The provider promises `iss` in callbacks (RFC 9207 §3) and this one has none. */
  | 'iss_missing'
  /** The ID token's `nonce` is missing or not this flow's (OIDC Core §3.1.3.7 item 11). */
  | 'nonce_mismatch'
  /** The ID token failed validation: signature, alg, iss, aud, azp, exp or iat. */
  | 'invalid_id_token'
  /** The token endpoint's success response is malformed (RFC 6749 §5.1). */
  | 'invalid_token_response'
  /** The callback has no code, or repeats a parameter. */
  | 'invalid_callback'
  /** The discovery document is unusable or names another issuer (RFC 8414 §3.3). */
  | 'invalid_metadata'
  /** A response that is neither success nor an OAuth error (a 5xx page, a redirect, not JSON), or one larger than the cap. */
  | 'unexpected_response'
  /**
   * This pending authorization or device authorization has already been
   * completed, or is being completed: a flow completes once, so a state that
   * leaks after the flow cannot carry another account's code in (RFC 6749 §10.12). Nothing was sent to the provider and nothing was stored.
   */
  | 'flow_reused'
  /** The pending authorization is older than `authorizationTtl` (or was made by a version that set no `expiresAt`); start again. */
  | 'flow_expired'
  /** The userinfo response has no `sub`, or not the ID token's (OIDC Core §5.3.2); it was not used. */
  | 'userinfo_sub_mismatch'

/**
 * A provider's answer failed a check; nothing from it was stored. `message`
 * says which check and is meant for logs.
 *
 * @example
 * catch (e) { if (e instanceof ProtocolError && e.code === 'state_mismatch') restartLogin() }
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** Why no access token can be given. */
export type TokenUnavailableReason =
  /** Nothing is stored for this provider and subject. */
  | 'not_connected'
  /** A stored record exists but no known key opens it for this provider and subject (tampered, swapped, or its key was dropped). */
  | 'undecryptable'
  /** The access token expired and there is neither a refresh token nor an assertion to renew it with. */
  | 'expired'
  /** Another process held the refresh lease for too long. */
  | 'lease_timeout'
  /**
   * The provider refused the refresh token (`invalid_grant`, RFC 6749 §5.2: revoked,
   * expired, or consent withdrawn). The tokens were deleted; `cause` is the provider's
   * {@link ProviderError}. Callers after the deletion get `not_connected`.
   */
  | 'refresh_refused'

/**
 * There is no usable token for a provider and subject: the person must connect
 * (again) through one of the flows.
 *
 * @example
 * catch (e) { if (e instanceof TokenUnavailableError) return redirect('/connect/google') }
 */
export class TokenUnavailableError extends Error {
  override readonly name = 'TokenUnavailableError'
  constructor(
    readonly reason: TokenUnavailableReason,
    readonly provider: string,
    readonly subject: string,
    options?: { cause?: unknown },
  ) {
    super(`no usable token for provider "${provider}" (${reason})`, options)
  }
}
