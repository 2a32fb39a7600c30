import { RESPONSE_TYPES } from '../authorize/parse.js'
import { CLIENT_AUTH_METHODS } from '../clients/metadata.js'
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS } from '../crypto/jose.js'
import { SCOPE_CLAIMS } from '../tokens/id-token.js'
import type { ServerContext } from '../context.js'
import { jsonPublic, methodNotAllowed } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'

/**
 * Authorization server metadata (RFC 8414 §2), generated from what this server
 * actually has enabled: the registered grants, the endpoints, the signing keys.
 */
export function buildMetadata(ctx: ServerContext): Record<string, unknown> {
  const now = ctx.now()
  const signingAlgs = [...new Set(ctx.keys.publishedKeys(now).map((k) => k.alg))]
  const grants = [...ctx.grants.keys()]
  const codeFlow = ctx.grants.has('authorization_code')
  const responseTypes = codeFlow ? [...RESPONSE_TYPES] : RESPONSE_TYPES.filter((t) => t !== 'code')
  const metadata: Record<string, unknown> = {
    issuer: ctx.issuer,
    authorization_endpoint: ctx.endpoints.authorization,
    token_endpoint: ctx.endpoints.token,
    userinfo_endpoint: ctx.endpoints.userinfo,
    jwks_uri: ctx.endpoints.jwks,
    revocation_endpoint: ctx.endpoints.revocation,
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    introspection_endpoint: ctx.endpoints.introspection,
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS.filter((m) => m !== 'none'),
    // implicit is answered at the authorization endpoint, not the token endpoint.
    grant_types_supported: [...grants, 'implicit'],
    response_types_supported: responseTypes,
    response_modes_supported: ['query', 'fragment'],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    // What client authentication accepts: private_key_jwt (asymmetric) and client_secret_jwt (HMAC).
    token_endpoint_auth_signing_alg_values_supported: [...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS],
    code_challenge_methods_supported: ctx.pkce.allowPlain ? ['S256', 'plain'] : ['S256'],
    // RFC 9207: every authorization response carries iss.
    authorization_response_iss_parameter_supported: true,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: signingAlgs,
    access_token_signing_alg_values_supported: signingAlgs,
    prompt_values_supported: ['none', 'login', 'consent'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', ...Object.values(SCOPE_CLAIMS).flat()],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  }
  // RFC 8628 §4: advertised only when the grant is enabled.
  if (ctx.grants.has('urn:ietf:params:oauth:grant-type:device_code')) metadata.device_authorization_endpoint = ctx.endpoints.deviceAuthorization
  if (ctx.scopes !== undefined) metadata.scopes_supported = [...ctx.scopes]
  return metadata
}

/**
 * `/.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`.
 * The document is built once and served from memory.
 */
export function createDiscoveryEndpoint(ctx: ServerContext): (req: GrantkitRequest) => GrantkitResponse {
  let body: string | undefined
  return (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed('GET')
    body ??= JSON.stringify(buildMetadata(ctx))
    return jsonPublic(body, ctx.metadataMaxAge)
  }
}
