import type { GrantkitEventData } from '../events/events.js'
import { OutboundAddressError, postForm, type Resolver } from '../http/outbound.js'

/** How logout tokens are delivered (option `backchannelLogout`, in milliseconds here). */
export interface DeliverySettings {
  timeoutMs: number
  maxAttempts: number
  /** Wait before the second attempt; doubled before each later one. */
  retryDelayMs: number
  /** SECURITY: option `allowPrivateNetworkFetches`. */
  allowPrivate: boolean
  emit(event: GrantkitEventData): void
  /** Default: the system resolver. */
  resolver?: Resolver
  /** Default: an unref'd timer, so pending retries never keep a process alive. */
  sleep?: (ms: number) => Promise<void>
}

/** One logout token for one client. */
export interface Delivery {
  clientId: string
  uri: string
  /** The logout token: posted, never reported. */
  token: string
  sid: string | undefined
}

const unrefSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref()
  })

/** Whether an answer is worth trying again: the RP's server is failing or busy, not refusing the token (§2.8 answers 400 for that). */
const transient = (status: number): boolean => status >= 500 || status === 408 || status === 429

/**
 * Posts logout tokens to clients' `backchannel_logout_uri` (OIDC Back-Channel
 * Logout §2.5) in the background: the person's redirect never waits for an
 * RP. Each delivery is tried up to `maxAttempts` times with exponential
 * back-off; its outcome is an event, `logout.delivered` or, after the last
 * attempt, `logout.delivery.failed`. Neither carries the token.
 *
 * @example
 * const queue = new LogoutDeliveries({ timeoutMs: 5000, maxAttempts: 4, retryDelayMs: 2000, allowPrivate: false, emit })
 * queue.start({ clientId: 'web', uri: 'https://rp.example/bcl', token, sid })
 */
export class LogoutDeliveries {
  private readonly pending = new Set<Promise<void>>()
  constructor(private readonly settings: DeliverySettings) {}

  /** Starts a delivery and returns at once. */
  start(delivery: Delivery): void {
    const run = this.deliver(delivery).finally(() => this.pending.delete(run))
    this.pending.add(run)
  }

  /** Resolves once every delivery started so far has succeeded or failed for good (for tests and graceful shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending])
  }

  private async deliver(d: Delivery): Promise<void> {
    const { maxAttempts, retryDelayMs } = this.settings
    const sleep = this.settings.sleep ?? unrefSleep
    let reason = ''
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) await sleep(retryDelayMs * 2 ** (attempt - 2))
      const outcome = await this.attempt(d)
      if (outcome.ok) {
        this.settings.emit({ type: 'logout.delivered', clientId: d.clientId, sid: d.sid, attempts: attempt })
        return
      }
      reason = outcome.reason
      if (!outcome.retry) {
        this.settings.emit({ type: 'logout.delivery.failed', clientId: d.clientId, sid: d.sid, attempts: attempt, reason })
        return
      }
    }
    this.settings.emit({ type: 'logout.delivery.failed', clientId: d.clientId, sid: d.sid, attempts: maxAttempts, reason })
  }

  private async attempt(d: Delivery): Promise<{ ok: true } | { ok: false; retry: boolean; reason: string }> {
    try {
      const { status } = await postForm(d.uri, { logout_token: d.token }, {
        timeoutMs: this.settings.timeoutMs,
        allowPrivate: this.settings.allowPrivate,
        ...(this.settings.resolver !== undefined && { resolver: this.settings.resolver }),
      })
      // §2.8: 200 is success; any 2xx is taken as one. A redirect is not followed.
      if (status >= 200 && status < 300) return { ok: true }
      return { ok: false, retry: transient(status), reason: `status ${status}` }
    } catch (error) {
      if (error instanceof OutboundAddressError) return { ok: false, retry: error.reason === 'unresolvable', reason: error.reason }
      // The message of a network error names the failure (ECONNREFUSED, timed out), never the token.
      return { ok: false, retry: true, reason: `network: ${(error as Error).message}` }
    }
  }
}
