/**
 * Error codes of RFC 6749 §4.1.2.1, §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1,
 * RFC 8628 §3.5, RFC 8707 §2, RFC 9449 §5 and §8, and OpenID Connect Core §3.1.2.6.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'unsupported_token_type'
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  | 'interaction_required'
  | 'login_required'
  | 'consent_required'
  | 'invalid_request_uri'
  | 'invalid_request_object'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'registration_not_supported'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'invalid_target'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'invalid_software_statement'
  | 'unapproved_software_statement'

const STATUS: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  invalid_token: 401,
  insufficient_scope: 403,
  server_error: 500,
  temporarily_unavailable: 503,
}

/** What a client is told when the code says enough; specifics stay in `detail`. */
const DESCRIPTION: Partial<Record<OAuthErrorCode, string>> = {
  invalid_request: 'The request is missing a parameter, repeats one or is otherwise malformed.',
  invalid_client: 'Client authentication failed.',
  invalid_grant: 'The grant is invalid, expired, revoked or was issued to another client.',
  unauthorized_client: 'The client is not allowed to use this grant type.',
  unsupported_grant_type: 'The grant type is not supported.',
  invalid_scope: 'The requested scope is invalid, unknown or exceeds what the client may ask for.',
  server_error: 'The server could not complete the request.',
  temporarily_unavailable: 'The server is temporarily unable to handle the request.',
  invalid_token: 'The access token is invalid, expired or revoked.',
  insufficient_scope: 'The access token does not carry the scope this request needs.',
  unsupported_token_type: 'The server cannot revoke tokens of this type.',
  access_denied: 'The resource owner or the server denied the request.',
  unsupported_response_type: 'The response_type is not supported.',
  authorization_pending: 'The person has not finished yet.',
  slow_down: 'Poll less often.',
  expired_token: 'The code has expired.',
  interaction_required: 'The request needs the person to interact.',
  login_required: 'The person must sign in.',
  consent_required: 'The person must consent.',
  invalid_request_uri: 'The request_uri is invalid.',
  invalid_request_object: 'The request object is invalid.',
  request_not_supported: 'The request parameter is not supported.',
  request_uri_not_supported: 'The request_uri parameter is not supported.',
  registration_not_supported: 'The registration parameter is not supported.',
  invalid_dpop_proof: 'The DPoP proof is invalid.',
  use_dpop_nonce: 'The DPoP proof must carry the nonce in the DPoP-Nonce header.',
  invalid_target: 'The requested resource or audience is invalid, unknown or not allowed.',
  invalid_redirect_uri: 'A redirect URI of the registration is invalid.',
  invalid_client_metadata: 'A field of the client metadata is invalid.',
  invalid_software_statement: 'The software statement is invalid.',
  unapproved_software_statement: 'The software statement is not approved by this server.',
}

/**
 * What an `OAuthError` carries besides its code. Only `description` reaches the
 * client; `detail` and `cause` go to events and logs.
 *
 * @example
 * throw new OAuthError('invalid_grant', { detail: `code belongs to ${other}` })
 */
export interface OAuthErrorOptions {
  /** Shown to the client as `error_description`. Generic by default; never put secrets here. */
  description?: string
  /** For logs and events only: what exactly was wrong. Never sent to the client. */
  detail?: string
  /** For logs and events only. */
  cause?: unknown
  /** HTTP status; defaults from the code (400 for most, 401 invalid_client, …). */
  status?: number
  /** Extra response headers, e.g. `www-authenticate`. */
  headers?: Record<string, string>
}

/**
 * A protocol error. Endpoints throw it; the endpoint boundary turns it into the
 * RFC's response. Anything else thrown becomes a bare `server_error`.
 *
 * @example
 * throw new OAuthError('invalid_grant', { detail: 'code expired' })
 */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode
  readonly description: string | undefined
  readonly detail: string | undefined
  readonly status: number
  readonly headers: Record<string, string> | undefined

  constructor(error: OAuthErrorCode, options: OAuthErrorOptions = {}) {
    super(options.detail ?? options.description ?? error, { cause: options.cause })
    this.name = 'OAuthError'
    this.error = error
    this.description = options.description ?? DESCRIPTION[error]
    this.detail = options.detail
    this.status = options.status ?? STATUS[error] ?? 400
    this.headers = options.headers
  }

  /** The JSON body of RFC 6749 §5.2. */
  toJSON(): { error: OAuthErrorCode; error_description?: string } {
    return this.description === undefined
      ? { error: this.error }
      : { error: this.error, error_description: this.description }
  }
}

const STORAGE_UNAVAILABLE = Symbol.for('grantkit.StorageUnavailableError')

/**
 * Thrown by a storage implementation when its database cannot be reached or
 * fails mid-operation. Endpoints answer it with 503 `temporarily_unavailable`
 * and issue nothing: grantkit fails closed.
 *
 * @example
 * throw new StorageUnavailableError('postgres: connection refused', { cause })
 */
export class StorageUnavailableError extends Error {
  /** `instanceof` by brand: the CommonJS build bundles this class into each entry (core, storage/postgres, storage/redis). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [STORAGE_UNAVAILABLE]?: unknown })[STORAGE_UNAVAILABLE] === true
  }
  readonly [STORAGE_UNAVAILABLE] = true
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StorageUnavailableError'
  }
}

const STORAGE_NOT_MIGRATED = Symbol.for('grantkit.StorageNotMigratedError')

/**
 * Thrown by a storage whose schema is older than this grantkit needs: tables
 * or columns are missing because `migrate()` (`grantkit migrate`) was not
 * run. A kind of `StorageUnavailableError`, so endpoints answer 503 and issue
 * nothing until the schema is brought up to date, while logs and the
 * readiness check say what to run rather than "unavailable".
 *
 * @example
 * throw new StorageNotMigratedError('postgres: relation "grantkit_sessions" does not exist; run migrate()')
 */
export class StorageNotMigratedError extends StorageUnavailableError {
  // Its own brand: the inherited check would also take every StorageUnavailableError for one.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [STORAGE_NOT_MIGRATED]?: unknown })[STORAGE_NOT_MIGRATED] === true
  }
  readonly [STORAGE_NOT_MIGRATED] = true
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StorageNotMigratedError'
  }
}
