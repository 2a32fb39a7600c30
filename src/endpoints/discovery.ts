import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS } from '../crypto/jose.js'
import type { ServerContext } from '../context.js'
import type { Feature } from '../features/types.js'
import { jsonPublic } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'

/**
 * Authorization server metadata (RFC 8414 §2), generated from what this server
 * actually has enabled: each enabled feature adds the fields that describe it
 * (its endpoint, the grants, response types, …), so nothing is advertised that
 * is off.
 */
export function buildMetadata(ctx: ServerContext): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    issuer: ctx.issuer,
    ...ctx.discovery(),
    token_endpoint_auth_signing_alg_values_supported: [...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS],
    subject_types_supported: ['public'],
  }
  if (ctx.scopes !== undefined) metadata.scopes_supported = [...ctx.scopes]
  return metadata
}

/**
 * `/.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`.
 * The document is built at the first request and served from memory.
 */
function createDiscoveryEndpoint(): (ctx: ServerContext, req: GrantkitRequest) => GrantkitResponse {
  const bodies = new WeakMap<ServerContext, string>()
  return (ctx) => {
    let body = bodies.get(ctx)
    if (body === undefined) bodies.set(ctx, (body = JSON.stringify(buildMetadata(ctx))))
    return jsonPublic(body, ctx.metadataMaxAge)
  }
}

const discoveryDocument = createDiscoveryEndpoint()

/** RFC 8414 §3 and OIDC Discovery §4: the same document at both well-known places. */
export const discoveryFeature: Feature = {
  name: 'discovery',
  options: ['metadataMaxAge'],
  endpoints: [
    { name: 'metadata', path: '/.well-known/oauth-authorization-server', wellKnown: 'insert', methods: ['GET'], errors: 'json', cors: 'public', shed: false, handle: discoveryDocument },
    { name: 'openidConfiguration', path: '/.well-known/openid-configuration', wellKnown: 'append', methods: ['GET'], errors: 'json', cors: 'public', shed: false, handle: discoveryDocument },
  ],
}
