import type { ServerContext } from '../context.js'
import type { Feature } from '../features/types.js'
import { jsonPublic } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'

/** The JWKS endpoint (RFC 7517 §5): public keys only, including keys about to sign and retired ones still verifying. */
export function jwksEndpoint(ctx: ServerContext, _req: GrantkitRequest): GrantkitResponse {
  const keys = ctx.keys.publishedKeys(ctx.now()).map((k) => k.publicJwk)
  return jsonPublic(JSON.stringify({ keys }), ctx.metadataMaxAge)
}

/** The server's public keys, at `jwks_uri` (RFC 8414 §2). */
export const jwksFeature: Feature = {
  name: 'jwks',
  endpoints: [{ name: 'jwks', path: '/jwks', methods: ['GET'], errors: 'json', cors: 'public', shed: false, handle: jwksEndpoint }],
  discovery: (ctx) => ({ jwks_uri: ctx.endpoints.jwks }),
}
