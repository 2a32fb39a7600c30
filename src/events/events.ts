/**
 * What grantkit reports for logging and metrics. No event carries a secret, a
 * token or a code: only identifiers and outcomes.
 */
export type GrantkitEvent =
  | {
      type: 'token.issued'
      grantType: string
      clientId: string
      sub: string
      scope: string
      /** jti of the access token (for JWTs) or the record id (opaque): never the token. */
      tokenId: string
      format: 'jwt' | 'opaque'
      refreshToken: boolean
    }
  | { type: 'token.error'; grantType: string | undefined; clientId: string | undefined; error: string; detail: string | undefined }
  | { type: 'authorization.error'; clientId: string | undefined; error: string; detail: string | undefined }
  | { type: 'user.authentication.failed'; username: string; clientId: string | undefined; reason: 'bad_credentials' | 'throttled' }
  | { type: 'token.revoked'; clientId: string }
  | { type: 'device.code.throttled'; remoteAddress: string | undefined }
  | { type: 'client.authentication.failed'; clientId: string | undefined; method: string | undefined; detail: string }
  | { type: 'server.error'; endpoint: string; error: unknown }
  | { type: 'storage.unavailable'; endpoint: string; error: unknown }
  /** A browser session ended: signed out at the end-session endpoint (`logout`) or through `server.sessions.end` (`admin`). */
  | { type: 'session.ended'; sid: string | undefined; sub: string; reason: 'logout' | 'admin'; clients: string[] }
  /** A client acknowledged a logout token (OIDC Back-Channel Logout §2.8). */
  | { type: 'logout.delivered'; clientId: string; sid: string | undefined; attempts: number }
  /**
   * A logout token could not be delivered after the last attempt, or was
   * refused for good (`status 400`, `private_address`). `reason` names the
   * failure, never the token.
   */
  | { type: 'logout.delivery.failed'; clientId: string; sid: string | undefined; attempts: number; reason: string }

/**
 * The name of an event, e.g. `token.issued`; what `server.on(type, …)` takes.
 *
 * @example
 * const type: GrantkitEventType = 'client.authentication.failed'
 */
export type GrantkitEventType = GrantkitEvent['type']

/**
 * The event of one type, as a listener for that type receives it.
 *
 * @example
 * const log = (e: GrantkitEventOf<'token.issued'>) => console.log(e.clientId, e.scope)
 * server.on('token.issued', log)
 */
export type GrantkitEventOf<T extends GrantkitEventType> = Extract<GrantkitEvent, { type: T }>

/**
 * A minimal typed emitter. Listeners run synchronously; one that throws is
 * isolated so it cannot fail a request.
 */
export class EventHub {
  private readonly listeners = new Map<string, Array<(e: GrantkitEvent) => void>>()
  private readonly any: Array<(e: GrantkitEvent) => void> = []

  /** Listens to one event type, or to all with `'*'`. Returns a function that removes the listener. */
  on<T extends GrantkitEventType>(type: T | '*', listener: (event: GrantkitEventOf<T>) => void): () => void {
    const fn = listener as (e: GrantkitEvent) => void
    const list = type === '*' ? this.any : this.listeners.get(type) ?? []
    if (type !== '*' && !this.listeners.has(type)) this.listeners.set(type, list)
    list.push(fn)
    return () => {
      const i = list.indexOf(fn)
      if (i !== -1) list.splice(i, 1)
    }
  }

  emit(event: GrantkitEvent): void {
    const list = this.listeners.get(event.type)
    if (list === undefined && this.any.length === 0) return
    for (const fn of list ?? []) safeCall(fn, event)
    for (const fn of this.any) safeCall(fn, event)
  }
}

function safeCall(fn: (e: GrantkitEvent) => void, e: GrantkitEvent): void {
  try {
    fn(e)
  } catch {
    // A listener's failure is its own; the request goes on.
  }
}
