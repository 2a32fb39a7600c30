import type { ServerContext } from '../context.js'
import { constantTimeEqual, hashToken } from '../crypto/random.js'
import { normalizeUserCode } from '../device/user-code.js'
import { readCookie, serializeCookie } from '../http/cookies.js'
import { OAuthError } from '../errors.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { beginInteraction } from '../interaction/interactions.js'
import { readSession } from '../interaction/session.js'
import { deviceCodePage } from '../pages/device.js'
import { readPageForm } from '../pages/form.js'
import { requireStore } from '../storage/features.js'

/** Identifies the browser for the code-entry form: CSRF value and per-browser attempt counting. */
const DEVICE_COOKIE = 'grantkit_device'

/**
 * The verification_uri of the device flow (RFC 8628 §3.3). GET shows the form
 * (pre-filled from verification_uri_complete); POST looks the code up, counting
 * attempts per source address and per browser (§5.1: user codes are short
 * enough to guess), and hands a match to login and consent. Consent is always
 * asked, naming the client, so a person can spot a phishing attempt (§5.4).
 */
export async function deviceVerificationEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const action = ctx.endpoints.deviceVerification
  let browser = readCookie(req.headers.cookie, DEVICE_COOKIE)
  if (browser !== undefined && !/^[A-Za-z0-9_-]{43}$/.test(browser)) browser = undefined

  if (req.method === 'GET' || req.method === 'HEAD') {
    const fresh = browser ?? ctx.randomToken()
    const cookie = serializeCookie(DEVICE_COOKIE, fresh, { ...ctx.cookies, maxAge: ctx.interactionTtl })
    const prefill = (req.url.searchParams.get('user_code') ?? '').slice(0, 32)
    return deviceCodePage(action, fresh, prefill, undefined, 200, { 'set-cookie': cookie })
  }
  const form = readPageForm(ctx, req)
  const csrf = form.get('csrf')
  // Double-submit CSRF: the form must carry the value this browser's cookie holds.
  if (browser === undefined || csrf === undefined || !constantTimeEqual(csrf, browser)) {
    throw new OAuthError('invalid_request', { status: 403, description: 'The form has expired. Reload the page and enter the code again.' })
  }

  const now = Math.floor(ctx.now())
  const window = ctx.deviceFlow.attemptWindow
  const windowEnd = (Math.floor(now / window) + 1) * window
  const bySource = await ctx.storage.rateLimits.increment(`device-entry:source:${req.remoteAddress ?? 'unknown'}`, windowEnd)
  const byBrowser = await ctx.storage.rateLimits.increment(`device-entry:browser:${hashToken(browser)}`, windowEnd)
  if (bySource > ctx.deviceFlow.maxAttempts || byBrowser > ctx.deviceFlow.maxAttempts) {
    ctx.events.emit({ type: 'device.code.throttled', remoteAddress: req.remoteAddress })
    throw new OAuthError('slow_down', { status: 429, description: 'Too many codes were tried. Wait a while and try again.' })
  }

  const typed = form.get('user_code') ?? ''
  const normalized = normalizeUserCode(typed)
  const record = normalized === undefined ? null : await requireStore(ctx.storage, 'deviceCodes', 'the device flow').findByUserCode(hashToken(normalized))
  if (record === null) {
    return deviceCodePage(action, browser, typed.slice(0, 32), 'That code is not valid or has expired. Check the code on your device.', 400)
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
