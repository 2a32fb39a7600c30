import { CLIENT_AUTH_METHODS } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { jsonPublic, methodNotAllowed } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'

const ASSERTION_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512']

/**
 * Authorization server metadata (RFC 8414 §2), generated from what this server
 * actually has enabled: the registered grants, the endpoints, the signing keys.
 */
export function buildMetadata(ctx: ServerContext): Record<string, unknown> {
  const now = ctx.now()
  const metadata: Record<string, unknown> = {
    issuer: ctx.issuer,
    token_endpoint: ctx.endpoints.token,
    jwks_uri: ctx.endpoints.jwks,
    grant_types_supported: [...ctx.grants.keys()],
    // RFC 8414 §2: REQUIRED. There is no authorization endpoint yet, so no response type.
    response_types_supported: [],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
    access_token_signing_alg_values_supported: [...new Set(ctx.keys.publishedKeys(now).map((k) => k.alg))],
  }
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
