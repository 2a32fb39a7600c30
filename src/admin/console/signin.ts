import { createHash } from 'node:crypto'
import type { ServerContext } from '../../context.js'
import { constantTimeEqual } from '../../crypto/random.js'
import { tokenEndpoint } from '../../endpoints/token.js'
import { signCookieValue, verifyCookieValue } from '../../http/cookies.js'
import type { GrantkitRequest, GrantkitResponse } from '../../http/types.js'
import { escapeHtml } from '../../pages/escape.js'
import { validateAccessToken } from '../../tokens/validate.js'
import { audit } from '../audit.js'
import { CALLBACK_PATH, CONSOLE_CLIENT_ID, CONSOLE_SCOPE } from './client.js'
import { consoleView, messagePage } from './frame.js'
import { consoleCookie, readConsoleCookie, SESSION_COOKIE, SIGNIN_COOKIE } from './guard.js'
import { consoleSessions } from './session.js'

/** Purpose of the signed sign-in cookie's MAC, so no other signed cookie passes for it. */
const SIGNIN_PURPOSE = 'console-signin'

function callbackUrl(ctx: ServerContext): string {
  return ctx.endpoints.adminConsole! + CALLBACK_PATH
}

/**
 * Starts an administrator's sign-in: the console, as the public client
 * `grantkit-console`, sends the browser to this server's own authorization
 * endpoint (RFC 6749 §4.1.1) with PKCE S256 (RFC 7636 §4.2, RFC 9700 §2.1.1)
 * and a state bound to this browser by a signed, HttpOnly, SameSite=Strict
 * cookie (RFC 6749 §10.12).
 */
export function startSignIn(ctx: ServerContext): GrantkitResponse {
  const state = ctx.randomToken()
  const verifier = ctx.randomToken()
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const url = new URL(ctx.endpoints.authorization)
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: CONSOLE_CLIENT_ID,
    redirect_uri: callbackUrl(ctx),
    scope: CONSOLE_SCOPE,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString()
  const cookie = signCookieValue(ctx.cookieSecrets, SIGNIN_PURPOSE, `${state}~${verifier}`)
  return {
    status: 303,
    headers: { location: url.toString(), 'cache-control': 'no-store', 'set-cookie': consoleCookie(ctx, SIGNIN_COOKIE, cookie, ctx.interactionTtl) },
  }
}

/** Why a callback did not sign anyone in; for the audit event, never shown in detail. */
class SignInFailure extends Error {}

/**
 * Redeems the code at the token endpoint, in process but through the same
 * handler every client's request goes through (client check, PKCE, one-time
 * code), and returns who signed in. The tokens never leave the process.
 */
async function redeem(ctx: ServerContext, req: GrantkitRequest, code: string, verifier: string): Promise<string> {
  const res = await tokenEndpoint(ctx, {
    method: 'POST',
    url: new URL(ctx.endpoints.token),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: callbackUrl(ctx), client_id: CONSOLE_CLIENT_ID, code_verifier: verifier }).toString(),
    ...(req.remoteAddress !== undefined && { remoteAddress: req.remoteAddress }),
    ...(req.requestId !== undefined && { requestId: req.requestId }),
  })
  if (res.status !== 200 || res.body === undefined) throw new SignInFailure('code redemption refused')
  const body = JSON.parse(res.body) as { access_token?: unknown }
  if (typeof body.access_token !== 'string') throw new SignInFailure('no access token')
  // The token's own validation says whose it is: signature or stored hash, expiry, revocation.
  const active = await validateAccessToken(ctx, body.access_token)
  if (active === null || active.clientId !== CONSOLE_CLIENT_ID) throw new SignInFailure('access token not valid')
  return active.sub
}

/**
 * The console's redirect URI. Checks the state against the browser's
 * sign-in cookie (constant time) and `iss` (RFC 9207 §2.4), redeems the
 * code, then asks the user source whether the person is an administrator:
 * only then is a console session started (a fresh id: no fixation).
 */
export async function finishSignIn(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const view = consoleView(ctx, req)
  const base = ctx.routes.adminConsole!
  const clearSignIn = consoleCookie(ctx, SIGNIN_COOKIE, '', 0)
  const failed = (status = 400) => messagePage(view, base, 'console.signinFailedTitle', 'console.signinFailed', status, {}, { 'set-cookie': clearSignIn })
  const pending = verifyCookieValue(ctx.cookieSecrets, SIGNIN_PURPOSE, readConsoleCookie(ctx, req, SIGNIN_COOKIE))
  const q = req.url.searchParams
  const [state, verifier] = pending?.split('~') ?? []
  const givenState = q.get('state')
  // RFC 6749 §10.12: the state must be the one this browser was sent off with.
  if (state === undefined || verifier === undefined || givenState === null || !constantTimeEqual(givenState, state)) return failed()
  // RFC 9207 §2.4: a response naming another issuer is refused.
  const iss = q.get('iss')
  if (iss !== null && iss !== ctx.issuer) return failed()
  const code = q.get('code')
  // The person declined, or the authorization endpoint refused (RFC 6749 §4.1.2.1): nothing to redeem.
  if (code === null || q.has('error')) return failed()
  let sub: string
  try {
    sub = await redeem(ctx, req, code, verifier)
  } catch (err) {
    if (err instanceof SignInFailure) return failed()
    throw err
  }
  const actor = { sub, clientId: CONSOLE_CLIENT_ID }
  const isAdmin = (await ctx.users?.isAdministrator?.(sub)) === true
  if (!isAdmin) {
    audit(ctx, actor, { action: 'console.signin', target: { sub }, outcome: 'failure', error: 'not_administrator' }, req.requestId)
    return messagePage(view, base, 'console.forbiddenTitle', 'console.forbidden', 403, { sub: `<strong>${escapeHtml(sub)}</strong>` }, { 'set-cookie': clearSignIn })
  }
  const id = consoleSessions(ctx).create(sub)
  audit(ctx, actor, { action: 'console.signin', target: { sub }, outcome: 'success' }, req.requestId)
  return {
    status: 303,
    headers: { location: `${base}/clients`, 'cache-control': 'no-store', 'set-cookie': [clearSignIn, consoleCookie(ctx, SESSION_COOKIE, id)] },
  }
}
