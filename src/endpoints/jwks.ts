import type { ServerContext } from '../context.js'
import { jsonPublic, methodNotAllowed } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'

/** The JWKS endpoint (RFC 7517 §5): public keys only, including keys about to sign and retired ones still verifying. */
export function jwksEndpoint(ctx: ServerContext, req: GrantkitRequest): GrantkitResponse {
  if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed('GET')
  const keys = ctx.keys.publishedKeys(ctx.now()).map((k) => k.publicJwk)
  return jsonPublic(JSON.stringify({ keys }), ctx.metadataMaxAge)
}
