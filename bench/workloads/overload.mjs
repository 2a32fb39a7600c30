// Issue 16: overload and a frozen database, against `grantkit serve` (dist/) on PostgreSQL and on Redis.
//
//   npm run build && node bench/workloads/overload.mjs            # prints the rows, writes bench/overload-results.json
//   BENCH_OVERLOAD_SECONDS=5 node bench/workloads/overload.mjs    # shorter runs
//
// Standalone (not one of run.mjs's rows): each scenario starts its own `grantkit serve` processes.
// One serve process per storage: the machine has 2 cores shared with other work, and two servers
// plus the load generator and the database would measure the scheduler. Per storage:
//
// 1. saturation: autocannon, 32 connections, closed loop, opaque client_credentials tokens (one
//    INSERT or SET per request): the throughput S one process sustains.
// 2. 2× load: an open-loop rate of 2·S over 1024 connections, once with serve's defaults (load
//    shedding on) and once with shedding off (the issue's "before"); over 2048 connections with a
//    bound of 1024 in flight (serve's default before) and with serve's defaults; over 6000
//    connections, past serve's connection cap: throughput of 2xx against S, p50/p99 of the accepted
//    (2xx) requests, the share of 503s and their p99, peak RSS (VmHWM) and RSS 5 s after the load.
// 3. frozen database: a TCP proxy between serve and the database stops forwarding for 10 s (sockets
//    stay open, as with SIGSTOP; the shared server is never stopped) while requests keep coming at a
//    steady rate: the slowest answer during the freeze against the deadline, and how soon after the
//    thaw requests succeed again.
import autocannon from 'autocannon'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const CLI = join(ROOT, 'dist', 'cli', 'grantkit.js')
const SECONDS = Number(process.env.BENCH_OVERLOAD_SECONDS || 10)
const PG_BASE = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_BASE = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379'
// A database and a Redis database number of their own: serve uses the default table and key names.
const PG_DB = 'gk_overload_bench'
const REDIS_DB = 14
const KEK = randomBytes(32).toString('base64url')
const SECRET = 'bench-secret'
const AUTH = 'Basic ' + Buffer.from(`bench-client:${SECRET}`).toString('base64')
const BODY = 'grant_type=client_credentials&scope=api%3Aread'
const dir = mkdtempSync(join(tmpdir(), 'grantkit-overload-'))

function pgUrl(db) {
  const u = new URL(PG_BASE)
  u.pathname = `/${db}`
  return u.toString()
}
function redisUrl() {
  const u = new URL(REDIS_BASE)
  u.pathname = `/${REDIS_DB}`
  return u.toString()
}

function config(overload) {
  const file = join(dir, `config-${randomBytes(4).toString('hex')}.json`)
  writeFileSync(
    file,
    JSON.stringify({
      accessTokenFormat: 'opaque',
      clients: [{ client_id: 'bench-client', client_secret: SECRET, grant_types: ['client_credentials'], scope: 'api:read' }],
      ...(overload !== undefined && { overload }),
    }),
  )
  return file
}

function run(args, env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, GRANTKIT_KEY_ENCRYPTION_KEY: KEK, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (out += d))
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`grantkit ${args.join(' ')}: exit ${code}: ${out}`))))
  })
}

/** Starts `grantkit serve`, trying three times (a loaded machine can miss the storage's 1 s connect wait at start). */
async function startServe(storage, overload) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServeOnce(storage, overload)
    } catch (err) {
      if (attempt === 3) throw err
      console.error(`(serve did not start, trying again: ${err.message.split('\n')[0]})`)
      await sleep(1000)
    }
  }
}

/** Starts `grantkit serve`; resolves { url, pid, stop } once it listens. */
function startServeOnce(storage, overload) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--storage', storage, '--config', config(overload), '--log-level', 'silent'], {
      env: { ...process.env, GRANTKIT_KEY_ENCRYPTION_KEY: KEK },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    const onData = (d) => {
      out += d
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) {
        p.stdout.off('data', onData)
        resolve({
          url: m[1],
          pid: p.pid,
          stop: () => new Promise((r) => (p.exitCode !== null ? r() : (p.once('exit', r), p.kill('SIGTERM')))),
        })
      }
    }
    p.stdout.on('data', onData)
    p.stderr.on('data', (d) => (out += d))
    p.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)))
  })
}

