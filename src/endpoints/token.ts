import { authenticateClient, CLIENT_AUTH_PARAMETERS } from '../clients/authenticate.js'
import type { ServerContext } from '../context.js'
import { OAuthError } from '../errors.js'
import type { FormParams } from '../http/form.js'
import { jsonNoStore } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import type { Feature } from '../features/types.js'
import { CLIENT_AUTH_METHODS } from '../clients/metadata.js'
import type { GrantContext, GrantHandler } from '../grants/types.js'
import { readFormBody } from './form-body.js'

const COMMON_PARAMETERS = ['grant_type', 'scope', ...CLIENT_AUTH_PARAMETERS]

/** Keeps only the parameters the grant reads (RFC 6749 §3.2: unknown parameters are ignored). */
function allowListed(params: FormParams, grant: GrantHandler): FormParams {
  const out = new Map<string, string>()
  for (const name of COMMON_PARAMETERS) {
    const v = params.get(name)
    if (v !== undefined) out.set(name, v)
  }
  for (const name of grant.parameters) {
    const v = params.get(name)
    if (v !== undefined) out.set(name, v)
  }
  return out
}

/**
 * The token endpoint (RFC 6749 §3.2): form POST only, every response
 * `Cache-Control: no-store`, errors as §5.2 says.
 */
export async function tokenEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  let grantType: string | undefined
  let clientId: string | undefined
  try {
    const params = readFormBody(ctx, req)
    grantType = params.get('grant_type')
    if (grantType === undefined) throw new OAuthError('invalid_request', { description: 'grant_type is required.' })
    const grant = ctx.grants.get(grantType)
    if (grant === undefined) throw new OAuthError('unsupported_grant_type', { detail: `grant_type ${grantType.slice(0, 100)}` })
    const filtered = allowListed(params, grant)
    const { client, method } = await authenticateClient(ctx, req, filtered, ctx.endpoints.token)
    clientId = client.id
    // RFC 6749 §5.2 unauthorized_client: the client is not registered for this grant type.
    if (!client.grantTypes.has(grantType)) {
      throw new OAuthError('unauthorized_client', { detail: `client ${client.id} is not registered for ${grantType}` })
    }
    if (grant.clientAuth === 'required' && client.isPublic) {
      throw new OAuthError('unauthorized_client', { detail: `${grantType} requires a confidential client` })
    }
    const gctx: GrantContext = { server: ctx, request: req, params: filtered, client, clientAuthMethod: method }
    const body = await grant.handle(gctx)
    return jsonNoStore(200, body)
  } catch (err) {
    if (err instanceof OAuthError) ctx.events.emit({ type: 'token.error', grantType, clientId, error: err.error, detail: err.detail })
    throw err
  }
}

/** The token endpoint and what discovery says of it: the registered grants and the ways clients authenticate. */
export const tokenFeature: Feature = {
  name: 'token',
  endpoints: [{ name: 'token', path: '/token', methods: ['POST'], errors: 'json', handle: tokenEndpoint }],
  stores: ['accessTokens', 'grants'],
  discovery: (ctx) => ({
    token_endpoint: ctx.endpoints.token,
    // implicit is answered at the authorization endpoint, not the token endpoint.
    grant_types_supported: [...(ctx as ServerContext).grants.keys(), 'implicit'],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
  }),
}
