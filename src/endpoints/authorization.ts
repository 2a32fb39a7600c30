import { completeAuthorization } from '../authorize/complete.js'
import { parseAuthorizationRequest, RESPONSE_TYPES } from '../authorize/parse.js'
import { enforceRequestSource, resolveRequestSource } from '../authorize/request-source.js'
import type { ServerContext } from '../context.js'
import { OAuthError } from '../errors.js'
import type { Feature } from '../features/types.js'
import { isFormContentType } from '../http/form.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { beginInteraction, nextStep } from '../interaction/interactions.js'
import { readSession } from '../interaction/session.js'
import { FEATURE_STORES } from '../storage/features.js'
import { RedirectError } from './failure.js'

/**
 * The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2): GET, or POST
 * with a form. A request that needs a person goes to the interaction UI;
 * `prompt=none` never does (OIDC Core §3.1.2.6).
 */
export async function authorizationEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  let form: URLSearchParams | undefined
  if (req.method === 'POST') {
    if (req.bodyTooLarge === true || (req.body?.length ?? 0) > ctx.maxBodyBytes) throw new OAuthError('invalid_request', { status: 413, description: 'The request is too large.' })
    if (!isFormContentType(req.headers['content-type'])) throw new OAuthError('invalid_request', { description: 'The request body must be a form.' })
    form = req.form ?? new URLSearchParams(req.body ?? '')
  }
  // RFC 9126 §4, RFC 9101 §6.3: a pushed or signed request stands for its own parameters.
  const resolved = resolveRequestSource(ctx, form ?? req.url.searchParams)
  const source = resolved instanceof Promise ? await resolved : resolved
  const { client, request, target } = await parseAuthorizationRequest(ctx, req, source.parameters)
  enforceRequestSource(ctx, client, source, target)
  const session = await readSession(ctx, req)
  const login = session !== null ? { sub: session.sub, authTime: session.authTime, fresh: false, session: session.idHash } : undefined
  const { step } = await nextStep(ctx, request, login, false)
  if (step === 'done') return await completeAuthorization(ctx, client, request, { sub: login!.sub, authTime: login!.authTime, scope: request.scope, session: session! })
  if (request.prompt.includes('none')) {
    throw new RedirectError(target, new OAuthError(step === 'login' ? 'login_required' : 'consent_required'), client.id)
  }
  return await beginInteraction(ctx, request, login)
}

/**
 * The authorization endpoint and what discovery says of it: response types
 * and modes, PKCE methods, RFC 9207 `iss`, the OIDC prompts. Its errors are
 * pages until the redirect_uri is trusted, redirects after.
 */
export const authorizationFeature: Feature = {
  name: 'authorization',
  endpoints: [{ name: 'authorization', path: '/authorize', methods: ['GET', 'POST'], errors: 'page', handle: authorizationEndpoint }],
  stores: FEATURE_STORES.authorization,
  clientMetadata: ['redirect_uris', 'response_types'],
  options: ['allowHttpRedirectUris', 'pkce', 'pkce.allowPlain', 'pkce.required', 'ttl.authorizationCode'],
  discovery: (c) => {
    const ctx = c as ServerContext
    const codeFlow = ctx.grants.has('authorization_code')
    return {
      authorization_endpoint: ctx.endpoints.authorization,
      response_types_supported: codeFlow ? [...RESPONSE_TYPES] : RESPONSE_TYPES.filter((t) => t !== 'code'),
      response_modes_supported: ['query', 'fragment'],
      code_challenge_methods_supported: ctx.pkce.allowPlain ? ['S256', 'plain'] : ['S256'],
      // RFC 9207: every authorization response carries iss.
      authorization_response_iss_parameter_supported: true,
      prompt_values_supported: ['none', 'login', 'consent'],
      // OIDC Discovery §3 defaults request_uri support to true: say no unless the request-objects feature says otherwise.
      request_parameter_supported: false,
      request_uri_parameter_supported: false,
    }
  },
}
