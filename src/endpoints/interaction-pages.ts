import type { ServerContext } from '../context.js'
import { constantTimeEqual } from '../crypto/random.js'
import { OAuthError } from '../errors.js'
import { methodNotAllowed } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { finishInteraction, interactionDetails, type InteractionDetails } from '../interaction/interactions.js'
import { readPageForm } from '../pages/form.js'
import { consentPage, loginPage } from '../pages/login.js'
import { PageError } from '../pages/page-error.js'
import { requestView, type PageView } from '../pages/view.js'
import { oauthErrorPage } from '../pages/html.js'
import { readCookie, serializeCookie } from '../http/cookies.js'
import { BUSY_RETRY_AFTER, KNOWN_DEVICE_COOKIE, knownDeviceValue, loginWithPassword } from '../users/login.js'

const UID = /^[A-Za-z0-9_-]{16,128}$/

const expired = (): OAuthError => new PageError('invalid_request', 'error.expired')

/**
 * The built-in login and consent pages, at `{interaction}/{uid}` (GET shows
 * the step, POST submits it). They use only the public interaction API, as an
 * embedder's own UI would.
 */
export async function interactionPagesEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const rest = req.url.pathname.slice(ctx.routes.interaction!.length + 1)
  const uid = rest.split('/')[0] ?? ''
  const action = rest.slice(uid.length)
  if (!UID.test(uid) || (action !== '' && action !== '/login' && action !== '/consent')) throw new PageError('invalid_request', 'error.noSuchPage', { status: 404 })
  const base = ctx.interactionUrl(uid)
  const details = await interactionDetails(ctx, req, uid)
  if (details === null) throw expired()
  // OIDC Core §3.1.2.1: ui_locales of the authorization request, carried by the interaction, outranks Accept-Language.
  const view = requestView(ctx, req, details.uiLocales)

  if (action === '') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed('GET')
    return details.prompt === 'login' ? loginPage(view, details, `${base}/login`) : consentPage(view, details, `${base}/consent`)
  }
  if (req.method !== 'POST') return methodNotAllowed('POST')
  try {
    return await submitStep(ctx, req, details, action, uid, base, view)
  } catch (err) {
    // Shown in the interaction's language, which the failure path (Accept-Language only) does not know.
    if (err instanceof PageError) return oauthErrorPage(view, err)
    throw err
  }
}

/** A POSTed login or consent form. */
async function submitStep(ctx: ServerContext, req: GrantkitRequest, details: InteractionDetails, action: string, uid: string, base: string, view: PageView): Promise<GrantkitResponse> {
  const form = readPageForm(ctx, req)
  // CSRF: the value must be the one this interaction printed into its own form.
  const csrf = form.get('csrf')
  if (csrf === undefined || !constantTimeEqual(csrf, details.csrf)) throw new PageError('invalid_request', 'error.formExpired', { status: 403 })

  if (action === '/login') {
    if (details.prompt !== 'login') return finishInteraction(ctx, req, uid, {})
    const username = form.get('username') ?? ''
    const password = form.get('password') ?? ''
    if (username === '' || password === '') return loginPage(view, details, `${base}/login`, 'login.missing', username)
    const result = await loginWithPassword(ctx, username.slice(0, 256), password.slice(0, 1024), details.client.id, {
      remoteAddress: req.remoteAddress,
      knownDevice: readCookie(req.headers.cookie, KNOWN_DEVICE_COOKIE, ctx.cookies),
      requestId: req.requestId,
    })
    if ('failure' in result) {
      // Too many checks at once: 503 with Retry-After (RFC 9110 §15.6.4, §10.2.3), the form kept with the name typed.
      if (result.failure === 'busy') return loginPage(view, details, `${base}/login`, 'login.busy', username, { status: 503, headers: { 'retry-after': BUSY_RETRY_AFTER } })
      return loginPage(view, details, `${base}/login`, result.failure === 'throttled' ? 'login.throttled' : 'login.wrong', username)
    }
    const done = await finishInteraction(ctx, req, uid, { login: { sub: result.account.sub } })
    // This browser is now known for this account: someone guessing the account elsewhere does not throttle it.
    const known = serializeCookie(KNOWN_DEVICE_COOKIE, knownDeviceValue(ctx, result.account.sub), { ...ctx.cookies, maxAge: ctx.passwordGrant.knownDeviceTtl })
    const set = done.headers['set-cookie']
    done.headers['set-cookie'] = set === undefined ? known : [...(Array.isArray(set) ? set : [set]), known]
    return done
  }

  if (details.prompt !== 'consent') throw expired()
  const decision = form.get('decision')
  if (decision === 'allow') return finishInteraction(ctx, req, uid, { consent: {} })
  if (decision === 'deny') return finishInteraction(ctx, req, uid, { error: 'access_denied', description: 'The person denied the request.' })
  return consentPage(view, details, `${base}/consent`)
}