function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN)
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** autocannon against /token; latencies split by status. `rate` (req/s over all connections) makes it open-loop. */
function load(url, { connections, seconds, rate }) {
  return new Promise((resolve, reject) => {
    const ok = []
    const shed = []
    let other = 0
    const instance = autocannon(
      {
        url: `${url}/token`,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: AUTH },
        body: BODY,
        connections,
        duration: seconds,
        timeout: 60,
        ...(rate !== undefined && { overallRate: rate }),
      },
      (err, result) => {
        if (err) return reject(err)
        ok.sort((a, b) => a - b)
        shed.sort((a, b) => a - b)
        const total = ok.length + shed.length + other
        resolve({
          okPerSecond: ok.length / seconds,
          p50: percentile(ok, 50),
          p99: percentile(ok, 99),
          shedShare: total === 0 ? 0 : shed.length / total,
          shedP50: percentile(shed, 50),
          shedP99: percentile(shed, 99),
          other,
          errors: result.errors,
          timeouts: result.timeouts,
        })
      },
    )
    instance.on('response', (_c, status, _b, ms) => {
      if (status >= 200 && status < 300) ok.push(ms)
      else if (status === 503) shed.push(ms)
      else other++
    })
  })
}

/** The TCP proxy of the frozen-database scenario: freeze() stops forwarding, sockets stay open. */
async function freezeProxy(host, port) {
  const pairs = new Set()
  let frozen = false
  const link = ({ client, upstream }) => {
    client.pipe(upstream)
    upstream.pipe(client)
  }
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host)
    const pair = { client, upstream }
    pairs.add(pair)
    for (const s of [client, upstream]) s.on('error', () => {})
    const close = () => {
      client.destroy()
      upstream.destroy()
      pairs.delete(pair)
    }
    client.on('close', close)
    upstream.on('close', close)
    if (frozen) {
      client.pause()
      upstream.pause()
    } else link(pair)
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: server.address().port,
    freeze() {
      frozen = true
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream)
        upstream.unpipe(client)
        client.pause()
        upstream.pause()
      }
    },
    thaw() {
      frozen = false
      for (const pair of pairs) link(pair)
    },
    close: () => {
      for (const { client, upstream } of pairs) client.destroy(), upstream.destroy()
      return new Promise((r) => server.close(r))
    },
  }
}

function tokenOnce(agent, url) {
  const started = performance.now()
  return new Promise((resolve) => {
    const req = http.request(`${url}/token`, { method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: AUTH } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'], ms: performance.now() - started, at: started }))
    })
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started, at: started }))
    req.end(BODY)
  })
}

/** Steady 50 req/s; the database frozen from second 3 to second 13; answers recorded with their send times. */
async function frozenScenario(kind, storageUrl, target) {
  const proxy = await freezeProxy(target.host, target.port)
  const u = new URL(storageUrl)
  u.hostname = '127.0.0.1'
  u.port = String(proxy.port)
  const serve = await startServe(u.toString())
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })
  const answers = []
  const start = performance.now()
  const FREEZE_AT = 3000
  const THAW_AT = 13000
  const END = 20000
  const pending = []
  let timerFroze = false
  let timerThawed = false
  while (performance.now() - start < END) {
    const t = performance.now() - start
    if (!timerFroze && t >= FREEZE_AT) (proxy.freeze(), (timerFroze = true))
    if (!timerThawed && t >= THAW_AT) (proxy.thaw(), (timerThawed = true))
    pending.push(tokenOnce(agent, serve.url).then((a) => answers.push({ ...a, t: a.at - start })))
    await sleep(20)
  }
  await Promise.all(pending)
  agent.destroy()
  await serve.stop()
  await proxy.close()
  const during = answers.filter((a) => a.t >= FREEZE_AT && a.t < THAW_AT)
  const after = answers.filter((a) => a.t >= THAW_AT).sort((a, b) => a.t - b.t)
  const firstOk = after.find((a) => a.status === 200)
  const maxDuring = Math.max(...during.map((a) => a.ms))
  return {
    kind,
    sentDuringFreeze: during.length,
    status503: during.filter((a) => a.status === 503).length,
    statuses: during.reduce((m, a) => ((m[a.status] = (m[a.status] ?? 0) + 1), m), {}),
    withRetryAfter: during.filter((a) => a.status === 503 && a.retryAfter !== undefined).length,
    maxMsDuringFreeze: maxDuring,
    p50MsDuringFreeze: percentile(during.map((a) => a.ms).sort((a, b) => a - b), 50),
    msToFirstOkAfterThaw: firstOk === undefined ? NaN : firstOk.t + firstOk.ms - THAW_AT,
    okAfterThaw: after.filter((a) => a.status === 200).length,
    sentAfterThaw: after.length,
  }
}

/** The issue's "before": bounds no load reaches. */
const OFF = { maxRequestsInFlight: 1_000_000, maxEventLoopDelay: 3600 }

