import { createHmac } from 'node:crypto'
import type { ServerContext } from '../../context.js'
import { constantTimeEqual } from '../../crypto/random.js'
import { readCookie } from '../../http/cookies.js'
import type { GrantkitRequest } from '../../http/types.js'

/** The console session's cookie. */
export const SESSION_COOKIE = 'grantkit_console'
/** The sign-in in progress: state and PKCE verifier, signed, until the callback. */
export const SIGNIN_COOKIE = 'grantkit_console_signin'

/**
 * The console's cookies. RFC 6265bis §4.1.3.2: over https the name is
 * `__Host-` prefixed, which binds it to this host and Path=/ (no sibling
 * subdomain can plant one). HttpOnly: no script reads it (there is none
 * anyway). SameSite=Strict: no other site's page makes the browser send it,
 * neither in a POST nor in a link, the first wall against CSRF.
 */
export function consoleCookieName(ctx: Pick<ServerContext, 'cookies'>, name: string): string {
  return ctx.cookies.secure ? `__Host-${name}` : name
}

/** The Set-Cookie value of a console cookie; `maxAge` 0 deletes it, absent makes it last the browser session. */
export function consoleCookie(ctx: Pick<ServerContext, 'cookies'>, name: string, value: string, maxAge?: number): string {
  let out = `${consoleCookieName(ctx, name)}=${value}; Path=/; HttpOnly; SameSite=Strict`
  if (ctx.cookies.secure) out += '; Secure'
  if (maxAge !== undefined) out += `; Max-Age=${Math.max(0, Math.floor(maxAge))}`
  return out
}

/** The value of a console cookie in the request, if any. */
export function readConsoleCookie(ctx: Pick<ServerContext, 'cookies'>, req: GrantkitRequest, name: string): string | undefined {
  return readCookie(req.headers.cookie, consoleCookieName(ctx, name))
}

function mac(secret: string, sessionId: string): string {
  return createHmac('sha256', secret).update(`console-csrf\0${sessionId}`).digest('base64url')
}

/**
 * The CSRF token of a console session: an HMAC of the session's id under the
 * server's cookie secret, so it is per session, unguessable without the
 * HttpOnly cookie, and needs no storage (OWASP's HMAC synchronizer token).
 */
export function csrfToken(ctx: Pick<ServerContext, 'cookieSecrets'>, sessionId: string): string {
  return mac(ctx.cookieSecrets[0]!, sessionId)
}

/** Whether `given` is the CSRF token of the session; every secret is tried (rotation), compared in constant time. */
export function checkCsrfToken(ctx: Pick<ServerContext, 'cookieSecrets'>, sessionId: string, given: string | undefined): boolean {
  if (given === undefined || given.length > 128) return false
  let ok = false
  for (const secret of ctx.cookieSecrets) if (constantTimeEqual(given, mac(secret, sessionId))) ok = true
  return ok
}

/**
 * Whether a state-changing request comes from the console's own pages, by
 * what the browser says of its origin (Fetch Standard: `Origin` on every
 * POST, `Sec-Fetch-Site`). `Origin` must be the issuer's; without it,
 * `Sec-Fetch-Site` must say `same-origin`; a request with neither is refused
 * (every browser that renders the console sends one of them).
 */
export function sameOriginRequest(ctx: Pick<ServerContext, 'issuer'>, req: GrantkitRequest): boolean {
  const origin = req.headers.origin
  const site = req.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin') return false
  if (origin !== undefined) return origin === new URL(ctx.issuer).origin
  return site === 'same-origin'
}
