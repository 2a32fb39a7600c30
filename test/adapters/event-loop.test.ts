import { describe, expect, it } from 'vitest'
import { eventLoopDelayMonitor } from '../../adapters/node.js'

const block = (ms: number): void => {
  const until = performance.now() + ms
  while (performance.now() < until);
}
const yieldToTimers = () => new Promise((r) => setTimeout(r, 0))

describe('eventLoopDelayMonitor (issue 16)', () => {
  it('reports a lagging loop and, once it catches up, a small delay again', async () => {
    const monitor = eventLoopDelayMonitor({ window: 0.2 })
    try {
      expect(monitor.delay()).toBe(0)
      block(800)
      await yieldToTimers()
      expect(monitor.delay()).toBeGreaterThan(0.3)
      await expect.poll(() => monitor.delay(), { timeout: 5000, interval: 100 }).toBeLessThan(0.1)
    } finally {
      monitor.stop()
    }
  })

  it('refuses a window or resolution that is not positive', () => {
    expect(() => eventLoopDelayMonitor({ window: 0 })).toThrow(/^window:/)
    expect(() => eventLoopDelayMonitor({ resolution: 0.5 })).toThrow(/^resolution:/)
  })
})
