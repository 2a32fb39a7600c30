import type { ServerContext } from '../context.js'
import type { SessionStore } from '../storage/types.js'
import { endSession } from './end-session.js'

/** A person's browser session as `server.sessions` shows it. Times in seconds since the epoch. */
export interface SessionInfo {
  /** The session's id: the `sid` of its ID tokens and logout tokens. */
  id: string
  sub: string
  authTime: number
  expiresAt: number
  /** Clients that received a code or tokens through it. */
  clients: string[]
}

/** A person's sessions, for an account page or an admin API. */
export interface SessionsApi {
  /** The live sessions of `sub`, newest sign-in first. */
  list(sub: string): Promise<SessionInfo[]>
  /**
   * Ends the session with this id (its single sign-on ends; its clients are
   * sent logout tokens in the background). False when there is no such live session.
   */
  end(id: string): Promise<boolean>
}

function method<K extends 'listBySub' | 'findBySid'>(store: SessionStore, name: K): NonNullable<SessionStore[K]> {
  const fn = store[name]
  if (typeof fn !== 'function') throw new TypeError(`storage.sessions.${name}: missing, and server.sessions needs it; add it to the session store`)
  return fn.bind(store) as NonNullable<SessionStore[K]>
}

/**
 * `server.sessions`: list and end a person's sessions.
 *
 * @example
 * for (const s of await server.sessions.list('alice')) await server.sessions.end(s.id)
 */
export function sessionsApi(ctx: ServerContext): SessionsApi {
  return {
    async list(sub) {
      if (typeof sub !== 'string' || sub === '') throw new TypeError('sessions.list: sub must be a non-empty string')
      const records = await method(ctx.storage.sessions, 'listBySub')(sub)
      for (const r of records) {
        // A session from before sids (0.1) gets one now, so that it can be ended by it.
        if (r.sid === undefined) {
          r.sid = ctx.randomToken()
          await ctx.storage.sessions.save(r)
        }
      }
      return records
        .map((r) => ({ id: r.sid!, sub: r.sub, authTime: r.authTime, expiresAt: r.expiresAt, clients: [...(r.clients ?? [])] }))
        .sort((a, b) => b.authTime - a.authTime || (a.id < b.id ? -1 : 1))
    },
    async end(id) {
      if (typeof id !== 'string' || id === '' || id.length > 256) return false
      const session = await method(ctx.storage.sessions, 'findBySid')(id)
      if (session === null) return false
      await endSession(ctx, session, 'admin')
      return true
    },
  }
}