async function overloadScenario(kind, storageUrl) {
  // Saturation: closed loop, shedding off, so that S is what the process can do.
  let serve = await startServe(storageUrl, OFF)
  await load(serve.url, { connections: 32, seconds: 2 })
  const sat = await load(serve.url, { connections: 32, seconds: SECONDS })
  await serve.stop()
  const rows = [{ kind, scenario: 'saturation (32 connections, shedding off)', ...sat }]
  const S = sat.okPerSecond
  for (const [mode, overload, connections] of [
    ['2x load, serve defaults (4096 in flight)', undefined, 1024],
    ['2x load, shedding off', OFF, 1024],
    // serve's default before: over 2048 connections a bound of 1024 is full all the time.
    ["2x load over 2048 connections, maxRequestsInFlight 1024 (serve's default before)", { maxRequestsInFlight: 1024 }, 2048],
    ['2x load over 2048 connections, serve defaults', undefined, 2048],
    // Past serve's connection cap (4096): connections beyond it are closed at once.
    ['2x load over 6000 connections, serve defaults', undefined, 6000],
  ]) {
    serve = await startServe(storageUrl, overload)
    const r = await load(serve.url, { connections, seconds: SECONDS, rate: Math.round(2 * S) })
    const peak = memory(serve.pid)
    await sleep(5000)
    const after = memory(serve.pid)
    await serve.stop()
    rows.push({ kind, scenario: mode, ...r, ratio: r.okPerSecond / S, peakRssMiB: peak.hwmMiB, rssAfterMiB: after.rssMiB })
  }
  return rows
}

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a')

async function main() {
  const results = { seconds: SECONDS, overload: [], frozen: [] }
  // PostgreSQL: a database of our own, migrated through the CLI.
  const { default: pg } = await import('pg')
  const admin = new pg.Client({ connectionString: PG_BASE })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${PG_DB}`)
  await admin.query(`CREATE DATABASE ${PG_DB}`)
  await admin.end()
  await run(['migrate', '--storage', pgUrl(PG_DB)])
  const { default: Redis } = await import('ioredis')
  const flush = async () => {
    const r = new Redis(redisUrl())
    await r.flushdb()
    r.disconnect()
  }
  await flush()
  await run(['migrate', '--storage', redisUrl()])
  try {
    const pgTarget = new URL(PG_BASE)
    const redisTarget = new URL(REDIS_BASE)
    for (const [kind, url, target] of [
      ['postgres', pgUrl(PG_DB), { host: pgTarget.hostname, port: Number(pgTarget.port || 5432) }],
      ['redis', redisUrl(), { host: redisTarget.hostname, port: Number(redisTarget.port || 6379) }],
    ]) {
      const rows = await overloadScenario(kind, url)
      results.overload.push(...rows)
      console.error(JSON.stringify(rows))
      const frozen = await frozenScenario(kind, url, target)
      results.frozen.push(frozen)
      console.error(JSON.stringify(frozen))
    }
  } finally {
    const admin2 = new pg.Client({ connectionString: PG_BASE })
    await admin2.connect()
    await admin2.query(`DROP DATABASE IF EXISTS ${PG_DB} WITH (FORCE)`).catch(() => {})
    await admin2.end()
    await flush().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
  writeFileSync(join(ROOT, 'bench', 'overload-results.json'), JSON.stringify(results, null, 2) + '\n')
  console.log('| storage | scenario | 2xx/s | vs saturation | p50 / p99 of 2xx (ms) | 503 share | 503 p50 / p99 (ms) | errors | peak RSS (MiB) | RSS 5 s after (MiB) |')
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
  for (const r of results.overload) {
    console.log(
      `| ${r.kind} | ${r.scenario} | ${fmt(r.okPerSecond)} | ${r.ratio === undefined ? '1' : fmt(r.ratio, 2)} | ${fmt(r.p50, 1)} / ${fmt(r.p99, 1)} | ${fmt(r.shedShare * 100, 1)}% | ${fmt(r.shedP50, 1)} / ${fmt(r.shedP99, 1)} | ${r.errors + r.timeouts + r.other} | ${fmt(r.peakRssMiB)} | ${fmt(r.rssAfterMiB)} |`,
    )
  }
  console.log('\n| storage | sent during 10 s freeze | 503 (with Retry-After) | slowest answer during freeze (ms) | p50 during freeze (ms) | first 200 after thaw (ms) | 200s after thaw |')
  console.log('| --- | --- | --- | --- | --- | --- | --- |')
  for (const f of results.frozen) {
    console.log(`| ${f.kind} | ${f.sentDuringFreeze} (${Object.entries(f.statuses).map(([s, n]) => `${s}: ${n}`).join(', ')}) | ${f.status503} (${f.withRetryAfter}) | ${fmt(f.maxMsDuringFreeze)} | ${fmt(f.p50MsDuringFreeze)} | ${fmt(f.msToFirstOkAfterThaw)} | ${f.okAfterThaw}/${f.sentAfterThaw} |`)
  }
}

await main()
