import type { ServerContext } from '../context.js'
import { sessionsApi, type SessionInfo } from '../logout/sessions.js'
import type { ConsentRecord } from '../storage/types.js'
import { clientCutoffKey, consentCutoffKey, subjectCutoffKey } from '../tokens/cutoff.js'
import { AdminError } from './http.js'

/**
 * The changes the admin API and the `grantkit clients|grants` CLI share, so
 * that both revoke the same way. Each takes the server's context.
 */

/** Until when a cutoff must be kept: past the longest life of anything it kills (a refresh chain, then its last access token). */
function cutoffUntil(ctx: ServerContext): number {
  const t = ctx.ttl
  return Math.ceil(ctx.now()) + Math.max(t.refreshTokenAbsolute, t.authorizationCode, t.deviceCode) + t.accessToken + ctx.clockSkew
}

function cutoffs(ctx: ServerContext) {
  const store = ctx.storage.tokenCutoffs
  if (store === undefined) throw new AdminError(501, 'unsupported', 'This storage cannot revoke tokens in bulk (it has no tokenCutoffs store).')
  return store
}

/**
 * Revokes every access token (JWT and opaque), refresh token and code issued
 * to a client so far. The client keeps working: tokens it gets afterwards are live.
 */
export async function revokeClientTokens(ctx: ServerContext, clientId: string): Promise<void> {
  await cutoffs(ctx).set(clientCutoffKey(clientId), Math.floor(ctx.now()), cutoffUntil(ctx))
}

/** A person's sessions and remembered consents. */
export interface UserGrants {
  sessions: SessionInfo[]
  consents: ConsentRecord[]
}

export async function listConsents(ctx: ServerContext, sub: string): Promise<ConsentRecord[]> {
  const store = ctx.storage.consents
  if (typeof store.listBySub !== 'function') throw new AdminError(501, 'unsupported', 'This storage cannot list consents (ConsentStore.listBySub is missing).')
  const list = await store.listBySub(sub)
  return list.sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0))
}

/** One of a person's grants: a remembered consent, with the client it was given to. Times in seconds since the epoch. */
export interface PersonGrant {
  clientId: string
  /** The client's `client_name`; absent when it has none, or the client is gone. */
  clientName?: string
  /** False when no configured or stored client has the id any more. */
  clientExists: boolean
  /** Space-separated scope granted. */
  scope: string
  expiresAt: number
}

/**
 * A person's grants: each remembered consent joined with its client. The
 * consents are the grants a person gave: every refresh token and code a
 * client holds for the person descends from one (withdrawing it revokes
 * them by cutoff), and no backend indexes the tokens themselves by person.
 */
export async function listPersonGrants(ctx: ServerContext, sub: string): Promise<PersonGrant[]> {
  const consents = await listConsents(ctx, sub)
  return Promise.all(
    consents.map(async (c) => {
      const client = await ctx.clients.find(c.clientId)
      const name = client?.metadata.client_name
      return { clientId: c.clientId, ...(typeof name === 'string' && { clientName: name }), clientExists: client !== undefined, scope: c.scope, expiresAt: c.expiresAt }
    }),
  )
}

export async function listUserGrants(ctx: ServerContext, sub: string): Promise<UserGrants> {
  return { sessions: await sessionsApi(ctx).list(sub), consents: await listConsents(ctx, sub) }
}

/**
 * Revokes a person's consent to a client and what it gave: the refresh
 * tokens, access tokens and codes issued to that client for that person, by
 * cutoff. The next authorization asks for consent again. False when there was
 * no consent (the tokens are cut off all the same).
 */
export async function revokeConsent(ctx: ServerContext, sub: string, clientId: string): Promise<boolean> {
  const store = cutoffs(ctx)
  const had = (await ctx.storage.consents.find(sub, clientId)) !== null
  await ctx.storage.consents.revoke(sub, clientId)
  await store.set(consentCutoffKey(sub, clientId), Math.floor(ctx.now()), cutoffUntil(ctx))
  return had
}

/** Ends one session of `sub`. False when `sub` has no live session with this id. */
export async function endUserSession(ctx: ServerContext, sub: string, sid: string): Promise<boolean> {
  const sessions = sessionsApi(ctx)
  // The id must be this person's: the path names both.
  if (!(await sessions.list(sub)).some((s) => s.id === sid)) return false
  return sessions.end(sid)
}

/** What `revokeUserGrants` did. */
export interface RevokedGrants {
  sessions: number
  consents: string[]
}

/**
 * Everything a person granted: with `clientId`, the consent to that client
 * and its tokens; without, every session, every consent and every token of
 * the person at any client.
 */
export async function revokeUserGrants(ctx: ServerContext, sub: string, clientId?: string): Promise<RevokedGrants> {
  if (clientId !== undefined) {
    await revokeConsent(ctx, sub, clientId)
    return { sessions: 0, consents: [clientId] }
  }
  const store = cutoffs(ctx)
  const sessions = sessionsApi(ctx)
  let ended = 0
  for (const s of await sessions.list(sub)) if (await sessions.end(s.id)) ended++
  const consents = await listConsents(ctx, sub)
  for (const c of consents) await ctx.storage.consents.revoke(sub, c.clientId)
  await store.set(subjectCutoffKey(sub), Math.floor(ctx.now()), cutoffUntil(ctx))
  return { sessions: ended, consents: consents.map((c) => c.clientId) }
}
