import type { Redis, RedisOptions } from 'ioredis'
import { StorageUnavailableError } from '../../errors.js'

/**
 * ioredis options that make a command fail within about a second while Redis is
 * unreachable, instead of queueing until it comes back. `createRedisStorage`
 * uses them for the client it creates from a URL; spread them into your own
 * client's options to get the same behaviour.
 *
 * - `enableOfflineQueue: false`: a command sent while disconnected is rejected
 *   at once rather than held until reconnection.
 * - `maxRetriesPerRequest: 0` and `autoResendUnfulfilledCommands: false`: a
 *   command in flight when the connection drops is rejected, never replayed
 *   later on a new connection (a replayed `consume` could act after the caller
 *   was already told the storage was unavailable).
 * - `commandTimeout: 1000` ms: a server that accepts the connection but does
 *   not answer (paused, overloaded, half-open socket) fails the command too.
 *   Such a command may still run on the server later; grantkit then fails
 *   closed (a code consumed that way is reported as reused on the next try).
 * - `connectTimeout: 1000` ms and a reconnect delay of 100 ms growing to at
 *   most 1 s: the client keeps reconnecting forever, so storage recovers on
 *   its own, within about a second of Redis coming back.
 *
 * @example
 * const client = new Redis(process.env.REDIS_URL!, { ...redisFailFastOptions, password })
 * const storage = createRedisStorage({ client })
 */
export const redisFailFastOptions: Readonly<RedisOptions> = Object.freeze({
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  commandTimeout: 1000,
  connectTimeout: 1000,
  retryStrategy: (times: number) => Math.min(100 * times, 1000),
  // Off: the storage batches the hot calls itself (../batch.ts: concurrent access token saves
  // and reads as one script). On top of that, auto-pipelining builds a Pipeline per flush and
  // cost a fifth of the rate in npm run bench (Redis/memory 0.69-0.70 with it, 0.85-0.87 without).
  enableAutoPipelining: false,
})

/** How long a call waits for a connection that is being opened (at start, or a reconnect in progress), milliseconds. */
const CONNECT_WAIT_MS = 1000

/** The default deadline of one storage call, in seconds: `redisFailFastOptions.commandTimeout`. */
export const DEFAULT_TIMEOUT = 1

/**
 * Milliseconds past the storage's `timeout` after which a call gives up
 * whatever the client's options. A client made from a URL gives up first (its
 * commandTimeout is the timeout); this bounds a client passed in that would
 * queue a command until it reconnects. Such a command may still run once
 * Redis is back.
 */
const ANSWER_GRACE_MS = 500

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
])

/** Client-side messages of ioredis when it cannot get a command to the server or an answer back. */
const CLIENT_MESSAGES = [
  /Stream isn't writeable/,
  /Connection is closed/,
  /Command timed out/,
  /max retries per request/i,
  /Command aborted due to connection close/,
  /Socket timeout/i,
]

/** Server replies that mean "not now" rather than "wrong": loading, failing over, a script hogging the server, out of memory. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|NOREPLICAS|OOM)\b/

/** Whether an error from ioredis means Redis could not be reached or could not serve right now. */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true
  if (err.name === 'MaxRetriesPerRequestError' || err.name === 'AbortError') return true
  if (CLIENT_MESSAGES.some((re) => re.test(err.message))) return true
  return TRANSIENT_REPLY.test(err.message)
}

/** A failure as callers see it: StorageUnavailableError when Redis could not answer, else as it came. */
function unavailable(operation: string, err: unknown): unknown {
  if (err instanceof StorageUnavailableError || !isUnavailable(err)) return err
  return new StorageUnavailableError(`redis: ${operation}: ${(err as Error).message}`, { cause: err })
}

/**
 * Runs every command of the storage: waits briefly for a connection that is
 * being opened, refuses at once while there is none, and turns connection
 * failures into `StorageUnavailableError` (endpoints answer 503).
 */
export class Connection {
  private opening: Promise<void> | undefined
  private checked = false

  /**
   * @param check runs before the first command that reaches Redis (the key
   *   layout check); until it succeeds, every command runs it again.
   */
  private readonly deadlineMs: number

  /**
   * @param timeoutMs the storage's `timeout`: the client's commandTimeout, and
   *   with ANSWER_GRACE_MS the longest any call waits
   */
  /**
   * @param clientTimesOut the client is one the storage made (`redisFailFastOptions`
   *   with commandTimeout = timeoutMs, no offline queue, one server): it fails every
   *   command past the deadline itself, so no timer of ours races it. That is a
   *   timer and two promises fewer on every storage call.
   */
  constructor(
    readonly client: Redis,
    private readonly check?: () => Promise<void>,
    timeoutMs: number = DEFAULT_TIMEOUT * 1000,
    private readonly clientTimesOut = false,
  ) {
    this.deadlineMs = timeoutMs + ANSWER_GRACE_MS
  }

  /**
   * @param before for a command that carries calls which already waited (a
   *   batch, ../batch.ts): the oldest one's deadline, ms since the epoch. The
   *   command then gets only the time left, with one timer for the batch.
   */
  async run<T>(operation: string, command: () => Promise<T>, before?: number): Promise<T> {
    if (this.client.status !== 'ready') await this.untilOpen()
    // Checked here rather than left to ioredis, so that a client configured to
    // queue commands while offline still fails fast during an outage.
    if (this.client.status !== 'ready') {
      throw new StorageUnavailableError(`redis: ${operation}: not connected (${this.client.status})`)
    }
    const checkFirst = this.checked || this.check === undefined ? command : async (): Promise<T> => {
      await this.check!()
      this.checked = true
      return command()
    }
    const waitMs = before === undefined ? this.deadlineMs : Math.min(this.deadlineMs, before - Date.now())
    if (waitMs <= 0) throw new StorageUnavailableError(`redis: ${operation}: no answer within the deadline (waiting for a batch)`)
    if (this.clientTimesOut && before === undefined) {
      try {
        return await checkFirst()
      } catch (err) {
        throw unavailable(operation, err)
      }
    }
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StorageUnavailableError(`redis: ${operation}: no answer within ${this.deadlineMs} ms`)), waitMs)
    })
    try {
      return await Promise.race([checkFirst(), deadline])
    } catch (err) {
      throw unavailable(operation, err)
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Waits, at most CONNECT_WAIT_MS, while a connection attempt is under way, so
   * that calls made right after start do not fail. During an outage the client
   * sits in 'reconnecting' between attempts, and calls then fail at once.
   */
  private untilOpen(): Promise<void> {
    const { client } = this
    if (client.status === 'wait') client.connect().catch(() => {})
    if (client.status !== 'connecting' && client.status !== 'connect') return Promise.resolve()
    if (this.opening !== undefined) return this.opening
    this.opening = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        client.off('ready', done)
        client.off('close', done)
        client.off('end', done)
        this.opening = undefined
        resolve()
      }
      const timer = setTimeout(done, CONNECT_WAIT_MS)
      client.once('ready', done)
      client.once('close', done)
      client.once('end', done)
    })
    return this.opening
  }
}
