// Child process: client_credentials (or, with `introspect`, introspection of one opaque token by the
// resource server) through server.handle() with a plain request object, no HTTP.
// Usage: node bench/in-process.mjs <jwt|opaque|introspect> <warmupSeconds> <seconds>
// Prints one JSON line with the result. The parent pins this process to one core.
import { performance } from 'node:perf_hooks'
import {
  AUTHORIZATION,
  FORM_BODY,
  FORM_CONTENT_TYPE,
  ISSUER,
  RS_AUTHORIZATION,
  RS_CLIENT_ID,
  SCOPE,
  TOKEN_PATH,
  WRONG_AUTHORIZATION,
  checkTokenResponse,
  loadGrantkit,
  percentile,
  serverOptions,
} from './common.mjs'

const [mode, warmupArg, secondsArg] = process.argv.slice(2)
if (mode !== 'jwt' && mode !== 'opaque' && mode !== 'introspect') throw new Error(`mode must be jwt, opaque or introspect, not ${mode}`)
const format = mode === 'introspect' ? 'opaque' : mode
const warmupMs = Number(warmupArg ?? 1) * 1000
const measureMs = Number(secondsArg ?? 3) * 1000

const grantkit = await loadGrantkit()
const server = grantkit.createAuthorizationServer(serverOptions(format, grantkit))

// What an adapter would build: the URL object and the header record are the
// adapter's work, so they are built once here and the core alone is measured.
const url = new URL(ISSUER + TOKEN_PATH)
const headers = { host: '127.0.0.1', 'content-type': FORM_CONTENT_TYPE, authorization: AUTHORIZATION }
const tokenRequest = () => ({ method: 'POST', url, headers, body: FORM_BODY })

function fatal(message) {
  process.stdout.write(JSON.stringify({ fatal: `preflight: ${message}` }) + '\n')
  process.exit(1)
}

// Preflight: the real answer is checked in full, and a wrong secret must fail.
const first = await server.handle(tokenRequest())
const problem = checkTokenResponse(format, first.status, first.body)
if (problem !== null) fatal(problem)
const denied = await server.handle({ method: 'POST', url, headers: { ...headers, authorization: WRONG_AUTHORIZATION }, body: FORM_BODY })
if (denied.status !== 401) fatal(`a wrong secret got ${denied.status}, not 401`)

let request = tokenRequest
if (mode === 'introspect') {
  // The resource server introspects the token just issued, over and over (the HTTP introspection workload, in process).
  const introspectUrl = new URL(ISSUER + '/introspect')
  const introspectHeaders = { ...headers, authorization: RS_AUTHORIZATION }
  const body = `token=${encodeURIComponent(JSON.parse(first.body).access_token)}`
  request = () => ({ method: 'POST', url: introspectUrl, headers: introspectHeaders, body })
  const answer = await server.handle(request())
  const parsed = JSON.parse(answer.body ?? 'null')
  if (answer.status !== 200 || parsed?.active !== true || parsed.scope !== SCOPE) fatal(`introspection answered ${answer.status} ${answer.body}`)
  const wrong = await server.handle({ ...request(), headers: { ...introspectHeaders, authorization: `Basic ${Buffer.from(`${RS_CLIENT_ID}:wrong`).toString('base64')}` } })
  if (wrong.status !== 401) fatal(`introspection with a wrong secret got ${wrong.status}, not 401`)
}

const CAPACITY = 4_000_000
const latencies = new Float64Array(CAPACITY)

async function run(ms, record) {
  let ops = 0
  let non200 = 0
  let errors = 0
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const end = t0 + ms
  for (;;) {
    // The clock is read per operation anyway (latency); checking the deadline every 64 keeps the loop tight.
    for (let i = 0; i < 64; i++) {
      const start = performance.now()
      try {
        const res = await server.handle(request())
        if (res.status !== 200) non200++
      } catch {
        errors++
      }
      if (record && ops < CAPACITY) latencies[ops] = performance.now() - start
      ops++
    }
    if (performance.now() >= end) break
  }
  const elapsed = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return { ops, elapsed, non200, errors, cpuPercent: ((cpu.user + cpu.system) / 1000 / elapsed) * 100 }
}

const warm = await run(warmupMs, false)
const r = await run(measureMs, true)
const total = process.cpuUsage()
const sorted = latencies.subarray(0, Math.min(r.ops, CAPACITY)).sort()
process.stdout.write(
  JSON.stringify({
    ops: r.ops,
    seconds: r.elapsed / 1000,
    perSecond: r.ops / (r.elapsed / 1000),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    non2xx: r.non200 + warm.non200,
    errors: r.errors + warm.errors,
    serverCpu: r.cpuPercent,
    rssMiB: process.memoryUsage().rss / 2 ** 20,
    // Everything this process used since it started, for the parent's other-load check.
    totalCpuMs: (total.user + total.system) / 1000,
  }) + '\n',
)
