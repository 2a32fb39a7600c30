import { summarizeError } from '../observability/error-summary.js'

/**
 * What an event says, as the code that emits it writes it. The hub adds
 * `timestamp` and `requestId` (see `GrantkitEvent`). No event carries a
 * secret, a token or a code: only identifiers and outcomes.
 *
 * @example
 * const data: GrantkitEventData = { type: 'token.revoked', clientId: 'svc' }
 */
export type GrantkitEventData =
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
  | { type: 'user.authentication.failed'; username: string; clientId: string | undefined; reason: 'bad_credentials' | 'throttled' | 'busy' }
  /** A successful login replaced an outdated password hash (scrypt, or Argon2id below `passwordHashing`) through `updatePasswordHash`. */
  | { type: 'user.password.upgraded'; sub: string }
  | { type: 'token.revoked'; clientId: string }
  | { type: 'device.code.throttled'; remoteAddress: string | undefined }
  | { type: 'client.authentication.failed'; clientId: string | undefined; method: string | undefined; detail: string }
  /** `error` is what was thrown; `JSON.stringify(event)` writes its name, message and code, never its stack. */
  | { type: 'server.error'; endpoint: string; error: unknown }
  /** A stored client changed through this process (`server.clients`). Never carries the secret. */
  | { type: 'client.changed'; clientId: string; change: 'created' | 'updated' | 'deleted' | 'secret.rotated' | 'keys.replaced' }
  /**
   * A stored client is ignored: the configuration names its id (`shadowed`),
   * or it no longer passes the server's rules (`invalid`, e.g. after the
   * configuration changed). `detail` says which rule. Also (`invalid`) a
   * client ID metadata document that was refused: a bad client_id URL, a
   * failed fetch, a broken rule or the policy's refusal.
   */
  | { type: 'client.ignored'; clientId: string; reason: 'shadowed' | 'invalid'; detail: string }
  /** `error` is the `StorageUnavailableError` (or `StorageNotMigratedError`); serialised as for `server.error`. */
  | { type: 'storage.unavailable'; endpoint: string; error: unknown }
  /**
   * A request refused by load shedding (option `overload`) with 503 before
   * any work: too many in flight (`in_flight`) or the event loop lagging
   * (`event_loop_delay`).
   */
  | { type: 'request.shed'; endpoint: string; reason: 'in_flight' | 'event_loop_delay' }
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
   * A change made through the admin API or the `grantkit clients|grants` CLI:
   * who (`actor`: the access token's sub and client_id, or `cli` and the OS
   * user), what (`action`, `target`) and how it ended (`outcome`, with the
   * refusal's `error` code). Never a secret, token or code.
   */
  | {
      type: 'admin.audit'
      actor: { sub: string; clientId: string } | { cli: string }
      action: string
      target: Record<string, string>
      outcome: 'success' | 'failure'
      error?: string
    }
/** What every event carries besides its own fields. */
export interface EventEnvelope {
  /** When it happened: milliseconds since the epoch, from the server's clock (`deps.now`). */
  timestamp: number
  /**
   * The id of the request it happened in (the `x-request-id` the response
   * carries), or undefined for an event outside a request.
   */
  requestId: string | undefined
}

type Enveloped<E> = E extends unknown ? E & EventEnvelope : never

/**
 * What grantkit reports for logging and metrics: the event's own fields, its
 * `timestamp` and the `requestId` of the request it happened in.
 *
 * @example
 * server.on('*', (e) => console.log(JSON.stringify(e)))
 * // {"type":"token.error","grantType":"client_credentials","clientId":"svc","error":"invalid_client",…,"timestamp":1767225600000,"requestId":"7f0c…"}
 */
export type GrantkitEvent = Enveloped<GrantkitEventData>

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
 * isolated so it cannot fail a request. With no listener for an event, emitting
 * it costs a map lookup: the envelope is built only for someone to read.
 */
export class EventHub {
  private readonly listeners = new Map<string, Array<(e: GrantkitEvent) => void>>()
  private readonly any: Array<(e: GrantkitEvent) => void> = []

  /** @param now the server's clock, seconds since the epoch (`deps.now`) */
  constructor(private readonly now: () => number = () => Date.now() / 1000) {}

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

  /**
   * Reports `data` to its listeners, stamped with the time and `requestId`
   * (the request it happened in, `GrantkitRequest.requestId`).
   */
  emit(data: GrantkitEventData, requestId?: string): void {
    const list = this.listeners.get(data.type)
    if ((list === undefined || list.length === 0) && this.any.length === 0) return
    const event = { ...data, timestamp: Math.floor(this.now() * 1000), requestId } as GrantkitEvent
    if ('error' in event) Object.defineProperty(event, 'toJSON', { value: withErrorSummary, enumerable: false })
    for (const fn of list ?? []) safeCall(fn, event)
    for (const fn of this.any) safeCall(fn, event)
  }
}

/**
 * `toJSON` of an event holding a thrown value: listeners get the value itself
 * (for `instanceof`, its cause), a log line its name, message and code.
 */
function withErrorSummary(this: GrantkitEvent & { error: unknown }): unknown {
  return { ...this, error: summarizeError(this.error) }
}

function safeCall(fn: (e: GrantkitEvent) => void, e: GrantkitEvent): void {
  try {
    fn(e)
  } catch {
    // A listener's failure is its own; the request goes on.
  }
}
