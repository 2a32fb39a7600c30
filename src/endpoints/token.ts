import { authenticateClient, CLIENT_AUTH_PARAMETERS } from '../clients/authenticate.js'
import { CLIENT_AUTH_METHODS } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { OAuthError } from '../errors.js'
import type { Feature } from '../features/types.js'
import { grantContextFactory } from '../grants/capabilities.js'
import type { GrantHandler } from '../grants/types.js'
import { singleValues } from '../http/form.js'
import { jsonNoStore } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { FEATURE_STORES } from '../storage/features.js'
import { tokenRequestProof } from '../dpop/token-request.js'
import { readFormBodyValues } from './form-body.js'

const COMMON_PARAMETERS = ['grant_type', 'scope', ...CLIENT_AUTH_PARAMETERS]

/** What the token endpoint knows of a grant, worked out once per server. */
interface PreparedGrant {
  handler: GrantHandler
  /** RFC 6749 §3.2: unknown parameters are ignored; these are the known ones. */
  allowed: ReadonlySet<string>
  repeatable: ReadonlySet<string>
  /** The parameters by which this grant names the resource of its token (RFC 8707 `resource`, RFC 8693 `audience`). */
  targets: readonly string[]
}

const prepared = new WeakMap<ServerContext, { grants: Map<string, PreparedGrant>; context: ReturnType<typeof grantContextFactory> }>()

function prepare(ctx: ServerContext) {
  let p = prepared.get(ctx)
  if (p === undefined) {
    const grants = new Map<string, PreparedGrant>()
    for (const [type, handler] of ctx.grants) {
      grants.set(type, { handler, allowed: new Set([...COMMON_PARAMETERS, ...handler.parameters]), repeatable: new Set(handler.repeatable ?? []), targets: handler.parameters.filter((n) => n === 'resource' || n === 'audience') })
    }
    p = { grants, context: grantContextFactory(ctx) }
    prepared.set(ctx, p)
  }
  return p
}

/**
 * The token endpoint (RFC 6749 §3.2): form POST only, every response
 * `Cache-Control: no-store`, errors as §5.2 says.
 */
export async function tokenEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const { grants, context } = prepare(ctx)
  let grantType: string | undefined
  let clientId: string | undefined
  try {
    const values = readFormBodyValues(ctx, req)
    const types = values.get('grant_type')
    // Repeated grant_type is malformed before anything else (RFC 6749 §3.2).
    grantType = types?.length === 1 && types[0] !== '' ? types[0] : undefined
    if (grantType === undefined) {
      if (types !== undefined && types.length > 1) singleValues(values)
      throw new OAuthError('invalid_request', { description: 'grant_type is required.' })
    }
    const grant = grants.get(grantType)
    if (grant === undefined) throw new OAuthError('unsupported_grant_type', { detail: `grant_type ${grantType.slice(0, 100)}` })
    // Only the grant's own parameters may repeat (RFC 8707 resource, RFC 8693 audience).
    const params = singleValues(values, grant.repeatable, grant.allowed)
    const { client, method } = await authenticateClient(ctx, req, params, ctx.endpoints.token)
    clientId = client.id
    // RFC 6749 §5.2 unauthorized_client: the client is not registered for this grant type.
    if (!client.grantTypes.has(grantType)) {
      throw new OAuthError('unauthorized_client', { detail: `client ${client.id} is not registered for ${grantType}` })
    }
    if (grant.handler.clientAuth === 'required' && client.isPublic) {
      throw new OAuthError('unauthorized_client', { detail: `${grantType} requires a confidential client` })
    }
    // RFC 8707 §2: invalid_target covers a "missing" resource; with requireResource a grant that can name one must.
    if (ctx.requireResource && grant.targets.length > 0 && !grant.targets.some((n) => values.has(n))) {
      throw new OAuthError('invalid_target', { description: 'resource is required.' })
    }
    // RFC 9449 §5: a request without a DPoP header does no DPoP work.
    const pending = tokenRequestProof(ctx, req, client)
    const proof = pending === undefined ? undefined : await pending
    const body = await grant.handler.handle(context({ request: req, grantType, params, values, client, clientAuthMethod: method, ...(proof !== undefined && { dpop: { jkt: proof.jkt } }) }))
    // RFC 9449 §8: a fresher nonce rides on the success response.
    return jsonNoStore(200, body, proof?.nextNonce === undefined ? undefined : { 'dpop-nonce': proof.nextNonce })
  } catch (err) {
    if (err instanceof OAuthError) ctx.events.emit({ type: 'token.error', grantType, clientId, error: err.error, detail: err.detail }, req.requestId)
    throw err
  }
}

/** The token endpoint and what discovery says of it: the registered grants and the ways clients authenticate. */
export const tokenFeature: Feature = {
  name: 'token',
  endpoints: [{ name: 'token', path: '/token', methods: ['POST'], errors: 'json', cors: 'client', handle: tokenEndpoint }],
  stores: FEATURE_STORES.core,
  discovery: (ctx) => ({
    token_endpoint: ctx.endpoints.token,
    // implicit is answered at the authorization endpoint, not the token endpoint.
    grant_types_supported: [...(ctx as ServerContext).grants.keys(), 'implicit'],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
  }),
}
