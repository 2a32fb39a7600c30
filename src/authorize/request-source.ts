import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { RedirectError } from '../endpoints/failure.js'
import { OAuthError } from '../errors.js'
import { verifyRequestObject } from '../jar/request-object.js'
import { isPushedRequestUri, redeemRequestUri } from '../par/request-uri.js'
import type { RedirectTarget } from './target.js'

/** Where the parameters of an authorization request came from. */
export interface RequestSource {
  /** The parameters to validate, in order. */
  readonly parameters: Iterable<[string, string]>
  /** Through the pushed authorization request endpoint (RFC 9126). */
  readonly pushed: boolean
  /** From a signed request object (RFC 9101), by value or pushed. */
  readonly signed: boolean
}

/** Whether this server answers `request` (the request-objects feature is on). */
function requestObjectsOn(ctx: ServerContext): boolean {
  return ctx.discovery().request_parameter_supported === true
}

/** The one value of a parameter, or undefined when it is absent or repeated (a repeat is refused by the parser). */
function single(entries: ReadonlyArray<[string, string]>, name: string): string | undefined {
  let found: string | undefined
  let count = 0
  for (const [k, v] of entries) {
    if (k !== name) continue
    count++
    found = v
  }
  return count === 1 && found !== '' ? found : undefined
}

/**
 * The parameters an authorization request stands for: those pushed before
 * (a `request_uri` of the PAR endpoint, RFC 9126 §4), those inside a signed
 * request object (`request`, RFC 9101 §6.3), or the query or form itself. In
 * the first two cases the outer parameters other than client_id are ignored,
 * as both RFCs say. A `request_uri` of any other shape is left to the parser,
 * which answers `request_uri_not_supported` at the redirect_uri.
 *
 * Errors here are `OAuthError`s, shown as a page: the redirect_uri that would
 * carry them is inside what failed, so it cannot be trusted yet (RFC 9700 §4.11).
 *
 * @throws OAuthError `invalid_request`, `invalid_request_uri`, `invalid_request_object`
 */
export function resolveRequestSource(ctx: ServerContext, source: Iterable<[string, string]>): RequestSource | Promise<RequestSource> {
  const entries = [...source]
  const requestUri = single(entries, 'request_uri')
  const request = single(entries, 'request')
  // An endpoint of a feature that is off has no URL (EndpointUrls).
  const pushed = requestUri !== undefined && ctx.endpoints.pushedAuthorizationRequest !== undefined && isPushedRequestUri(requestUri)
  const signed = request !== undefined && requestObjectsOn(ctx)
  // A plain request, the common case, costs no promise.
  if (!pushed && !signed) return { parameters: entries, pushed: false, signed: false }
  return resolveReference(ctx, entries, pushed, requestUri, request)
}

async function resolveReference(ctx: ServerContext, entries: ReadonlyArray<[string, string]>, pushed: boolean, requestUri: string | undefined, request: string | undefined): Promise<RequestSource> {
  // RFC 9101 §5: request and request_uri MUST NOT both be present.
  if (requestUri !== undefined && request !== undefined) throw new OAuthError('invalid_request', { description: 'The request has both request and request_uri.' })
  // RFC 9126 §4 and RFC 9101 §5: client_id is sent outside too, and names the client.
  const clientId = single(entries, 'client_id')
  if (clientId === undefined) throw new OAuthError('invalid_request', { description: 'The request has no client_id.' })
  if (pushed) {
    const record = await redeemRequestUri(ctx, requestUri!, clientId)
    return { parameters: record.parameters, pushed: true, signed: record.signed }
  }
  const found = ctx.clients.find(clientId)
  const client = found instanceof Promise ? await found : found
  if (client === undefined) throw new OAuthError('invalid_request', { description: 'The client is not registered with this server.' })
  const verified = await verifyRequestObject(ctx, client, request!)
  return { parameters: verified.parameters, pushed: false, signed: true }
}

/**
 * The per-client and server-wide demands on how requests arrive, checked once
 * the redirect_uri is trusted, so the refusal goes back to the client:
 * `require_pushed_authorization_requests` (RFC 9126 §5, §6) and
 * `require_signed_request_object` (RFC 9101 §10.5).
 *
 * @throws RedirectError `invalid_request` at the validated redirect_uri
 */
export function enforceRequestSource(ctx: ServerContext, client: Client, source: RequestSource, target: RedirectTarget): void {
  if (!source.pushed && (ctx.requirePushedAuthorizationRequests || client.metadata.require_pushed_authorization_requests === true)) {
    throw new RedirectError(target, new OAuthError('invalid_request', { description: 'Authorization requests of this client must be pushed (RFC 9126).' }), client.id)
  }
  if (!source.signed && (ctx.requireSignedRequestObject || client.metadata.require_signed_request_object === true)) {
    throw new RedirectError(target, new OAuthError('invalid_request', { description: 'Authorization requests of this client must be signed request objects (RFC 9101).' }), client.id)
  }
}
