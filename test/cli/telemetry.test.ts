import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CliError } from '../../src/cli/errors.js'
import { closingTelemetry, startTelemetry, wantsTelemetry, type NodeSdkModule } from '../../src/cli/telemetry.js'
import { killAll, requireBuiltCli, startCli } from './run-cli.js'

const HIDE_SDK = fileURLToPath(new URL('./fixtures/hide-otel-sdk.mjs', import.meta.url))

/** A stand-in OTLP/HTTP collector: records every POST by path. */
interface Collector {
  url: string
  posts: Array<{ path: string; contentType: string | undefined; body: Buffer }>
  /** Resolves once a POST to `path` contains `text` (protobuf keeps strings as they are). */
  received(path: string, text: string, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

async function startCollector(): Promise<Collector> {
  const posts: Collector['posts'] = []
  const waiters = new Set<() => void>()
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      posts.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: Buffer.concat(chunks) })
      for (const w of waiters) w()
      // An empty ExportServiceResponse: success.
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' }).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const has = (path: string, text: string) => posts.some((p) => p.path === path && p.body.includes(text))
  return {
    url,
    posts,
    received(path, text, timeoutMs = 8_000) {
      if (has(path, text)) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no POST to ${path} containing "${text}" within ${timeoutMs} ms; got: ${posts.map((p) => p.path).join(', ')}`))
        }, timeoutMs)
        const check = (): void => {
          if (!has(path, text)) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
      })
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

async function clientCredentials(url: string): Promise<string> {
  const res = await fetch(`${url}/token`, {
    method: 'POST',
    headers: { authorization: 'Basic ' + Buffer.from('svc:svc-secret').toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=api:read',
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { access_token: string }).access_token
}

let collector: Collector

beforeAll(async () => {
  requireBuiltCli()
  collector = await startCollector()
})
afterAll(() => collector.close())
afterEach(() => {
  killAll()
  collector.posts.length = 0
})

/** Variables of the test runner's own environment that would change what serve does. */
const CLEAN_OTEL = {
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: undefined,
  OTEL_EXPORTER_OTLP_PROTOCOL: undefined,
  OTEL_SDK_DISABLED: undefined,
  OTEL_SERVICE_NAME: undefined,
  OTEL_RESOURCE_ATTRIBUTES: undefined,
  OTEL_TRACES_EXPORTER: undefined,
  OTEL_METRICS_EXPORTER: undefined,
  OTEL_LOGS_EXPORTER: 'none',
}

describe('grantkit serve with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('exports the spans and metrics of a request over OTLP/HTTP, without secrets', async () => {
    const cli = startCli(['serve', '--port', '0'], undefined, {
      ...CLEAN_OTEL,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_METRIC_EXPORT_INTERVAL: '300',
    })
    const url = await cli.listening()
    expect(cli.stdout).toContain('exporting traces and metrics over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT)')
    expect(cli.stdout).not.toContain(collector.url)
    const token = await clientCredentials(url)

    await collector.received('/v1/traces', 'grantkit token')
    await collector.received('/v1/metrics', 'grantkit.requests')
    await collector.received('/v1/metrics', 'grantkit.tokens.issued')
    const traces = collector.posts.filter((p) => p.path === '/v1/traces')
    expect(traces[0]!.contentType).toBe('application/x-protobuf')
    // The service is named grantkit when the variables do not name it.
    expect(traces.some((p) => p.body.includes('grantkit') && p.body.includes('service.name'))).toBe(true)
    for (const p of collector.posts) {
      expect(p.body.includes('svc-secret')).toBe(false)
      expect(p.body.includes(token)).toBe(false)
    }
  })

  it('exports the spans still buffered when it gets SIGTERM, then exits 0', async () => {
    const cli = startCli(['serve', '--port', '0'], undefined, {
      ...CLEAN_OTEL,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/v1/traces`,
      OTEL_METRICS_EXPORTER: 'none',
      // Far longer than the test: only the shutdown can send them.
      OTEL_BSP_SCHEDULE_DELAY: '600000',
      OTEL_SERVICE_NAME: 'auth-under-test',
    })
    const url = await cli.listening()
    await clientCredentials(url)
    await new Promise((r) => setTimeout(r, 300))
    expect(collector.posts.filter((p) => p.path === '/v1/traces')).toHaveLength(0)
    cli.child.kill('SIGTERM')
    expect(await cli.exited()).toBe(0)
    await collector.received('/v1/traces', 'grantkit token', 2_000)
    expect(collector.posts.some((p) => p.body.includes('auth-under-test'))).toBe(true)
    expect(collector.posts.some((p) => p.path === '/v1/metrics')).toBe(false)
  })

  it('refuses to start without @opentelemetry/sdk-node, naming the package to install', async () => {
    const cli = startCli(['serve', '--port', '0'], undefined, { ...CLEAN_OTEL, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, NODE_OPTIONS: `--import ${HIDE_SDK}` })
    expect(await cli.exited()).not.toBe(0)
    expect(cli.stdout).not.toContain('listening on')
    expect(cli.stderr).toContain('OTEL_EXPORTER_OTLP_ENDPOINT is set')
    expect(cli.stderr).toContain('npm install @opentelemetry/sdk-node')
  })

  // Two start-ups through a module loader hook (HIDE_SDK), which slows every import: under the full
  // suite on two cores one start once took over 10 s, so each gets 20 s here.
  it('needs no SDK package when no OTLP endpoint is set, or when OTEL_SDK_DISABLED=true', { timeout: 45_000 }, async () => {
    const plain = startCli(['serve', '--port', '0'], undefined, { ...CLEAN_OTEL, OTEL_EXPORTER_OTLP_ENDPOINT: undefined, NODE_OPTIONS: `--import ${HIDE_SDK}` })
    await plain.listening(20_000)
    expect(plain.stdout).not.toContain('OTLP')
    const disabled = startCli(['serve', '--port', '0'], undefined, {
      ...CLEAN_OTEL,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_SDK_DISABLED: 'TRUE',
      NODE_OPTIONS: `--import ${HIDE_SDK}`,
    })
    await clientCredentials(await disabled.listening(20_000))
    expect(disabled.stdout).not.toContain('OTLP')
  })
})

