import { redirectToClient, type RedirectTarget } from '../authorize/target.js'
import type { ServerContext } from '../context.js'
import { OAuthError, StorageUnavailableError } from '../errors.js'
import type { ErrorStyle } from '../features/types.js'
import { errorResponse, serverErrorResponse } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { errorPage, oauthErrorPage } from '../pages/html.js'
import { queryUiLocales, requestView } from '../pages/view.js'
import type { ShedReason } from '../http/overload.js'

/**
 * An error answered by redirecting to the client (RFC 6749 §4.1.2.1, §4.2.2.1).
 * It can only be built with a `RedirectTarget`, which only exists once the
 * client and its redirect_uri have been validated: everything before that is
 * a page (RFC 9700 §4.11, no open redirector).
 *
 * @example
 * throw new RedirectError(target, new OAuthError('invalid_scope'))
 */
export class RedirectError extends Error {
  constructor(
    readonly target: RedirectTarget,
    readonly oauth: OAuthError,
    /** The client the redirect goes to, for the `authorization.error` event. */
    readonly clientId: string,
  ) {
    super(oauth.message, { cause: oauth })
    this.name = 'RedirectError'
  }
}

/** Seconds a client is told to wait after a 503 (RFC 9110 §10.2.3). */
const RETRY_AFTER = '5'

/**
 * The one place where anything an endpoint throws becomes a response: a
 * `RedirectError` goes to the validated redirect_uri, an `OAuthError` becomes
 * the RFC 6749 §5.2 JSON body or an HTML page (by the endpoint's error style),
 * an unreachable database (or one not migrated) becomes 503
 * `temporarily_unavailable` with `Retry-After` (fail closed), and anything
 * else a bare `server_error`. Details reach events, never the response.
 *
 * @param req the request: its id tags the events, its languages the error page
 */
export function failureResponse(ctx: ServerContext, endpoint: string, err: unknown, style: ErrorStyle = 'json', req?: GrantkitRequest): GrantkitResponse {
  const requestId = req?.requestId
  // A page speaks the person's language: ui_locales of the query (OIDC Core §3.1.2.1), then Accept-Language.
  const view = () => requestView(ctx, req ?? { headers: {} }, req === undefined ? [] : queryUiLocales(req))
  if (err instanceof RedirectError) {
    ctx.events.emit({ type: 'authorization.error', clientId: err.clientId, error: err.oauth.error, detail: err.oauth.detail ?? err.oauth.description }, requestId)
    return redirectToClient(ctx, err.target, { error: err.oauth.error, error_description: err.oauth.description })
  }
  if (err instanceof OAuthError) {
    if (style === 'json') return errorResponse(err)
    if (endpoint === 'authorization') ctx.events.emit({ type: 'authorization.error', clientId: undefined, error: err.error, detail: err.detail ?? err.description }, requestId)
    return oauthErrorPage(view(), err)
  }
  if (err instanceof StorageUnavailableError) {
    ctx.events.emit({ type: 'storage.unavailable', endpoint, error: err }, requestId)
    const unavailable = new OAuthError('temporarily_unavailable', { status: 503, headers: { 'retry-after': RETRY_AFTER } })
    return style === 'json'
      ? errorResponse(unavailable)
      : errorPage(view(), 'temporarily_unavailable', 'error.unavailable', 503, unavailable.headers)
  }
  ctx.events.emit({ type: 'server.error', endpoint, error: err }, requestId)
  return style === 'json' ? serverErrorResponse() : errorPage(view(), 'server_error', 'error.server', 500)
}

/**
 * The answer to a request refused by load shedding (option `overload`): 503
 * `temporarily_unavailable` with `Retry-After`, JSON or, at the pages and the
 * authorization endpoint, the HTML error page (RFC 6749 §4.1.2.1 names
 * temporarily_unavailable; nothing was validated yet, so never a redirect).
 * Emits `request.shed`.
 */
export function shedResponse(ctx: ServerContext, endpoint: string, reason: ShedReason, style: ErrorStyle, req: GrantkitRequest): GrantkitResponse {
  ctx.events.emit({ type: 'request.shed', endpoint, reason }, req.requestId)
  // RFC 9110 §15.6.4: 503 with Retry-After, the delay after which the client may try again.
  const headers = { 'retry-after': ctx.overload!.retryAfter }
  if (style === 'json') return errorResponse(new OAuthError('temporarily_unavailable', { status: 503, headers }))
  return errorPage(requestView(ctx, req, queryUiLocales(req)), 'temporarily_unavailable', 'error.unavailable', 503, headers)
}
