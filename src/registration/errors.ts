import { OAuthError } from '../errors.js'
import { ClientManagementError } from '../clients/manager.js'

/** The RFC 7591 §3.2.2 error codes a registration can be refused with. */
export type RegistrationErrorCode = 'invalid_redirect_uri' | 'invalid_client_metadata' | 'invalid_software_statement' | 'unapproved_software_statement'

/**
 * Thrown by a registration policy to refuse a registration or update. The
 * message is sent to the client as `error_description`: say what is not
 * allowed, never a secret.
 *
 * @example
 * throw new RegistrationPolicyError('invalid_redirect_uri', 'redirect_uris: only https://*.example.com is allowed')
 */
export class RegistrationPolicyError extends Error {
  constructor(
    readonly code: RegistrationErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'RegistrationPolicyError'
  }
}

/** A refusal of the client manager as the RFC 7591 §3.2.2 error; anything else is thrown on. */
export function registrationError(error: unknown): unknown {
  if (error instanceof RegistrationPolicyError) return new OAuthError(error.code, { description: error.message, cause: error })
  if (!(error instanceof ClientManagementError)) return error
  if (error.code === 'invalid_client_metadata' || error.code === 'invalid_redirect_uri') {
    return new OAuthError(error.code, { description: error.message, cause: error })
  }
  if (error.code === 'conflict') {
    return new OAuthError('invalid_request', { status: 409, description: 'The client changed while this request was handled; read it again and retry.', cause: error })
  }
  // not_found (deleted meanwhile): RFC 7592 §2 answers an unknown client with 401.
  if (error.code === 'not_found') return invalidRegistrationToken()
  return error
}

/** RFC 7592 §2.1, RFC 6750 §3.1: a missing, wrong or expired registration access token, or a client that is gone. */
export function invalidRegistrationToken(): OAuthError {
  return new OAuthError('invalid_token', {
    description: 'The registration access token is invalid, expired or revoked.',
    headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
  })
}