describe('startTelemetry', () => {
  const out = { stdout: () => {}, stderr: () => {} }

  it('asks for export only with a non-empty OTLP endpoint variable and the SDK not disabled', () => {
    expect(wantsTelemetry({})).toBe(false)
    expect(wantsTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' })).toBe(false)
    expect(wantsTelemetry({ OTEL_SERVICE_NAME: 'x' })).toBe(false)
    expect(wantsTelemetry({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://c/v1/metrics' })).toBe(true)
    expect(wantsTelemetry({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/v1/traces' })).toBe(true)
    expect(wantsTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_SDK_DISABLED: 'true' })).toBe(false)
    expect(wantsTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_SDK_DISABLED: 'false' })).toBe(true)
  })

  it('does not load the SDK when export is not asked for', async () => {
    const load = (): Promise<NodeSdkModule> => Promise.reject(new Error('must not be called'))
    expect(await startTelemetry({}, out, load)).toBeUndefined()
  })

  it('turns a missing SDK into a CliError naming the package, and another load failure into one too', async () => {
    const missing = Object.assign(new Error("Cannot find package '@opentelemetry/sdk-node'"), { code: 'ERR_MODULE_NOT_FOUND' })
    const env = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/v1/traces' }
    await expect(startTelemetry(env, out, () => Promise.reject(missing))).rejects.toThrow(CliError)
    await expect(startTelemetry(env, out, () => Promise.reject(missing))).rejects.toThrow('install it with: npm install @opentelemetry/sdk-node (or unset OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)')
    await expect(startTelemetry(env, out, () => Promise.reject(new SyntaxError('bad build')))).rejects.toThrow('could not be loaded: bad build')
  })

  it('names the service grantkit only when the variables do not, and shuts down once', async () => {
    const made: Array<{ serviceName?: string }> = []
    let shutdowns = 0
    const load = async (): Promise<NodeSdkModule> => ({
      NodeSDK: class {
        constructor(configuration: { serviceName?: string } = {}) {
          made.push(configuration)
        }
        start(): void {}
        async shutdown(): Promise<void> {
          shutdowns++
        }
      },
    })
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' }
    const t = await startTelemetry(base, out, load)
    await startTelemetry({ ...base, OTEL_SERVICE_NAME: 'auth' }, out, load)
    await startTelemetry({ ...base, OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod, service.name=auth' }, out, load)
    expect(made).toEqual([{ serviceName: 'grantkit' }, {}, {}])
    await Promise.all([t!.shutdown(), t!.shutdown()])
    expect(shutdowns).toBe(1)
  })

  it('stops telemetry with the storage, and when the storage cannot be opened', async () => {
    const order: string[] = []
    const telemetry = { shutdown: async () => void order.push('telemetry') }
    const opened = await closingTelemetry(telemetry, Promise.resolve({ close: async () => void order.push('storage'), name: 'mem' }))
    expect(opened.name).toBe('mem')
    await opened.close()
    expect(order).toEqual(['storage', 'telemetry'])
    order.length = 0
    await expect(closingTelemetry(telemetry, Promise.reject(new CliError('no db')))).rejects.toThrow('no db')
    expect(order).toEqual(['telemetry'])
  })
})
