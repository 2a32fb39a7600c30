import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig, SERVE_OVERLOAD, toServerOptions } from '../../src/cli/config.js'
import { serve, SERVE_HTTP_LIMITS, type Output } from '../../src/cli/serve.js'
import { contextOf } from '../../src/server.js'

let dir: string
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'grantkit-overload-'))))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const quiet: Output = { stdout: () => {}, stderr: () => {} }
const svc = { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' }

function configFile(content: unknown): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(file, JSON.stringify(content))
  return file
}

const token = (url: string) =>
  fetch(`${url}/token`, {
    method: 'POST',
    headers: { authorization: 'Basic ' + Buffer.from('svc:svc-secret').toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  })

describe('grantkit serve bounds load (issue 16)', () => {
  it('sets its load-shedding bounds unless the config file sets its own', () => {
    const delay = () => 0
    const plain = toServerOptions(parseConfig({ clients: [svc] }, 'f.json', dir), 'http://127.0.0.1:1', { eventLoopDelay: delay })
    expect(plain.overload).toEqual({ ...SERVE_OVERLOAD, eventLoopDelay: delay })
    const own = toServerOptions(parseConfig({ clients: [svc], overload: { maxRequestsInFlight: 8, retryAfter: 2 } }, 'f.json', dir), 'http://127.0.0.1:1', { eventLoopDelay: delay })
    expect(own.overload).toEqual({ maxRequestsInFlight: 8, eventLoopDelay: delay, retryAfter: 2 })
    // A delay bound is the file's choice; serve supplies what measures it.
    const lag = toServerOptions(parseConfig({ clients: [svc], overload: { maxEventLoopDelay: 0.5 } }, 'f.json', dir), 'http://127.0.0.1:1', { eventLoopDelay: delay })
    expect(lag.overload).toEqual({ maxRequestsInFlight: SERVE_OVERLOAD.maxRequestsInFlight, maxEventLoopDelay: 0.5, eventLoopDelay: delay })
  })

  it('queues as many requests as its connections carry: the bound in flight is the connection cap', () => {
    // A lower bound that the load reaches refuses on the event loop the admitted requests need (bench/RESULTS.md).
    expect(SERVE_OVERLOAD.maxRequestsInFlight).toBe(SERVE_HTTP_LIMITS.maxConnections)
  })

  it('refuses a bad overload field of the config file before listening, naming the file and the field', async () => {
    const file = configFile({ clients: [svc], overload: { maxRequestsInFlight: 0 } })
    await expect(serve({ config: file, host: '127.0.0.1', port: 0, adapter: 'node', storage: 'memory' }, { out: quiet })).rejects.toThrow(
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: overload\\.maxRequestsInFlight: must be a whole number >= 1`),
    )
  })

  it('limits its HTTP server: connections, header and request time, keep-alive', async () => {
    const running = await serve({ config: configFile({ clients: [svc] }), host: '127.0.0.1', port: 0, adapter: 'node', storage: 'memory' }, { out: quiet })
    try {
      expect(running.http.maxConnections).toBe(SERVE_HTTP_LIMITS.maxConnections)
      expect(running.http.headersTimeout).toBe(SERVE_HTTP_LIMITS.headersTimeout)
      expect(running.http.requestTimeout).toBe(SERVE_HTTP_LIMITS.requestTimeout)
      expect(running.http.keepAliveTimeout).toBe(SERVE_HTTP_LIMITS.keepAliveTimeout)
      expect(contextOf(running.server).overload).toBeDefined()
    } finally {
      await running.close()
    }
  })

  it('with overload.maxEventLoopDelay in the file, answers 503 with Retry-After while its event loop lags, measured for real, and serves again once it catches up', async () => {
    const running = await serve({ config: configFile({ clients: [svc], overload: { maxEventLoopDelay: 0.5 } }), host: '127.0.0.1', port: 0, adapter: 'node', storage: 'memory' }, { out: quiet })
    try {
      expect((await token(running.url)).status).toBe(200)
      // Block the loop for 2 s, twice, letting timers run between: the half-second windows the monitor
      // closes then hold little else than the long delays, and their delay passes the file's 0.5 s bound.
      for (let i = 0; i < 2; i++) {
        const until = performance.now() + 2000
        while (performance.now() < until);
        await new Promise((r) => setTimeout(r, 0))
      }
      const refused = await token(running.url)
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toBe('1')
      expect(((await refused.json()) as { error: string }).error).toBe('temporarily_unavailable')
      // Health and discovery still answer while requests are refused.
      expect((await fetch(`${running.url}/.well-known/openid-configuration`)).status).toBe(200)
      await expect.poll(async () => (await token(running.url)).status, { timeout: 5000, interval: 200 }).toBe(200)
    } finally {
      await running.close()
    }
  })
})
