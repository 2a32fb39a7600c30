// CPU per request and round trips per request of the grantkit core with each storage, in process (server.handle(),
// no HTTP), for docs/capacity.md. CPU time (process.cpuUsage) rather than wall time: on a machine shared with other
// work the wall-clock rate says how busy the machine was, the CPU per request what a request costs this process.
// The database's own CPU is not in it (it is another process); round trips are counted at the driver.
//
// Usage: npm run build && node bench/storage-cpu.mjs [requests per row, default 4000] [concurrency, default 20]
// Needs PostgreSQL and Redis at BENCH_PG_URL / BENCH_REDIS_URL (settings.mjs); a database that cannot be reached
// leaves its rows out. Tables and keys are created under a per-run prefix and removed after.
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { AUTHORIZATION, FORM_BODY, FORM_CONTENT_TYPE, ISSUER, RS_AUTHORIZATION, TOKEN_PATH, loadGrantkit, loadStorage, serverOptions } from './common.mjs'
import { PG_URL, REDIS_URL } from './settings.mjs'

const N = Number(process.argv[2] ?? 4000)
const CONCURRENCY = Number(process.argv[3] ?? 20)
const run = randomBytes(4).toString('hex')

const grantkit = await loadGrantkit()
const tokenUrl = new URL(ISSUER + TOKEN_PATH)
const introspectUrl = new URL(ISSUER + '/introspect')
const tokenReq = { method: 'POST', url: tokenUrl, headers: { host: '127.0.0.1', 'content-type': FORM_CONTENT_TYPE, authorization: AUTHORIZATION }, body: FORM_BODY }

/** Runs `n` requests, `CONCURRENCY` at a time; returns CPU µs per request, requests per wall second, round trips per request. */
async function measure(server, request, n, trips) {
  let next = 0
  const worker = async () => {
    while (next++ < n) {
      const res = await server.handle(request())
      if (res.status !== 200) throw new Error(`status ${res.status}: ${res.body}`)
    }
  }
  const trips0 = trips()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const wall = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  return { cpuUs: (cpu.user + cpu.system) / n, rate: n / wall, trips: (trips() - trips0) / n }
}

async function rows(name, storage, trips, close) {
  const server = grantkit.createAuthorizationServer({ ...serverOptions('opaque', grantkit), storage })
  const first = await server.handle(tokenReq)
  const body = `token=${encodeURIComponent(JSON.parse(first.body).access_token)}`
  const introspectReq = () => ({ method: 'POST', url: introspectUrl, headers: { host: '127.0.0.1', 'content-type': FORM_CONTENT_TYPE, authorization: RS_AUTHORIZATION }, body })
  const answer = JSON.parse((await server.handle(introspectReq())).body)
  if (answer.active !== true) throw new Error(`${name}: introspection answered ${JSON.stringify(answer)}`)
  // Warm-up (JIT, connections, prepared statements, start-up's background reads), then the measured runs.
  await measure(server, () => tokenReq, Math.min(N, 1000), trips)
  await measure(server, introspectReq, Math.min(N, 1000), trips)
  await new Promise((r) => setTimeout(r, 300))
  const out = [
    { workload: 'client_credentials (opaque)', storage: name, ...(await measure(server, () => tokenReq, N, trips)) },
    { workload: 'introspection (opaque)', storage: name, ...(await measure(server, introspectReq, N, trips)) },
  ]
  await close()
  return out
}

const results = []
results.push(...(await rows('memory', undefined, () => 0, async () => {})))

try {
  const { default: pg } = await import('pg')
  const { createPostgresStorage } = await loadStorage('postgres')
  const pool = new pg.Pool({ connectionString: PG_URL })
  let queries = 0
  pool.on('connect', (client) => {
    const query = client.query.bind(client)
    client.query = (...args) => (queries++, query(...args))
  })
  const prefix = `gkcpu_${run}_`
  const storage = createPostgresStorage({ pool, tablePrefix: prefix })
  await storage.migrate()
  results.push(
    ...(await rows('PostgreSQL', storage, () => queries, async () => {
      const { rows: tables } = await pool.query('SELECT tablename FROM pg_tables WHERE left(tablename, length($1)) = $1', [prefix])
      for (const { tablename } of tables) await pool.query(`DROP TABLE IF EXISTS "${tablename}"`)
      await pool.end()
    })),
  )
} catch (err) {
  console.error(`PostgreSQL rows skipped: ${err instanceof Error ? err.message : err}`)
}

try {
  const { default: Redis } = await import('ioredis')
  const { createRedisStorage } = await loadStorage('redis')
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
  let commands = 0
  const send = client.sendCommand.bind(client)
  client.sendCommand = (...args) => (commands++, send(...args))
  const prefix = `gkcpu:${run}:`
  results.push(
    ...(await rows('Redis', createRedisStorage({ client, prefix }), () => commands, async () => {
      const keys = await client.keys(`${prefix}*`)
      if (keys.length > 0) await client.del(...keys)
      client.disconnect()
    })),
  )
} catch (err) {
  console.error(`Redis rows skipped: ${err instanceof Error ? err.message : err}`)
}

console.log(`${N} requests per row, ${CONCURRENCY} at a time, in process (server.handle), Node ${process.version}\n`)
console.log('| workload | storage | CPU µs per request (this process) | round trips per request | req/s (wall, in process) |')
console.log('| --- | --- | ---: | ---: | ---: |')
for (const r of results) console.log(`| ${r.workload} | ${r.storage} | ${r.cpuUs.toFixed(0)} | ${r.trips.toFixed(2)} | ${r.rate.toFixed(0)} |`)
console.log('\n' + JSON.stringify(results))
process.exit(0)
