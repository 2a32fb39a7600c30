import type { ServerContext } from '../context.js'
import { constantTimeEqual, hashToken } from '../crypto/random.js'
import { normalizeUserCode } from '../device/user-code.js'
import { readCookie, serializeCookie, signCookieValue, verifyCookieValue } from '../http/cookies.js'
import { OAuthError } from '../errors.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { beginInteraction } from '../interaction/interactions.js'
import { readSession } from '../interaction/session.js'
import { deviceCodePage } from '../pages/device.js'
import { readPageForm } from '../pages/form.js'
import { PageError } from '../pages/page-error.js'
import { requestView } from '../pages/view.js'
import { requireStore } from '../storage/features.js'

/** Identifies the browser for the code-entry form: CSRF value and per-browser attempt counting. */
const DEVICE_COOKIE = 'grantkit_device'
/** The MAC purpose of its value, so no other signed cookie passes for it. */
const DEVICE_PURPOSE = 'device-browser'

/**
 * The verification_uri of the device flow (RFC 8628 §3.3). GET shows the form
 * (pre-filled from verification_uri_complete); POST looks the code up, and
 * hands a match to login and consent. Consent is always asked, naming the
 * client, so a person can spot a phishing attempt (§5.4).
 *
 * User codes are short enough to guess (§5.1), so entries are counted three
 * ways, each with `deviceFlow` options:
 * - per browser, under a cookie the server issued and signed: at most
 *   `maxAttempts` per `attemptWindow`. A value the server did not sign gets
 *   no counter of its own: the form is shown again with a fresh cookie and
 *   the code is not looked up.
 * - per user code: at most `maxAttempts` entries of one code per
 *   `attemptWindow`, whoever types it.
 * - per source address (the `remoteAddress` the adapter trusts): at most
 *   `maxAttemptsPerAddress` per clock-aligned `addressWindow`, a short window:
 *   a guesser slows everyone behind a shared address for at most that long
 *   instead of locking them out.
 */
export async function deviceVerificationEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const action = ctx.endpoints.deviceVerification
  const view = requestView(ctx, req)
  const sent = readCookie(req.headers.cookie, DEVICE_COOKIE, ctx.cookies)
  // SECURITY: only a value this server signed names a browser; anything else is a new browser.
  const browserId = verifyCookieValue(ctx.cookieSecrets, DEVICE_PURPOSE, sent)
  const freshBrowser = (): { value: string; cookie: string } => {
    const value = signCookieValue(ctx.cookieSecrets, DEVICE_PURPOSE, ctx.randomToken())
    return { value, cookie: serializeCookie(DEVICE_COOKIE, value, { ...ctx.cookies, maxAge: ctx.interactionTtl }) }
  }

  if (req.method === 'GET' || req.method === 'HEAD') {
    const prefill = (req.url.searchParams.get('user_code') ?? '').slice(0, 32)
    // A valid cookie is set again to renew its lifetime.
    const fresh = browserId !== undefined ? { value: sent!, cookie: serializeCookie(DEVICE_COOKIE, sent!, { ...ctx.cookies, maxAge: ctx.interactionTtl }) } : freshBrowser()
    return deviceCodePage(view, action, fresh.value, prefill, undefined, 200, { 'set-cookie': fresh.cookie })
  }
  const form = readPageForm(ctx, req)
  const csrf = form.get('csrf')
  // Double-submit CSRF: the form must carry the value this browser's cookie holds.
  if (sent === undefined || csrf === undefined || !constantTimeEqual(csrf, sent)) {
    throw new PageError('invalid_request', 'device.formExpiredReload', { status: 403 })
  }
  const typed = form.get('user_code') ?? ''
  if (browserId === undefined) {
    const fresh = freshBrowser()
    return deviceCodePage(view, action, fresh.value, typed.slice(0, 32), 'device.formExpired', 400, { 'set-cookie': fresh.cookie })
  }

  const normalized = normalizeUserCode(typed)
  const now = Math.floor(ctx.now())
  const { attemptWindow, addressWindow, maxAttempts, maxAttemptsPerAddress } = ctx.deviceFlow
  const windowEnd = (Math.floor(now / attemptWindow) + 1) * attemptWindow
  const addressWindowEnd = (Math.floor(now / addressWindow) + 1) * addressWindow
  const limits = ctx.storage.rateLimits
  const bySource = await limits.increment(`device-entry:source:${(req.remoteAddress ?? 'unknown').slice(0, 64)}`, addressWindowEnd)
  const byBrowser = await limits.increment(`device-entry:browser:${hashToken(browserId)}`, windowEnd)
  const byCode = normalized === undefined ? 0 : await limits.increment(`device-entry:code:${hashToken(normalized)}`, windowEnd)
  if (bySource > maxAttemptsPerAddress || byBrowser > maxAttempts || byCode > maxAttempts) {
    ctx.events.emit({ type: 'device.code.throttled', remoteAddress: req.remoteAddress })
    // RFC 6585 §4 (429) with RFC 9110 §10.2.3 Retry-After: when the window that refused this entry ends.
    const until = byBrowser > maxAttempts || byCode > maxAttempts ? windowEnd : addressWindowEnd
    throw new PageError('slow_down', 'device.throttled', { status: 429, headers: { 'retry-after': String(Math.max(1, until - now)) } })
  }

  const record = normalized === undefined ? null : await requireStore(ctx.storage, 'deviceCodes', 'the device flow').findByUserCode(hashToken(normalized))
  if (record === null) {
    return deviceCodePage(view, action, sent, typed.slice(0, 32), 'device.invalidCode', 400)
  }
  const session = await readSession(ctx, req)
  const login = session !== null ? { sub: session.sub, authTime: session.authTime, fresh: false } : undefined
  return beginInteraction(
    ctx,
    {
      clientId: record.clientId,
      redirectUri: '',
      redirectUriSent: false,
      responseType: 'device_code',
      responseMode: 'query',
      scope: record.scope,
      prompt: ['consent'],
    },
    login,
    { userCodeHash: record.userCodeHash },
  )
}
