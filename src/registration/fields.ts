import { OAuthError } from '../errors.js'

/**
 * The client metadata a registration may set: RFC 7591 §2 fields this server
 * acts on or shows, and the OpenID Connect ones it implements. RFC 7591 §2:
 * the server MUST ignore metadata it does not understand, so everything else
 * is dropped before the policy sees the request.
 *
 * SECURITY: `introspection_allowed` (introspects every client's tokens) and
 * `jwt_bearer_subjects` (asserts other subjects) are privileges the operator
 * grants; a client never registers them itself. A policy may add them.
 */
export const REGISTRABLE_FIELDS: ReadonlySet<string> = new Set([
  'redirect_uris',
  'token_endpoint_auth_method',
  'token_endpoint_auth_signing_alg',
  'grant_types',
  'response_types',
  'client_name',
  'client_uri',
  'logo_uri',
  'tos_uri',
  'policy_uri',
  'contacts',
  'scope',
  'jwks',
  'jwks_uri',
  'software_id',
  'software_version',
  'id_token_signed_response_alg',
  'post_logout_redirect_uris',
  'backchannel_logout_uri',
  'backchannel_logout_session_required',
  'allowed_origins',
  'require_pushed_authorization_requests',
  'require_signed_request_object',
  'request_object_signing_alg',
  'dpop_bound_access_tokens',
])

/** Fields shown to people (consent page, a client list) as links: https only, so none is a `javascript:` URL. */
const LINK_FIELDS = ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri'] as const
const TEXT_FIELDS = ['client_name', 'software_id', 'software_version'] as const

/**
 * The understood fields of a request, with the RFC 7591 §2 defaults written
 * out (`token_endpoint_auth_method` client_secret_basic, `grant_types`
 * authorization_code, `response_types` code) so that the response states
 * what was registered.
 *
 * @throws OAuthError invalid_client_metadata for a field of the wrong type the rest of the server does not check
 */
export function registrableMetadata(input: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(input)) if (REGISTRABLE_FIELDS.has(name) && value !== null) out[name] = value
  for (const field of TEXT_FIELDS) {
    const v = out[field]
    if (v !== undefined && (typeof v !== 'string' || v.length > 1000)) throw invalid(`${field}: must be a string of at most 1000 characters`)
  }
  for (const field of LINK_FIELDS) {
    const v = out[field]
    if (v !== undefined && !isHttpsUrl(v)) throw invalid(`${field}: must be an https URL`)
  }
  const contacts = out.contacts
  if (contacts !== undefined && (!Array.isArray(contacts) || contacts.some((c) => typeof c !== 'string'))) throw invalid('contacts: must be an array of strings')
  out.token_endpoint_auth_method ??= 'client_secret_basic'
  out.grant_types ??= ['authorization_code']
  const grants = out.grant_types
  // RFC 7591 §2.1: response_types go with the grant types; code only with authorization_code.
  if (out.response_types === undefined && Array.isArray(grants)) out.response_types = grants.includes('authorization_code') ? ['code'] : []
  return out
}

function isHttpsUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false
  try {
    return new URL(value).protocol === 'https:'
  } catch {
    return false
  }
}

function invalid(description: string): OAuthError {
  return new OAuthError('invalid_client_metadata', { description })
}
