import type { ServerContext } from '../../context.js'
import { hashToken } from '../../crypto/random.js'

/** A signed-in administrator's console session, as kept: by the hash of its id, never the id. Times in seconds since the epoch. */
export interface ConsoleSession {
  idHash: string
  sub: string
  createdAt: number
  /** The last request: the idle timeout counts from it. */
  lastSeenAt: number
}

/** Most console sessions one process keeps; past it, the least recently used goes first. */
const MAX_SESSIONS = 10_000

/**
 * Console sessions of one server, in this process. SECURITY: the cookie
 * holds 256 random bits; only their SHA-256 is kept, so a heap dump or a
 * log of this map holds nothing a browser could present. A session ends
 * after `idleTimeout` without a request, `absoluteTimeout` after sign-in,
 * or at sign-out.
 */
export class ConsoleSessions {
  /** Insertion order is recency order: a touched session is moved to the end. */
  private readonly byHash = new Map<string, ConsoleSession>()

  constructor(private readonly ctx: Pick<ServerContext, 'now' | 'randomToken' | 'adminConsole'>) {}

  /** Starts a session for `sub`; returns the id for the cookie (the only place it exists). */
  create(sub: string): string {
    const id = this.ctx.randomToken()
    const now = this.ctx.now()
    this.prune(now)
    this.byHash.set(hashToken(id), { idHash: hashToken(id), sub, createdAt: now, lastSeenAt: now })
    while (this.byHash.size > MAX_SESSIONS) this.byHash.delete(this.byHash.keys().next().value!)
    return id
  }

  /**
   * The live session of a cookie's id, its idle clock restarted; undefined
   * (and the session forgotten) when it is unknown or has expired.
   */
  touch(id: string | undefined): ConsoleSession | undefined {
    if (id === undefined || id === '' || id.length > 128) return undefined
    const idHash = hashToken(id)
    const session = this.byHash.get(idHash)
    if (session === undefined) return undefined
    const now = this.ctx.now()
    if (!this.live(session, now)) {
      this.byHash.delete(idHash)
      return undefined
    }
    session.lastSeenAt = now
    this.byHash.delete(idHash)
    this.byHash.set(idHash, session)
    return session
  }

  /** Ends the session of a cookie's id (sign-out). */
  end(id: string | undefined): void {
    if (id !== undefined) this.byHash.delete(hashToken(id))
  }

  /** Ends every session of `sub` (an administrator who no longer is one). */
  endAllOf(sub: string): void {
    for (const [hash, s] of this.byHash) if (s.sub === sub) this.byHash.delete(hash)
  }

  private live(s: ConsoleSession, now: number): boolean {
    const { idleTimeout, absoluteTimeout } = this.ctx.adminConsole
    return now - s.lastSeenAt < idleTimeout && now - s.createdAt < absoluteTimeout
  }

  private prune(now: number): void {
    for (const [hash, s] of this.byHash) if (!this.live(s, now)) this.byHash.delete(hash)
  }
}

const perServer = new WeakMap<ServerContext, ConsoleSessions>()

/** The console sessions of the server of `ctx`, made at its first use. */
export function consoleSessions(ctx: ServerContext): ConsoleSessions {
  let sessions = perServer.get(ctx)
  if (sessions === undefined) perServer.set(ctx, (sessions = new ConsoleSessions(ctx)))
  return sessions
}
