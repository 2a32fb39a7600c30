import { completeAuthorization } from '../authorize/complete.js'
import { AuthorizationPageError, parseAuthorizationRequest } from '../authorize/parse.js'
import { redirectToClient } from '../authorize/target.js'
import type { ServerContext } from '../context.js'
import { OAuthError, StorageUnavailableError } from '../errors.js'
import { isFormContentType } from '../http/form.js'
import { methodNotAllowed } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { beginInteraction, nextStep } from '../interaction/interactions.js'
import { readSession } from '../interaction/session.js'
import { errorPage } from '../pages/html.js'

/**
 * The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2): GET, or POST
 * with a form. A request that needs a person goes to the interaction UI;
 * `prompt=none` never does (OIDC Core §3.1.2.6).
 */
export async function authorizationEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  if (req.method !== 'GET' && req.method !== 'POST') return methodNotAllowed('GET, POST')
  try {
    let form: URLSearchParams | undefined
    if (req.method === 'POST') {
      if (req.bodyTooLarge === true || (req.body?.length ?? 0) > ctx.maxBodyBytes) return errorPage('invalid_request', 'The request is too large.', 413)
      if (!isFormContentType(req.headers['content-type'])) return errorPage('invalid_request', 'The request body must be a form.')
      form = req.form ?? new URLSearchParams(req.body ?? '')
    }
    const parsed = await parseAuthorizationRequest(ctx, req, form)
    if ('error' in parsed) {
      ctx.events.emit({ type: 'authorization.error', clientId: parsed.clientId, error: parsed.error.error, detail: parsed.error.detail ?? parsed.error.description })
      return redirectToClient(ctx, parsed.target, { error: parsed.error.error, error_description: parsed.error.description })
    }
    const { client, request, target } = parsed
    const session = await readSession(ctx, req)
    const login = session !== null ? { sub: session.sub, authTime: session.authTime, fresh: false } : undefined
    const { step } = await nextStep(ctx, request, login, false)
    if (step === 'done') return await completeAuthorization(ctx, client, request, { sub: login!.sub, authTime: login!.authTime, scope: request.scope })
    if (request.prompt.includes('none')) {
      const error = new OAuthError(step === 'login' ? 'login_required' : 'consent_required')
      return redirectToClient(ctx, target, { error: error.error, error_description: error.description })
    }
    return await beginInteraction(ctx, request, login)
  } catch (err) {
    if (err instanceof AuthorizationPageError) {
      ctx.events.emit({ type: 'authorization.error', clientId: undefined, error: err.oauth.error, detail: err.oauth.description })
      return errorPage(err.oauth.error, err.oauth.description)
    }
    if (err instanceof StorageUnavailableError) {
      ctx.events.emit({ type: 'storage.unavailable', endpoint: 'authorization', error: err })
      return errorPage('temporarily_unavailable', 'The service is temporarily unavailable. Try again in a moment.', 503)
    }
    ctx.events.emit({ type: 'server.error', endpoint: 'authorization', error: err })
    return errorPage('server_error', 'The server could not complete the request.', 500)
  }
}
