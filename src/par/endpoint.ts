import { parseAuthorizationRequest } from '../authorize/parse.js'
import { authenticateClient, CLIENT_AUTH_PARAMETERS } from '../clients/authenticate.js'
import type { ServerContext } from '../context.js'
import { readFormBodyValues } from '../endpoints/form-body.js'
import { RedirectError } from '../endpoints/failure.js'
import { OAuthError } from '../errors.js'
import { jsonNoStore } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { verifyRequestObject } from '../jar/request-object.js'
import { requireStore } from '../storage/features.js'
import { newRequestUri } from './request-uri.js'

const AUTH_PARAMETERS: ReadonlySet<string> = new Set(CLIENT_AUTH_PARAMETERS)

/** The request-objects feature is on: `request` is verified here rather than refused by the parser. */
const requestObjectsOn = (ctx: ServerContext): boolean => ctx.discovery().request_parameter_supported === true

/**
 * The pushed authorization request endpoint (RFC 9126 §2): the client
 * authenticates as at the token endpoint, pushes the parameters of an
 * authorization request (as a form, or inside a signed request object,
 * §3), and gets a short-lived, one-time `request_uri` for them (§2.2). The
 * request is validated here as the authorization endpoint would, so errors
 * reach the client directly as JSON (§2.3) rather than through the browser.
 */
export async function pushedAuthorizationRequestEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  let clientId: string | undefined
  try {
    const store = requireStore(ctx.storage, 'pushedAuthorizationRequests', 'pushed authorization requests')
    const values = readFormBodyValues(ctx, req)
    const auth = new Map<string, string>()
    for (const name of AUTH_PARAMETERS) {
      const list = values.get(name)
      if (list === undefined) continue
      // RFC 6749 §3.2 as RFC 9126 §2.1 applies it: a parameter is sent once.
      if (list.length > 1) throw new OAuthError('invalid_request', { description: `The parameter "${name}" is repeated.` })
      if (list[0] !== '') auth.set(name, list[0]!)
    }
    // RFC 9126 §2.1: the client authenticates exactly as at the token endpoint.
    const { client } = await authenticateClient(ctx, req, auth, ctx.endpoints.pushedAuthorizationRequest!)
    clientId = client.id
    // RFC 9126 §2.1: request_uri MUST NOT be provided here.
    if (values.has('request_uri')) throw new OAuthError('invalid_request', { description: 'request_uri cannot be pushed.' })

    let parameters: Array<[string, string]>
    let signed = false
    const request = values.get('request')
    if (request !== undefined && requestObjectsOn(ctx)) {
      if (request.length > 1) throw new OAuthError('invalid_request', { description: 'The parameter "request" is repeated.' })
      // RFC 9126 §3: the request object is verified as RFC 9101 says; its
      // client_id and iss must be the authenticated client, and only its claims count.
      parameters = (await verifyRequestObject(ctx, client, request[0]!)).parameters
      signed = true
    } else {
      // The authenticated client is the request's client_id (RFC 9126 §2.1).
      parameters = [['client_id', client.id]]
      for (const [name, list] of values) if (!AUTH_PARAMETERS.has(name)) for (const v of list) parameters.push([name, v])
    }
    // RFC 9101 §10.5: a client (or server) that requires signed request objects pushes only those.
    if (!signed && (ctx.requireSignedRequestObject || client.metadata.require_signed_request_object === true)) {
      throw new OAuthError('invalid_request', { description: 'Authorization requests of this client must be signed request objects (RFC 9101).' })
    }
    // RFC 9126 §2.1: validated as the authorization endpoint would; the errors
    // it would redirect are answered here, as JSON (RFC 9126 §2.3).
    try {
      await parseAuthorizationRequest(ctx, { method: 'POST', url: req.url, headers: req.headers }, parameters)
    } catch (err) {
      throw err instanceof RedirectError ? err.oauth : err
    }

    const { requestUri, requestUriHash } = newRequestUri(ctx)
    const expiresIn = ctx.ttl.pushedAuthorizationRequest
    await store.save({ requestUriHash, clientId: client.id, parameters, signed, expiresAt: ctx.now() + expiresIn })
    // RFC 9126 §2.2: 201 Created, request_uri and expires_in.
    return jsonNoStore(201, { request_uri: requestUri, expires_in: expiresIn })
  } catch (err) {
    if (err instanceof OAuthError) ctx.events.emit({ type: 'authorization.error', clientId, error: err.error, detail: err.detail }, req.requestId)
    throw err
  }
}
