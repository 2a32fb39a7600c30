import type { ServerContext } from '../context.js'
import { hashToken } from '../crypto/random.js'
import { readCookie, serializeCookie } from '../http/cookies.js'
import type { GrantkitRequest } from '../http/types.js'
import type { SessionRecord } from '../storage/types.js'

/** Holds the browser session secret; the store keeps only its hash. */
const SESSION_COOKIE = 'grantkit_session'

/** The live session of the browser that sent `req`, or null. */
export async function readSession(ctx: ServerContext, req: GrantkitRequest): Promise<SessionRecord | null> {
  const secret = readCookie(req.headers.cookie, SESSION_COOKIE, ctx.cookies)
  if (secret === undefined || secret.length > 128) return null
  return ctx.storage.sessions.find(hashToken(secret))
}

/**
 * Starts a session after a login, always under a new secret (no session
 * fixation), and ends the one the browser had. Returns the Set-Cookie value.
 */
export async function startSession(ctx: ServerContext, req: GrantkitRequest, sub: string, authTime: number): Promise<string> {
  const old = readCookie(req.headers.cookie, SESSION_COOKIE, ctx.cookies)
  if (old !== undefined && old.length <= 128) await ctx.storage.sessions.delete(hashToken(old))
  const secret = ctx.randomToken()
  const now = Math.floor(ctx.now())
  await ctx.storage.sessions.save({ idHash: hashToken(secret), sub, authTime, expiresAt: now + ctx.sessionTtl })
  return serializeCookie(SESSION_COOKIE, secret, { ...ctx.cookies, maxAge: ctx.sessionTtl })
}
