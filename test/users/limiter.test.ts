import { afterEach, describe, expect, it, vi } from 'vitest'
import { defaultMaxConcurrentChecks, PasswordCheckLimiter } from '../../src/users/limiter.js'

afterEach(() => void vi.useRealTimers())

describe('PasswordCheckLimiter', () => {
  it('lets maxConcurrent checks run, queues up to maxQueued, and refuses the next one at once', async () => {
    const limiter = new PasswordCheckLimiter({ maxConcurrent: 1, maxQueued: 1, queueTimeout: 60 })
    const first = await limiter.acquire()
    expect(first).toBeTypeOf('function')
    const second = limiter.acquire()
    expect(limiter.queued).toBe(1)
    // Beyond the queue: refused without waiting for anything.
    expect(await limiter.acquire()).toBeUndefined()
    first!()
    const granted = await second
    expect(granted).toBeTypeOf('function')
    expect(limiter.running).toBe(1)
    granted!()
    expect(limiter.running).toBe(0)
  })

  it('hands a freed slot to the oldest waiter', async () => {
    const limiter = new PasswordCheckLimiter({ maxConcurrent: 1, maxQueued: 3, queueTimeout: 60 })
    const first = (await limiter.acquire())!
    const order: number[] = []
    const waiters = [1, 2, 3].map((n) => limiter.acquire().then((release) => (order.push(n), release!)))
    first()
    for (const w of waiters) (await w)()
    expect(order).toEqual([1, 2, 3])
    expect(limiter.running).toBe(0)
  })

  it('refuses a check that waited longer than queueTimeout, and takes it out of the queue', async () => {
    vi.useFakeTimers()
    const limiter = new PasswordCheckLimiter({ maxConcurrent: 1, maxQueued: 1, queueTimeout: 0.5 })
    const first = (await limiter.acquire())!
    const waiting = limiter.acquire()
    await vi.advanceTimersByTimeAsync(499)
    expect(limiter.queued).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(await waiting).toBeUndefined()
    expect(limiter.queued).toBe(0)
    // The queue has room again, and the slot it waited for goes back to the pool when released.
    const next = limiter.acquire()
    first()
    ;(await next)!()
    expect(limiter.running).toBe(0)
  })

  it('ignores a second release of the same slot', async () => {
    const limiter = new PasswordCheckLimiter({ maxConcurrent: 2, maxQueued: 0, queueTimeout: 1 })
    const a = (await limiter.acquire())!
    await limiter.acquire()
    a()
    a()
    expect(limiter.running).toBe(1)
  })

  it('with maxQueued 0 refuses at once whenever every slot is taken', async () => {
    const limiter = new PasswordCheckLimiter({ maxConcurrent: 1, maxQueued: 0, queueTimeout: 1 })
    await limiter.acquire()
    expect(await limiter.acquire()).toBeUndefined()
  })
})

describe('defaultMaxConcurrentChecks', () => {
  it.each([
    [{}, 16, 3],
    [{ UV_THREADPOOL_SIZE: '8' }, 16, 7],
    [{ UV_THREADPOOL_SIZE: '8' }, 2, 2],
    [{ UV_THREADPOOL_SIZE: '1' }, 4, 1],
    [{ UV_THREADPOOL_SIZE: 'lots' }, 16, 3],
    [{ UV_THREADPOOL_SIZE: '0' }, 16, 3],
  ])('pool from %j with %i CPUs: %i', (env, cpus, expected) => {
    expect(defaultMaxConcurrentChecks(env, cpus)).toBe(expected)
  })
})
