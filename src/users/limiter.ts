import { availableParallelism } from 'node:os'

/** Bounds of a `PasswordCheckLimiter`. */
export interface PasswordCheckBounds {
  /** Password checks (hashes) running at once. */
  maxConcurrent: number
  /** Checks waiting for a free slot; one more is refused at once. */
  maxQueued: number
  /** Seconds a check may wait in the queue before it is refused. */
  queueTimeout: number
}

/** Releases a slot taken by `PasswordCheckLimiter.acquire`; a second call does nothing. */
export type ReleaseSlot = () => void

interface Waiter {
  grant: (release: ReleaseSlot | undefined) => void
  timer: ReturnType<typeof setTimeout>
}

/**
 * The default number of concurrent password checks: one less than libuv's
 * thread pool (`UV_THREADPOOL_SIZE`, 4 unless set), so that file, DNS and
 * WebCrypto work (which signs tokens) always finds a thread, and no more than
 * the CPUs, since more parallel hashes than cores only add latency.
 *
 * @example
 * defaultMaxConcurrentChecks({ UV_THREADPOOL_SIZE: '8' }, 16) // 7
 */
export function defaultMaxConcurrentChecks(env: Readonly<Record<string, string | undefined>> = process.env, cpus: number = availableParallelism()): number {
  const configured = Number(env.UV_THREADPOOL_SIZE)
  // libuv reads the variable the same way: a whole number from 1 to 1024, else its default of 4.
  const pool = Number.isInteger(configured) && configured >= 1 ? Math.min(configured, 1024) : 4
  return Math.max(1, Math.min(pool - 1, cpus))
}

/**
 * A semaphore with a bounded queue and a queue deadline, around password
 * checks. Each check spends tens of milliseconds of a libuv thread: without a
 * bound, a flood of logins would occupy every thread and starve the token
 * endpoint (and everything else on the pool). Beyond the bound a check is
 * refused at once, so the caller answers 503 quickly instead of queueing
 * without end.
 *
 * @example
 * const limiter = new PasswordCheckLimiter({ maxConcurrent: 3, maxQueued: 24, queueTimeout: 1 })
 * const release = await limiter.acquire()
 * if (release === undefined) return busy()
 * try { await check() } finally { release() }
 */
export class PasswordCheckLimiter {
  private active = 0
  private readonly queue: Waiter[] = []
  private readonly timeoutMs: number

  constructor(readonly bounds: Readonly<PasswordCheckBounds>) {
    this.timeoutMs = Math.max(1, Math.round(bounds.queueTimeout * 1000))
  }

  /** Checks running now. */
  get running(): number {
    return this.active
  }

  /** Checks waiting now. */
  get queued(): number {
    return this.queue.length
  }

  /**
   * A slot, or undefined when the queue is full or the wait passed
   * `queueTimeout`. The caller must call the release function exactly once
   * (in a `finally`).
   */
  acquire(): Promise<ReleaseSlot | undefined> {
    if (this.active < this.bounds.maxConcurrent) {
      this.active++
      return Promise.resolve(this.releaser())
    }
    if (this.queue.length >= this.bounds.maxQueued) return Promise.resolve(undefined)
    return new Promise((resolve) => {
      const waiter: Waiter = {
        grant: resolve,
        timer: setTimeout(() => {
          // Past its deadline the check is refused; the slot it waited for goes to the next in line.
          // Out of the queue now (at most maxQueued long), so a stuck check cannot let dead waiters pile up.
          this.queue.splice(this.queue.indexOf(waiter), 1)
          resolve(undefined)
        }, this.timeoutMs),
      }
      // A waiting login must not keep a process alive that is shutting down.
      waiter.timer.unref?.()
      this.queue.push(waiter)
    })
  }

  private releaser(): ReleaseSlot {
    let released = false
    return () => {
      if (released) return
      released = true
      this.handOver()
    }
  }

  /** A freed slot goes to the oldest waiter (timed-out ones have left the queue), or back to the pool. */
  private handOver(): void {
    const next = this.queue.shift()
    if (next === undefined) {
      this.active--
      return
    }
    clearTimeout(next.timer)
    next.grant(this.releaser())
  }
}
