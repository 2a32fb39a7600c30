import type { ServerContext } from '../context.js'
import { hashToken } from '../crypto/random.js'
import { readCookie, serializeCookie } from '../http/cookies.js'
import type { GrantkitRequest } from '../http/types.js'
import type { SessionRecord, SessionStore } from '../storage/types.js'

/** Holds the browser session secret; the store keeps only its hash. */
const SESSION_COOKIE = 'grantkit_session'

/** The hash under which the browser's session is stored, or undefined without a (plausible) cookie. */
export function sessionHashOf(ctx: ServerContext, req: GrantkitRequest): string | undefined {
  const secret = readCookie(req.headers.cookie, SESSION_COOKIE, ctx.cookies)
  return secret === undefined || secret.length > 128 ? undefined : hashToken(secret)
}

/**
 * The live session of the browser that sent `req`, or null. A session written
 * before sessions had a sid (grantkit 0.1) is given one here and saved, so
 * every session read has one.
 */
export async function readSession(ctx: ServerContext, req: GrantkitRequest): Promise<SessionRecord | null> {
  const idHash = sessionHashOf(ctx, req)
  if (idHash === undefined) return null
  const record = await ctx.storage.sessions.find(idHash)
  if (record === null || record.sid !== undefined) return record
  const upgraded = { ...record, sid: ctx.randomToken() }
  await ctx.storage.sessions.save(upgraded)
  return upgraded
}

/**
 * Starts a session after a login, always under a new secret (no session
 * fixation), and ends the one the browser had. Its sid is random and unrelated
 * to the secret: it travels in ID tokens and logout tokens.
 *
 * @returns the Set-Cookie value and the stored record
 */
export async function startSession(ctx: ServerContext, req: GrantkitRequest, sub: string, authTime: number): Promise<{ cookie: string; session: SessionRecord }> {
  const old = sessionHashOf(ctx, req)
  if (old !== undefined) await ctx.storage.sessions.delete(old)
  const secret = ctx.randomToken()
  const now = Math.floor(ctx.now())
  const session: SessionRecord = { idHash: hashToken(secret), sub, authTime, expiresAt: now + ctx.sessionTtl, sid: ctx.randomToken() }
  await ctx.storage.sessions.save(session)
  return { cookie: serializeCookie(SESSION_COOKIE, secret, { ...ctx.cookies, maxAge: ctx.sessionTtl }), session }
}

/** The Set-Cookie value that removes the session cookie. */
export function clearSessionCookie(ctx: ServerContext): string {
  return serializeCookie(SESSION_COOKIE, '', { ...ctx.cookies, maxAge: 0 })
}

/**
 * Records that `clientId` received a code or tokens through the session, so
 * that it is told when the session ends (OIDC Back-Channel Logout §2.7).
 * Atomic where the store has `addClient`; otherwise read, add, save.
 */
export async function recordSessionClient(store: SessionStore, session: SessionRecord, clientId: string): Promise<void> {
  if (store.addClient !== undefined) return store.addClient(session.idHash, clientId)
  const current = await store.find(session.idHash)
  if (current === null || current.clients?.includes(clientId) === true) return
  await store.save({ ...current, clients: [...(current.clients ?? []), clientId] })
}
