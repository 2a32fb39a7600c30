// grantkit benchmark: token endpoint in process and over HTTP against a raw node:http ceiling, and
// side by side with node-oidc-provider and @node-oauth/oauth2-server. Run with `npm run bench`
// (builds dist/ first). See bench/README.md for what is measured. Settings come from the environment:
//   BENCH_QUICK=1 a short run (1 repetition, 2 s runs) while developing; the settings below override it
//   BENCH_REPS (3)  BENCH_DURATION seconds per HTTP run (3)  BENCH_WARMUP seconds (1)
//   BENCH_CORE_SECONDS in-process seconds (3)  BENCH_CONNECTIONS (20)  BENCH_FLOW_WORKERS (10)
//   BENCH_QUIET_BUDGET seconds that may go to waiting for a quiet machine (30)
//   BENCH_ONLY comma-separated row ids or workloads to measure (and the ceiling), e.g. flow,refresh;
//     such a partial run writes .bench-tmp/RESULTS.partial.md instead of bench/RESULTS.md
//   BENCH_SCRYPT_N scrypt cost of the user's password (1024)
//   BENCH_PROFILE comma-separated rows (ids, workloads or servers) whose server runs under node --cpu-prof,
//     writing .bench-tmp/prof/<row>-rep<n>.cpuprofile (read them with bench/profile-summary.mjs)
//   GRANTKIT_DIST  directory of a build to measure instead of ../dist
//   BENCH_STORAGE=0 skips the PostgreSQL and Redis storage rows (they are skipped with a warning when a
//     database cannot be reached); BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/test) and
//     BENCH_REDIS_URL (redis://127.0.0.1:6379) say where the databases are
import autocannon from 'autocannon'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, relative } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import {
  AUTHORIZATION,
  CLIENT_ID,
  DIST_DIR,
  FLOW_SCOPE,
  FORM_BODY,
  FORM_CONTENT_TYPE,
  GRANTKIT_OPAQUE,
  RESOURCE,
  RS_AUTHORIZATION,
  RS_CLIENT_ID,
  SCOPE,
  SCRYPT_COST,
  WEB_AUTHORIZATION,
  WEB_CLIENT_ID,
  WRONG_AUTHORIZATION,
  checkTokenResponse,
  loadStorage,
  missingDistFiles,
  percentile,
} from './common.mjs'
import { codeFlow, issueRefreshTokens, request, runFlows } from './flows.mjs'
import http from 'node:http'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER_SCRIPT = fileURLToPath(new URL('./server.mjs', import.meta.url))
const OIDC_SCRIPT = fileURLToPath(new URL('./peer-oidc-provider.mjs', import.meta.url))
const NODE_OAUTH_SCRIPT = fileURLToPath(new URL('./peer-node-oauth.mjs', import.meta.url))
const IN_PROCESS_SCRIPT = fileURLToPath(new URL('./in-process.mjs', import.meta.url))
// A partial run (BENCH_ONLY) must not replace the results of a whole one.
const RESULTS_FILE = fileURLToPath(
  (process.env.BENCH_ONLY ?? '') === '' ? new URL('./RESULTS.md', import.meta.url) : new URL('../.bench-tmp/RESULTS.partial.md', import.meta.url),
)

const QUICK = process.env.BENCH_QUICK !== undefined && process.env.BENCH_QUICK !== '' && process.env.BENCH_QUICK !== '0'

function setting(name, fallback, min) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < min) {
    console.error(`${name}=${raw}: must be a number >= ${min}`)
    process.exit(2)
  }
  return n
}

const REPS = Math.floor(setting('BENCH_REPS', QUICK ? 1 : 3, 1))
const DURATION = setting('BENCH_DURATION', QUICK ? 2 : 3, 1)
const WARMUP = setting('BENCH_WARMUP', QUICK ? 0.5 : 1, 0)
const CORE_SECONDS = setting('BENCH_CORE_SECONDS', QUICK ? 1 : 3, 0.5)
const CONNECTIONS = Math.floor(setting('BENCH_CONNECTIONS', 20, 1))
const FLOW_WORKERS = Math.floor(setting('BENCH_FLOW_WORKERS', 10, 1))
const PIPELINING = 1
/** % of one core used by other processes during a run above which the run is flagged. */
const OTHER_LOAD_LIMIT = 10
/** Seconds, over the whole run, that may go to waiting for a quiet machine and repeating disturbed runs. */
const QUIET_BUDGET = setting('BENCH_QUIET_BUDGET', QUICK ? 5 : 30, 0)
const SERVER_CPU = '0'
const LOADGEN_CPU = '1'

// Durable storage rows: grantkit's opaque server with PostgreSQL or Redis storage instead of memory.
// Every run uses its own table prefix and key prefix, and drops / deletes them at the end.
const STORAGE_ON = !['0', 'false', 'no', 'off'].includes((process.env.BENCH_STORAGE ?? '').toLowerCase())
const PG_URL = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379'
const RUN_ID = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
/** grantkit's checkTablePrefix: lower-case letters, digits and "_", at most 24 characters. */
const PG_PREFIX = `gkbench_${RUN_ID}_`
const REDIS_PREFIX = `gkbench:${RUN_ID}:`
/** What setUpStorage created, for cleanUpStorage. */
const storageCreated = { postgres: false, redis: false }

// ---------------------------------------------------------------------------
// What is measured. A server is a child process (script + arguments); a row is one workload
// against one server. Every repetition runs every row once, in this order (A B C … A B C …).

const PEER_GRANTKIT = 'grantkit'
const PEER_OIDC = 'node-oidc-provider'
const PEER_NODE_OAUTH = '@node-oauth/oauth2-server'
/** A what-if row, not a peer: grantkit with a user source that does not hash (devInteractions check no password). */
const PEER_GRANTKIT_NOHASH = 'grantkit, password not hashed (what-if)'
/** The same grantkit opaque server with durable storage: compared with its memory rows, not with the peers. */
const PEER_GRANTKIT_REDIS = 'grantkit, Redis storage'
const PEER_GRANTKIT_PG = 'grantkit, PostgreSQL storage'

/**
 * The servers. `cc` is the client_credentials form body per token format (node-oidc-provider
 * issues a JWT only for a resource indicator); the first one is also the start-up probe.
 * `opaque` is what the server's opaque tokens look like (checked on every preflight).
 */
const SERVERS = {
  'grantkit-jwt': { peer: PEER_GRANTKIT, script: SERVER_SCRIPT, args: ['jwt'], cc: { jwt: FORM_BODY }, opaque: GRANTKIT_OPAQUE, authorizePath: '/authorize', tokenPath: '/token', introspectPath: '/introspect' },
  'grantkit-opaque': { peer: PEER_GRANTKIT, script: SERVER_SCRIPT, args: ['opaque'], cc: { opaque: FORM_BODY }, opaque: GRANTKIT_OPAQUE, authorizePath: '/authorize', tokenPath: '/token', introspectPath: '/introspect' },
  'grantkit-nohash': { peer: PEER_GRANTKIT_NOHASH, script: SERVER_SCRIPT, args: ['opaque-nohash'], cc: { opaque: FORM_BODY }, opaque: GRANTKIT_OPAQUE, authorizePath: '/authorize', tokenPath: '/token', introspectPath: '/introspect' },
  'grantkit-redis': { peer: PEER_GRANTKIT_REDIS, script: SERVER_SCRIPT, args: ['opaque-redis', REDIS_PREFIX, REDIS_URL], storage: 'redis', storageTarget: 0.7, cc: { opaque: FORM_BODY }, opaque: GRANTKIT_OPAQUE, authorizePath: '/authorize', tokenPath: '/token', introspectPath: '/introspect' },
  'grantkit-pg': { peer: PEER_GRANTKIT_PG, script: SERVER_SCRIPT, args: ['opaque-pg', PG_PREFIX, PG_URL], storage: 'postgres', storageTarget: 0.4, cc: { opaque: FORM_BODY }, opaque: GRANTKIT_OPAQUE, authorizePath: '/authorize', tokenPath: '/token', introspectPath: '/introspect' },
  raw: { peer: 'raw', script: SERVER_SCRIPT, args: ['raw'], cc: { opaque: FORM_BODY }, opaque: GRANTKIT_OPAQUE, tokenPath: '/token' },
  'raw-es256': { peer: 'raw', script: SERVER_SCRIPT, args: ['raw-es256'], cc: { jwt: FORM_BODY }, opaque: GRANTKIT_OPAQUE, tokenPath: '/token' },
  oidc: {
    peer: PEER_OIDC,
    script: OIDC_SCRIPT,
    args: [],
    cc: { opaque: FORM_BODY, jwt: `${FORM_BODY}&resource=${encodeURIComponent(RESOURCE)}` },
    opaque: /^[A-Za-z0-9_-]{43}$/,
    authorizePath: '/auth',
    tokenPath: '/token',
    introspectPath: '/token/introspection',
  },
  'node-oauth-jwt': { peer: PEER_NODE_OAUTH, script: NODE_OAUTH_SCRIPT, args: ['jwt'], cc: { jwt: FORM_BODY }, opaque: /^[0-9a-f]{64}$/, authorizePath: '/authorize', tokenPath: '/token' },
  'node-oauth-opaque': { peer: PEER_NODE_OAUTH, script: NODE_OAUTH_SCRIPT, args: ['opaque'], cc: { opaque: FORM_BODY }, opaque: /^[0-9a-f]{64}$/, authorizePath: '/authorize', tokenPath: '/token' },
}

/**
 * Workloads compared across servers, in the order of the peers table. `unit` is what the rate counts.
 * `target` is the least grantkit ÷ node-oidc-provider (same run) that passes.
 */
const WORKLOADS = [
  { id: 'cc-jwt', label: 'client_credentials, JWT access token', unit: 'req/s', target: 2.5 },
  { id: 'cc-opaque', label: 'client_credentials, opaque access token', unit: 'req/s', target: 2 },
  { id: 'introspect', label: 'introspection of a valid opaque token', unit: 'req/s', target: 2.5 },
  { id: 'refresh', label: 'refresh_token with rotation (chained)', unit: 'req/s', target: 3 },
  { id: 'flow', label: 'code + PKCE flow (login, consent, code, token)', unit: 'flows/s', target: 2 },
]
/** Peak RSS: grantkit's highest VmHWM over the peer workloads ÷ node-oidc-provider's, at most this. */
const RSS_TARGET = 0.7

const ALL_ROWS = [
  { id: 'core-jwt', label: 'core in-process, JWT', kind: 'core', format: 'jwt', table: 'core' },
  { id: 'core-opaque', label: 'core in-process, opaque', kind: 'core', format: 'opaque', table: 'core' },
  // Targets of the core table are ratios to the raw ceiling.
  { id: 'http-jwt', label: 'HTTP node adapter, JWT', kind: 'http', server: 'grantkit-jwt', work: 'cc', format: 'jwt', target: 0.25, table: 'core', workload: 'cc-jwt' },
  { id: 'oidc-cc-jwt', kind: 'http', server: 'oidc', work: 'cc', format: 'jwt', workload: 'cc-jwt' },
  { id: 'node-oauth-cc-jwt', kind: 'http', server: 'node-oauth-jwt', work: 'cc', format: 'jwt', workload: 'cc-jwt' },
  { id: 'http-opaque', label: 'HTTP node adapter, opaque', kind: 'http', server: 'grantkit-opaque', work: 'cc', format: 'opaque', target: 0.3, table: 'core', workload: 'cc-opaque' },
  { id: 'redis-cc-opaque', kind: 'http', server: 'grantkit-redis', work: 'cc', format: 'opaque', workload: 'cc-opaque', storage: 'redis', memory: 'http-opaque' },
  { id: 'pg-cc-opaque', kind: 'http', server: 'grantkit-pg', work: 'cc', format: 'opaque', workload: 'cc-opaque', storage: 'postgres', memory: 'http-opaque' },
  { id: 'oidc-cc-opaque', kind: 'http', server: 'oidc', work: 'cc', format: 'opaque', workload: 'cc-opaque' },
  { id: 'node-oauth-cc-opaque', kind: 'http', server: 'node-oauth-opaque', work: 'cc', format: 'opaque', workload: 'cc-opaque' },
  { id: 'http-raw', label: 'HTTP raw node:http (ceiling)', kind: 'http', server: 'raw', work: 'cc', format: 'opaque', table: 'core' },
  // Not a target: how much of the ceiling a JWT endpoint can keep once it signs with ES256 at all.
  { id: 'http-raw-es256', label: 'HTTP raw node:http + ES256 sign', kind: 'http', server: 'raw-es256', work: 'cc', format: 'jwt', table: 'core' },
  { id: 'grantkit-introspect', kind: 'http', server: 'grantkit-opaque', work: 'introspect', workload: 'introspect' },
  { id: 'redis-introspect', kind: 'http', server: 'grantkit-redis', work: 'introspect', workload: 'introspect', storage: 'redis', memory: 'grantkit-introspect' },
  { id: 'pg-introspect', kind: 'http', server: 'grantkit-pg', work: 'introspect', workload: 'introspect', storage: 'postgres', memory: 'grantkit-introspect' },
  { id: 'oidc-introspect', kind: 'http', server: 'oidc', work: 'introspect', workload: 'introspect' },
  { id: 'grantkit-refresh', kind: 'http', server: 'grantkit-opaque', work: 'refresh', workload: 'refresh' },
  { id: 'oidc-refresh', kind: 'http', server: 'oidc', work: 'refresh', workload: 'refresh' },
  { id: 'node-oauth-refresh', kind: 'http', server: 'node-oauth-opaque', work: 'refresh', workload: 'refresh' },
  { id: 'grantkit-flow', kind: 'http', server: 'grantkit-opaque', work: 'flow', workload: 'flow' },
  { id: 'oidc-flow', kind: 'http', server: 'oidc', work: 'flow', workload: 'flow' },
  { id: 'node-oauth-flow', kind: 'http', server: 'node-oauth-opaque', work: 'flow', workload: 'flow' },
  // Informational: the flow without scrypt, the work node-oidc-provider's devInteractions leave out. Not a target.
  { id: 'grantkit-nohash-flow', kind: 'http', server: 'grantkit-nohash', work: 'flow', workload: 'flow', whatIf: true },
]
for (const r of ALL_ROWS) {
  r.peer = r.kind === 'core' ? PEER_GRANTKIT : SERVERS[r.server].peer
  r.label ??= `${r.peer}, ${r.workload}`
}
/** Rows a peer cannot take part in, shown as n/a. */
const NOT_APPLICABLE = [{ workload: 'introspect', peer: PEER_NODE_OAUTH, why: 'no introspection endpoint in the library' }]

/** BENCH_PROFILE: rows (ids, workloads or servers) whose server runs under --cpu-prof; profiles go to PROFILE_DIR. */
const PROFILE = (process.env.BENCH_PROFILE ?? '').split(',').map((s) => s.trim()).filter(Boolean)
const PROFILE_DIR = fileURLToPath(new URL('../.bench-tmp/prof/', import.meta.url))

const children = new Set()
const warnings = []
function warn(message) {
  warnings.push(message)
  console.error(`warning: ${message}`)
}

const ONLY = (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean)
const selected = (r) => ONLY.includes(r.id) || ONLY.includes(r.workload) || ONLY.includes(r.peer) || ONLY.includes(r.server) || (r.storage !== undefined && (ONLY.includes(r.storage) || ONLY.includes('storage')))
// A storage row is reported as a ratio to its memory row, so selecting one selects that too.
const wanted = new Set(ALL_ROWS.filter(selected).flatMap((r) => [r.id, ...(r.memory !== undefined ? [r.memory] : [])]))
const storageWanted = new Set(ALL_ROWS.filter((r) => r.storage !== undefined && (ONLY.length === 0 || wanted.has(r.id))).map((r) => r.storage))
const storageUp = STORAGE_ON && missingDistFiles().length === 0 ? await setUpStorage(storageWanted) : { postgres: false, redis: false }
if (!STORAGE_ON) warn('BENCH_STORAGE=0: the PostgreSQL and Redis storage rows were skipped')
const TARGETS = (ONLY.length === 0 ? ALL_ROWS : ALL_ROWS.filter((r) => r.id === 'http-raw' || wanted.has(r.id))).filter((r) => r.storage === undefined || storageUp[r.storage])
if (TARGETS.length === 1 && ONLY.length > 0) {
  console.error(`BENCH_ONLY=${ONLY.join(',')} matches no row; rows: ${ALL_ROWS.map((r) => r.id).join(', ')}; workloads: ${WORKLOADS.map((w) => w.id).join(', ')}`)
  process.exit(2)
}

// Nothing here may run unbounded: every child has a deadline, and so does the whole run.
const HTTP_ROW_BUDGET = WARMUP + DURATION + 25
const HARD_LIMIT_MS =
  (REPS * TARGETS.reduce((sum, t) => sum + (t.kind === 'core' ? WARMUP + CORE_SECONDS + 10 : HTTP_ROW_BUDGET), 0) + QUIET_BUDGET + 60) * 1000

const watchdog = setTimeout(() => {
  console.error(`bench: hard time limit of ${Math.round(HARD_LIMIT_MS / 1000)} s reached; stopping`)
  for (const child of children) child.kill('SIGKILL')
  cleanUpStorage().finally(() => process.exit(1))
}, HARD_LIMIT_MS)
watchdog.unref()
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`bench: ${signal}; stopping`)
    for (const child of children) child.kill('SIGKILL')
    cleanUpStorage().finally(() => process.exit(130))
  })
}

// ---------------------------------------------------------------------------
// Durable storage: set up before the run, removed after it

/** Rejects after `ms`: no database may hold the run up. */
function within(ms, promise, what) {
  let timer
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer))
}

/**
 * Creates the per-run PostgreSQL tables (grantkit's migrate()) and checks that Redis answers.
 * A database that cannot be reached takes its rows out of the run, with a warning.
 */
async function setUpStorage(kinds) {
  const up = { postgres: false, redis: false }
  if (kinds.has('postgres')) try {
    const { createPostgresStorage } = await loadStorage('postgres')
    const storage = createPostgresStorage({ connectionString: PG_URL, tablePrefix: PG_PREFIX })
    try {
      await within(10_000, storage.migrate(), 'PostgreSQL')
      storageCreated.postgres = true
      up.postgres = true
    } finally {
      await within(5000, storage.close(), 'PostgreSQL close').catch(() => {})
    }
  } catch (err) {
    warn(`PostgreSQL at ${PG_URL} cannot be used (${err instanceof Error ? err.message : err}): the PostgreSQL storage rows were skipped`)
  }
  if (kinds.has('redis')) try {
    const { default: Redis } = await import('ioredis')
    const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null })
    client.on('error', () => {})
    try {
      await within(5000, client.connect().then(() => client.ping()), 'Redis')
      storageCreated.redis = true
      up.redis = true
    } finally {
      client.disconnect()
    }
  } catch (err) {
    warn(`Redis at ${REDIS_URL} cannot be used (${err instanceof Error ? err.message : err}): the Redis storage rows were skipped`)
  }
  return up
}

let cleanedUp = false
/** Drops this run's tables (prefix PG_PREFIX) and deletes its keys (SCAN + DEL under REDIS_PREFIX). */
async function cleanUpStorage() {
  if (cleanedUp) return
  cleanedUp = true
  if (storageCreated.postgres) {
    try {
      const { default: pg } = await import('pg')
      const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 })
      await within(5000, client.connect(), 'PostgreSQL')
      try {
        const { rows } = await client.query('SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND left(tablename, length($1)) = $1', [PG_PREFIX])
        for (const { tablename } of rows) await client.query(`DROP TABLE IF EXISTS "${tablename}"`)
        console.error(`storage clean-up: dropped ${rows.length} PostgreSQL tables ${PG_PREFIX}*`)
      } finally {
        await client.end()
      }
    } catch (err) {
      warn(`could not drop the PostgreSQL tables ${PG_PREFIX}*: ${err instanceof Error ? err.message : err}`)
    }
  }
  if (storageCreated.redis) {
    try {
      const { default: Redis } = await import('ioredis')
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null })
      client.on('error', () => {})
      try {
        let cursor = '0'
        let deleted = 0
        do {
          const [next, keys] = await within(10_000, client.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 1000), 'Redis SCAN')
          cursor = next
          if (keys.length > 0) deleted += await client.del(...keys)
        } while (cursor !== '0')
        console.error(`storage clean-up: deleted ${deleted} Redis keys ${REDIS_PREFIX}*`)
      } finally {
        client.disconnect()
      }
    } catch (err) {
      warn(`could not delete the Redis keys ${REDIS_PREFIX}*: ${err instanceof Error ? err.message : err}`)
    }
  }
}

/**
 * CPU time so far (ms) of the database server's processes (postgres, redis-server), read from
 * /proc/<pid>/stat. They are not pinned: this is how much CPU they took during a run, counted
 * apart from "other load". Processes that exit during the run are missed (the pool's backends stay).
 */
function dbCpuMs(storage) {
  const comm = storage === 'postgres' ? 'postgres' : 'redis-server'
  let ticks = 0
  let pids
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d))
  } catch {
    return NaN
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      if (stat.slice(stat.indexOf('(') + 1, close) !== comm) continue
      const fields = stat.slice(close + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // gone
    }
  }
  return (ticks * 1000) / CLK_TCK
}

// ---------------------------------------------------------------------------
// Other load on the machine. The benchmark owns the server core and the load
// generator core only if nothing else runs: /proc/stat says how much CPU was
// busy during a run, and whatever our own processes did not use was someone else's.

let CLK_TCK = 100
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
} catch {
  // the usual value
}

/** Busy and stolen CPU time so far, in ms, summed over all CPUs; null where /proc/stat does not exist. */
function readCpuStat() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '))
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
    const ms = 1000 / CLK_TCK
    return { busy: (user + nice + system + irq + softirq) * ms, steal: (steal ?? 0) * ms, at: performance.now() }
  } catch {
    return null
  }
}

/**
 * CPU we did not get between two readings, as % of one core: what other processes
 * used plus what the hypervisor stole (a busy host slows a guest as much as a busy guest).
 */
function otherLoad(before, after, oursMs) {
  if (before === null || after === null) return { other: NaN, steal: NaN }
  const wall = after.at - before.at
  const steal = ((after.steal - before.steal) / wall) * 100
  return { other: (Math.max(0, after.busy - before.busy - oursMs) / wall) * 100 + steal, steal }
}

/**
 * Waits, in 250 ms steps and at most `budgetMs`, until other processes use less
 * than OTHER_LOAD_LIMIT % of a core. Returns the time spent.
 */
async function waitForQuiet(budgetMs) {
  const started = performance.now()
  let announced = false
  while (performance.now() - started < budgetMs) {
    const a = readCpuStat()
    const ours0 = process.cpuUsage()
    await new Promise((resolve) => setTimeout(resolve, 250))
    const ours = process.cpuUsage(ours0)
    const load = otherLoad(a, readCpuStat(), (ours.user + ours.system) / 1000)
    if (!(load.other > OTHER_LOAD_LIMIT)) break
    if (!announced) console.error(`  waiting for a quiet machine (${fmt(load.other)}% of a core busy or stolen)`)
    announced = true
  }
  return performance.now() - started
}

// ---------------------------------------------------------------------------
// Machine, pinning

function machineInfo() {
  let cpuModel = 'unknown'
  try {
    const lines = readFileSync('/proc/cpuinfo', 'utf8').split('\n')
    // x86 says "model name"; other architectures use one of the others ("processor" alone is a number).
    for (const field of [/^model name\s*:/, /^cpu model\s*:/, /^Hardware\s*:/, /^Processor\s*:/]) {
      const line = lines.find((l) => field.test(l))
      if (line !== undefined) {
        cpuModel = line.slice(line.indexOf(':') + 1).trim()
        break
      }
    }
  } catch {
    // not Linux
  }
  let nproc = String(os.availableParallelism())
  try {
    nproc = execFileSync('nproc', { encoding: 'utf8' }).trim()
  } catch {
    // keep Node's count
  }
  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim()
    if (dirty !== '') commit += ' (with uncommitted changes)'
  } catch {
    // not a git checkout
  }
  return { cpuModel, nproc, node: process.version, kernel: `${os.type()} ${os.release()} ${os.arch()}`, commit }
}

function setUpPinning(nproc) {
  if (process.platform !== 'linux') {
    warn('not Linux: servers and load generator are not pinned to separate cores')
    return false
  }
  if (spawnSync('taskset', ['-c', SERVER_CPU, 'true']).status !== 0) {
    warn('taskset is missing or cannot pin to CPU 0 (install util-linux): servers and load generator share cores')
    return false
  }
  if (Number(nproc) < 2 || spawnSync('taskset', ['-c', LOADGEN_CPU, 'true']).status !== 0) {
    warn('fewer than 2 usable CPUs: servers and load generator share a core, HTTP numbers are pessimistic')
    return false
  }
  // This process is the load generator (autocannon runs in it): every thread of it goes to CPU 1.
  const self = spawnSync('taskset', ['-a', '-p', '-c', LOADGEN_CPU, String(process.pid)])
  if (self.status !== 0) {
    warn(`could not pin the load generator to CPU ${LOADGEN_CPU}: ${String(self.stderr).trim()}`)
    return false
  }
  return true
}

// ---------------------------------------------------------------------------
// Children

/**
 * A child on the server core. Its stderr is kept (the last 8 KiB) instead of shown: the peers print
 * start-up warnings on every start. It is shown when a run with that child fails.
 */
function spawnPinned(pinned, script, args, ipc, nodeFlags = []) {
  const argv = [...nodeFlags, script, ...args]
  const stdio = ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])]
  const child = pinned ? spawn('taskset', ['-c', SERVER_CPU, process.execPath, ...argv], { stdio }) : spawn(process.execPath, argv, { stdio })
  children.add(child)
  child.stderrTail = ''
  child.stderr.on('data', (c) => {
    child.stderrTail = (child.stderrTail + c).slice(-8192)
  })
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  child.exited.then(() => children.delete(child))
  return child
}

/** Stops a child: a server child exits by itself when the IPC channel closes (and so writes its --cpu-prof); then SIGTERM, then SIGKILL. */
async function stopChild(child) {
  if (child.exitCode === null && child.signalCode === null) {
    if (child.connected) child.disconnect()
    else child.kill('SIGTERM')
  }
  const term = setTimeout(() => child.kill('SIGTERM'), 5000)
  const kill = setTimeout(() => child.kill('SIGKILL'), 8000)
  await child.exited
  clearTimeout(term)
  clearTimeout(kill)
}

function nextMessage(child, type, timeoutMs, id) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`no "${type}" message from the server within ${timeoutMs} ms`))
    }, timeoutMs)
    const onMessage = (m) => {
      if (m?.type !== type || (id !== undefined && m.id !== id)) return
      cleanup()
      resolve(m)
    }
    const onExit = (code) => {
      cleanup()
      reject(new Error(`server exited (code ${code}) before sending "${type}"`))
    }
    const cleanup = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

let cpuRequestId = 0
async function serverCpu(child) {
  const id = ++cpuRequestId
  child.send({ type: 'cpu', id })
  const m = await nextMessage(child, 'cpu', 5000, id)
  return { micros: m.usage.user + m.usage.system, rss: m.rss, at: performance.now() }
}

/**
 * A memory figure of a process from /proc/<pid>/status in MiB (VmHWM: peak resident set size so far;
 * VmRSS: now); NaN where /proc is missing. `taskset` execs node, so the pid is node's.
 */
function procStatusMiB(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? NaN : Number(m[1]) / 1024
  } catch {
    return NaN
  }
}

// ---------------------------------------------------------------------------
// Measurements

async function measureCore(t, pinned) {
  const stat0 = readCpuStat()
  const gen0 = process.cpuUsage()
  const child = spawnPinned(pinned, IN_PROCESS_SCRIPT, [t.format, String(WARMUP), String(CORE_SECONDS)], false)
  let out = ''
  child.stdout.on('data', (c) => (out += c))
  const timer = setTimeout(() => child.kill('SIGKILL'), (WARMUP + CORE_SECONDS + 30) * 1000)
  const { code, signal } = await child.exited
  const stat1 = readCpuStat()
  const gen = process.cpuUsage(gen0)
  clearTimeout(timer)
  const line = out.trim().split('\n').pop() ?? ''
  let r
  try {
    r = JSON.parse(line)
  } catch {
    return invalid(`in-process child exited (code ${code}, signal ${signal}) without a result${stderrNote(child)}`)
  }
  if (r.fatal !== undefined) return invalid(r.fatal)
  const problems = []
  if (r.non2xx > 0) problems.push(`${r.non2xx} non-200 responses`)
  if (r.errors > 0) problems.push(`${r.errors} thrown errors`)
  // The child's whole life (start-up, warm-up, run) against the same window of /proc/stat.
  const load = otherLoad(stat0, stat1, r.totalCpuMs + (gen.user + gen.system) / 1000)
  return {
    ...load,
    valid: problems.length === 0,
    problems,
    perSecond: r.perSecond,
    requestsPerSecond: r.perSecond,
    p50: r.p50,
    p99: r.p99,
    count: r.ops,
    serverCpu: r.serverCpu,
    genCpu: NaN,
    rssMiB: r.rssMiB,
    peakRssMiB: NaN,
    startRssMiB: NaN,
    startupMs: NaN,
  }
}

function invalid(reason) {
  return {
    valid: false,
    problems: [reason],
    perSecond: NaN,
    requestsPerSecond: NaN,
    p50: NaN,
    p99: NaN,
    count: 0,
    serverCpu: NaN,
    genCpu: NaN,
    rssMiB: NaN,
    peakRssMiB: NaN,
    startRssMiB: NaN,
    startupMs: NaN,
    other: NaN,
    steal: NaN,
  }
}

function stderrNote(child) {
  const tail = child.stderrTail.trim()
  return tail === '' ? '' : `\n    server stderr (last lines):\n${tail.split('\n').slice(-15).map((l) => `      ${l}`).join('\n')}`
}

/** One request on its own connection: { status, headers, body }. */
function post(port, path, authorization, body) {
  const agent = new http.Agent({ keepAlive: false })
  return request(agent, port, 'POST', path, { 'content-type': FORM_CONTENT_TYPE, authorization }, body).finally(() => agent.destroy())
}

/** The client_credentials request of a server for a token format, and the check of its answer. */
function ccRequest(srv, format) {
  return { body: srv.cc[format], check: (status, text) => checkTokenResponse(format, status, text, { opaque: srv.opaque }) }
}

const LATENCY_CAPACITY = 4_000_000
const latencyBuffer = new Float64Array(LATENCY_CAPACITY)

/**
 * One autocannon run. Latencies (ms, fractional) come from the per-response event, not autocannon's
 * 1 ms histogram. `setupClient`, when given, gives each connection its own requests (refresh chains).
 */
function cannon(port, { path, authorization, body, setupClient }, seconds, record) {
  return new Promise((resolve, reject) => {
    let responses = 0
    let non2xx = 0
    const started = performance.now()
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}${path}`,
        method: 'POST',
        headers: { 'content-type': FORM_CONTENT_TYPE, authorization },
        body,
        connections: CONNECTIONS,
        pipelining: PIPELINING,
        duration: seconds,
        timeout: 10,
        ...(setupClient !== undefined && { setupClient }),
      },
      (err, result) => {
        if (err) return reject(err)
        const elapsed = (performance.now() - started) / 1000
        const n = Math.min(responses, LATENCY_CAPACITY)
        const sorted = record ? latencyBuffer.subarray(0, n).sort() : null
        resolve({
          responses,
          requests: responses,
          // Counted by our listener and by autocannon; they should agree, take the larger.
          non2xx: Math.max(non2xx, result.non2xx),
          errors: result.errors,
          timeouts: result.timeouts,
          elapsed,
          p50: sorted ? percentile(sorted, 50) : NaN,
          p99: sorted ? percentile(sorted, 99) : NaN,
        })
      },
    )
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode > 299) non2xx++
      if (record && responses < LATENCY_CAPACITY) latencyBuffer[responses] = responseTime
      responses++
    })
  })
}

/**
 * The workloads: each checks the server's answers in full before any load (a problem string stops
 * the row), then returns the load to run for the warm-up and for the measurement.
 */
const RS_WRONG_AUTHORIZATION = `Basic ${Buffer.from(`${RS_CLIENT_ID}:not-the-secret`).toString('base64')}`

const WORK = {
  /** client_credentials with client_secret_basic; a wrong secret must get 401 (raw servers excepted). */
  async cc(port, srv, row) {
    const cc = ccRequest(srv, row.format)
    const ok = await post(port, srv.tokenPath, AUTHORIZATION, cc.body)
    const problem = cc.check(ok.status, ok.body)
    if (problem !== null) return { problem }
    if (srv.peer !== 'raw') {
      // A server that answers 200 to anyone is not doing the work being measured.
      const denied = await post(port, srv.tokenPath, WRONG_AUTHORIZATION, cc.body)
      if (denied.status !== 401) return { problem: `a wrong client secret got ${denied.status}, not 401` }
    }
    return { run: (seconds, record) => cannon(port, { path: srv.tokenPath, authorization: AUTHORIZATION, body: cc.body }, seconds, record) }
  },

  /**
   * The resource server client introspects one valid opaque client_credentials token of the other
   * client, over and over. Checked first: the answer is active with the token's client and scope,
   * a wrong secret gets 401, and an unknown token is inactive.
   */
  async introspect(port, srv) {
    const cc = ccRequest(srv, 'opaque')
    const issued = await post(port, srv.tokenPath, AUTHORIZATION, cc.body)
    const problem = cc.check(issued.status, issued.body)
    if (problem !== null) return { problem: `issuing the token: ${problem}` }
    const body = `token=${encodeURIComponent(JSON.parse(issued.body).access_token)}`
    const answer = await post(port, srv.introspectPath, RS_AUTHORIZATION, body)
    let parsed
    try {
      parsed = JSON.parse(answer.body)
    } catch {
      return { problem: `introspection answered ${answer.status} ${answer.body.slice(0, 200)}` }
    }
    if (answer.status !== 200 || parsed.active !== true || parsed.client_id !== CLIENT_ID || parsed.scope !== SCOPE) {
      return { problem: `introspection answered ${answer.status} ${answer.body.slice(0, 200)}` }
    }
    const denied = await post(port, srv.introspectPath, RS_WRONG_AUTHORIZATION, body)
    if (denied.status !== 401) return { problem: `introspection with a wrong secret got ${denied.status}, not 401` }
    const unknown = await post(port, srv.introspectPath, RS_AUTHORIZATION, `token=${'A'.repeat(43)}`)
    if (unknown.status !== 200 || JSON.parse(unknown.body).active !== false) return { problem: `an unknown token got ${unknown.status} ${unknown.body.slice(0, 200)}` }
    return { run: (seconds, record) => cannon(port, { path: srv.introspectPath, authorization: RS_AUTHORIZATION, body }, seconds, record) }
  },

  /**
   * refresh_token with rotation, chained: each connection starts from a refresh token of its own (one
   * code flow each, issued just before the warm-up and again just before the measurement, outside the
   * measured time) and sends, every time, the refresh token of its previous answer. A chain cut at the
   * end of the warm-up (its last answer never read) is therefore never continued. Issuing just before
   * matters for node-oidc-provider, whose in-memory adapter (an LRU of 1,000 entries) forgets an unused
   * token after about a thousand newer writes. Checked first: a refresh answers a new refresh token, and
   * the old one, used again, is refused (the rotation is real).
   */
  async refresh(port, srv) {
    let first
    try {
      ;[first] = await issueRefreshTokens(port, srv, 1)
    } catch (err) {
      return { problem: `issuing a refresh token through the code flow: ${err.message}` }
    }
    const rotated = await post(port, srv.tokenPath, WEB_AUTHORIZATION, refreshBody(first))
    const problem = checkTokenResponse('opaque', rotated.status, rotated.body, { opaque: srv.opaque, scope: FLOW_SCOPE, clientId: WEB_CLIENT_ID, refresh: true })
    if (problem !== null) return { problem: `refresh: ${problem}` }
    if (JSON.parse(rotated.body).refresh_token === first) return { problem: 'the refresh token was not rotated' }
    const reused = await post(port, srv.tokenPath, WEB_AUTHORIZATION, refreshBody(first))
    if (reused.status !== 400) return { problem: `a rotated-away refresh token got ${reused.status}, not 400` }
    let chains = []
    return {
      // Outside the measured window: one code flow per connection.
      before: async () => {
        chains = await issueRefreshTokens(port, srv, CONNECTIONS)
      },
      run: async (seconds, record) => {
        const failures = { broken: 0, firstError: undefined }
        const r = await cannon(port, { path: srv.tokenPath, authorization: WEB_AUTHORIZATION, body: refreshBody(chains[0]), setupClient: chainClient(chains, failures) }, seconds, record)
        r.errors += failures.broken
        r.firstError = failures.firstError
        return r
      },
    }
  },

  /** The whole code flow with PKCE, FLOW_WORKERS browsers at a time (flows.mjs). Checked first: one flow. */
  async flow(port, srv) {
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
      await codeFlow(agent, port, srv).finally(() => agent.destroy())
    } catch (err) {
      return { problem: `code flow: ${err.message}` }
    }
    return {
      run: async (seconds, record) => {
        const r = await runFlows(port, srv, { workers: FLOW_WORKERS, seconds, latencies: record ? latencyBuffer : undefined })
        const sorted = record ? latencyBuffer.subarray(0, Math.min(r.flows, LATENCY_CAPACITY)).sort() : null
        return {
          responses: r.flows,
          requests: r.requests,
          non2xx: 0,
          errors: r.errors,
          firstError: r.firstError,
          timeouts: 0,
          elapsed: r.elapsed,
          p50: sorted ? percentile(sorted, 50) : NaN,
          p99: sorted ? percentile(sorted, 99) : NaN,
        }
      },
    }
  },
}

const refreshBody = (token) => `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`

/** autocannon's setupClient for refresh chains: every connection takes a token and follows its answers. */
function chainClient(chains, failures) {
  return (client) => {
    const state = { token: chains.pop() }
    client.setRequests([
      {
        method: 'POST',
        setupRequest(req) {
          req.body = refreshBody(state.token ?? 'no-token-left')
          return req
        },
        onResponse(status, body) {
          if (status !== 200) {
            // Counted as non-2xx; the answer says why.
            failures.firstError ??= `${status} ${String(body).slice(0, 200)}`
            return
          }
          try {
            state.token = JSON.parse(body).refresh_token
          } catch {
            failures.broken++
          }
        },
      },
    ])
  }
}

async function measureHttp(t, pinned, rep) {
  const srv = SERVERS[t.server]
  const profile = PROFILE.includes(t.id) || PROFILE.includes(t.workload) || PROFILE.includes(t.server)
  const flags = profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${t.id}-rep${rep}.cpuprofile`] : []
  const spawnedAt = performance.now()
  const child = spawnPinned(pinned, srv.script, srv.args, true, flags)
  try {
    const { port } = await nextMessage(child, 'ready', 20_000)
    // Start-up: from spawn to the first successful answer (a client_credentials token).
    const probeFormat = Object.keys(srv.cc)[0]
    const probe = ccRequest(srv, probeFormat)
    const first = await post(port, srv.tokenPath, AUTHORIZATION, probe.body)
    const startupMs = performance.now() - spawnedAt
    const startRssMiB = procStatusMiB(child.pid, 'VmRSS')
    const probeProblem = probe.check(first.status, first.body)
    if (probeProblem !== null) return invalid(`first request: ${probeProblem}${stderrNote(child)}`)

    const plan = await WORK[t.work](port, srv, t)
    if (plan.problem !== undefined) return invalid(`preflight: ${plan.problem}${stderrNote(child)}`)
    const none = { non2xx: 0, errors: 0, timeouts: 0 }
    let warm = none
    if (WARMUP > 0) {
      await plan.before?.()
      warm = await plan.run(WARMUP, false)
    }
    await plan.before?.()

    const srv0 = await serverCpu(child)
    const db0 = srv.storage !== undefined ? dbCpuMs(srv.storage) : NaN
    const stat0 = readCpuStat()
    const gen0 = process.cpuUsage()
    const run = await plan.run(DURATION, true)
    const gen = process.cpuUsage(gen0)
    const stat1 = readCpuStat()
    const db1 = srv.storage !== undefined ? dbCpuMs(srv.storage) : NaN
    const srv1 = await serverCpu(child)
    // The database server's CPU is part of the work measured, not someone else's load.
    const dbMs = db1 - db0
    const load = otherLoad(stat0, stat1, (srv1.micros - srv0.micros + gen.user + gen.system) / 1000 + (Number.isFinite(dbMs) ? dbMs : 0))
    const peak = procStatusMiB(child.pid, 'VmHWM')

    const wallMs = srv1.at - srv0.at
    const problems = []
    const non2xx = run.non2xx + warm.non2xx
    const errors = run.errors + warm.errors
    const timeouts = run.timeouts + warm.timeouts
    const firstError = warm.firstError ?? run.firstError
    if (non2xx > 0) problems.push(`${non2xx} non-2xx responses${firstError !== undefined ? ` (first: ${firstError})` : ''}`)
    if (errors > 0) problems.push(`${errors} ${t.work === 'flow' ? 'failed flows' : 'connection or parse errors'}${firstError !== undefined ? ` (first: ${firstError})` : ''}`)
    if (timeouts > 0) problems.push(`${timeouts} timeouts`)
    if (run.responses === 0) problems.push('no responses')
    if (problems.length > 0 && child.stderrTail.trim() !== '') problems.push(stderrNote(child).trim())
    return {
      ...load,
      valid: problems.length === 0,
      problems,
      perSecond: run.responses / run.elapsed,
      requestsPerSecond: run.requests / run.elapsed,
      p50: run.p50,
      p99: run.p99,
      count: run.responses,
      serverCpu: ((srv1.micros - srv0.micros) / 1000 / wallMs) * 100,
      genCpu: ((gen.user + gen.system) / 1000 / (run.elapsed * 1000)) * 100,
      dbCpu: stat0 !== null && stat1 !== null ? (dbMs / (stat1.at - stat0.at)) * 100 : NaN,
      rssMiB: srv1.rss / 2 ** 20,
      peakRssMiB: peak,
      startRssMiB,
      startupMs,
    }
  } catch (err) {
    return invalid(`${err instanceof Error ? err.message : String(err)}${stderrNote(child)}`)
  } finally {
    await stopChild(child)
  }
}

// ---------------------------------------------------------------------------
// Report

function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const mid = v.length >> 1
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a'
}

function pct(n) {
  return Number.isFinite(n) ? `${n.toFixed(0)}%` : 'n/a'
}

function latencyDigits(ms) {
  return ms < 1 ? 3 : 2
}

function peerVersion(name) {
  try {
    return JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version
  } catch {
    return 'unknown'
  }
}

function rangeText(s) {
  return Number.isFinite(s.min) ? `${fmt(s.min)}–${fmt(s.max)}` : 'n/a'
}

function maxOf(values) {
  const v = values.filter(Number.isFinite)
  return v.length === 0 ? NaN : Math.max(...v)
}

function summarize(samples) {
  const ceilingRuns = samples.get('http-raw')
  const ceilingValid = ceilingRuns.every((r) => r.valid)
  const ceiling = median(ceilingRuns.map((r) => r.perSecond))
  return TARGETS.map((t) => {
    const runs = samples.get(t.id)
    const valid = runs.every((r) => r.valid)
    const perSecond = median(runs.map((r) => r.perSecond))
    const requestsPerSecond = median(runs.map((r) => r.requestsPerSecond))
    // For flows, the HTTP requests they made; for everything else that is the same number.
    const ratio = ceilingValid ? requestsPerSecond / ceiling : NaN
    let verdict = ''
    if (t.target !== undefined) verdict = !valid || !ceilingValid ? 'INVALID' : ratio >= t.target ? 'PASS' : 'MISS'
    else if (!valid) verdict = 'INVALID'
    const rates = runs.map((r) => r.perSecond).filter(Number.isFinite)
    return {
      t,
      valid,
      perSecond,
      requestsPerSecond,
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      ratio,
      verdict,
      min: Math.min(...rates),
      max: Math.max(...rates),
      serverCpu: median(runs.map((r) => r.serverCpu)),
      genCpu: median(runs.map((r) => r.genCpu)),
      dbCpu: median(runs.map((r) => r.dbCpu)),
      // Rate per second of the server's own CPU time: steadier than the rate when other processes take the core.
      perCpuSecond: median(runs.map((r) => r.perSecond / (r.serverCpu / 100))),
      peakRss: median(runs.map((r) => r.peakRssMiB)),
      peakRssMax: maxOf(runs.map((r) => r.peakRssMiB)),
      startupMs: median(runs.map((r) => r.startupMs)),
      other: maxOf(runs.map((r) => r.other)),
      problems: [...new Set(runs.flatMap((r) => r.problems))],
    }
  })
}

const HEAD = ['measurement', 'req/s (median)', 'min–max', 'p50 ms', 'p99 ms', 'ratio to ceiling', 'target', 'result', 'server CPU', 'loadgen CPU', 'other load (max)']

function rowCells(s) {
  return [
    s.t.label,
    fmt(s.perSecond),
    rangeText(s),
    fmt(s.p50, latencyDigits(s.p50)),
    fmt(s.p99, latencyDigits(s.p99)),
    fmt(s.ratio, 2),
    s.t.target !== undefined ? `≥ ${s.t.target.toFixed(2)}` : '',
    s.verdict,
    pct(s.serverCpu),
    s.t.kind === 'http' ? pct(s.genCpu) : '',
    pct(s.other),
  ]
}

const PEER_ORDER = [PEER_GRANTKIT, PEER_OIDC, PEER_NODE_OAUTH, PEER_GRANTKIT_NOHASH]
const PEER_HEAD = [
  'workload',
  'server',
  'rate (median)',
  'min–max',
  'p50 ms',
  'p99 ms',
  'ratio to best peer',
  'ratio to ceiling',
  'per server CPU-second',
  'ratio to best peer per CPU-second',
  'peak RSS MiB',
  'start-up ms',
  'server CPU',
  'loadgen CPU',
  'other load (max)',
]

/** Rows of the peers table: per workload, grantkit then the peers; n/a where a peer has no such endpoint. */
function peerRows(summary) {
  const out = []
  for (const w of WORKLOADS) {
    const measured = summary.filter((s) => s.t.workload === w.id)
    if (measured.length === 0) continue
    const peers = measured.filter((s) => s.t.peer !== PEER_GRANTKIT && s.t.whatIf !== true && s.t.storage === undefined && s.valid)
    const best = peers.length === 0 ? NaN : Math.max(...peers.map((s) => s.perSecond))
    const bestPerCpu = peers.length === 0 ? NaN : Math.max(...peers.map((s) => s.perCpuSecond))
    for (const peer of PEER_ORDER) {
      const s = measured.find((m) => m.t.peer === peer)
      const na = NOT_APPLICABLE.find((n) => n.workload === w.id && n.peer === peer)
      if (s === undefined) {
        if (na !== undefined) out.push([w.label, peer, `n/a (${na.why})`, ...PEER_HEAD.slice(3).map(() => '')])
        continue
      }
      const rate = `${fmt(s.perSecond)} ${w.unit}${w.unit !== 'req/s' && Number.isFinite(s.requestsPerSecond) ? ` (${fmt(s.requestsPerSecond)} req/s)` : ''}`
      out.push([
        w.label,
        peer,
        s.valid ? rate : `${rate} INVALID`,
        rangeText(s),
        fmt(s.p50, latencyDigits(s.p50)),
        fmt(s.p99, latencyDigits(s.p99)),
        Number.isFinite(best) && s.valid ? `${fmt(s.perSecond / best, 2)}×` : 'n/a',
        fmt(s.ratio, 2),
        fmt(s.perCpuSecond),
        Number.isFinite(bestPerCpu) && s.valid ? `${fmt(s.perCpuSecond / bestPerCpu, 2)}×` : 'n/a',
        fmt(s.peakRss, 0),
        fmt(s.startupMs, 0),
        pct(s.serverCpu),
        pct(s.genCpu),
        pct(s.other),
      ])
    }
  }
  return out
}

/**
 * Facts from this run that explain the two targets that depend most on the setup: how much of a
 * grantkit code flow is the password hash (from the what-if row), and how much each server had
 * stored when its peak RSS was read.
 */
function peerNotes(summary, samples) {
  const notes = []
  const flow = (peer) => summary.find((s) => s.t.workload === 'flow' && s.t.peer === peer)
  const gk = flow(PEER_GRANTKIT)
  const nohash = flow(PEER_GRANTKIT_NOHASH)
  const op = flow(PEER_OIDC)
  if (gk?.valid && nohash?.valid && op?.valid) {
    const msPerFlow = (s) => 1000 / s.perCpuSecond
    notes.push(
      `Code flow, CPU per flow: grantkit ${fmt(msPerFlow(gk), 2)} ms, of which the scrypt check of the password about ` +
        `${fmt(msPerFlow(gk) - msPerFlow(nohash), 2)} ms (${fmt((1 - msPerFlow(nohash) / msPerFlow(gk)) * 100)}%; the what-if row takes ${fmt(msPerFlow(nohash), 2)} ms); ` +
        `node-oidc-provider ${fmt(msPerFlow(op), 2)} ms with no password check. Without the hash grantkit does ${fmt(nohash.perCpuSecond / op.perCpuSecond, 1)}× ` +
        `node-oidc-provider's flows per CPU-second; with the same scrypt added to node-oidc-provider it would be about ` +
        `${fmt((msPerFlow(op) + msPerFlow(gk) - msPerFlow(nohash)) / msPerFlow(gk), 1)}× (an estimate).`,
    )
  }
  const served = (t) => median(samples.get(t.id).map((r) => r.perSecond)) * (WARMUP + DURATION)
  const peakRow = (peer) =>
    TARGETS.filter((t) => t.workload !== undefined && t.peer === peer && t.workload !== 'flow')
      .map((t) => ({ t, mib: maxOf(samples.get(t.id).map((r) => r.peakRssMiB)), start: median(samples.get(t.id).map((r) => r.startRssMiB)) }))
      .sort((a, b) => b.mib - a.mib)[0]
  const g = peakRow(PEER_GRANTKIT)
  const o = peakRow(PEER_OIDC)
  if (g !== undefined && o !== undefined && Number.isFinite(g.mib) && Number.isFinite(o.mib)) {
    notes.push(
      `Peak RSS: grantkit's highest is in ${g.t.workload} (${fmt(g.mib, 1)} MiB after about ${fmt(served(g.t))} requests, each of which stores tokens until they expire), ` +
        `node-oidc-provider's in ${o.t.workload} (${fmt(o.mib, 1)} MiB after about ${fmt(served(o.t))} requests; its in-memory adapter keeps at most about 1,000 entries). ` +
        `RSS right after start: grantkit ${fmt(g.start, 1)} MiB, node-oidc-provider ${fmt(o.start, 1)} MiB (${fmt(g.start / o.start, 2)}×).`,
    )
  }
  return notes
}

/** PASS/MISS per target of grantkit against node-oidc-provider in the same run. */
function peerVerdicts(summary, samples) {
  const lines = []
  for (const w of WORKLOADS) {
    const gk = summary.find((s) => s.t.workload === w.id && s.t.peer === PEER_GRANTKIT)
    const op = summary.find((s) => s.t.workload === w.id && s.t.peer === PEER_OIDC)
    if (gk === undefined || op === undefined) continue
    const ratio = gk.perSecond / op.perSecond
    const verdict = !gk.valid || !op.valid ? 'INVALID' : ratio >= w.target ? 'PASS' : 'MISS'
    const perCpu = gk.perCpuSecond / op.perCpuSecond
    lines.push({
      verdict,
      text: `${w.label}: grantkit ${fmt(gk.perSecond)} vs node-oidc-provider ${fmt(op.perSecond)} ${w.unit} = ${fmt(ratio, 2)}× (target ≥ ${w.target}×; per server CPU-second ${fmt(perCpu, 2)}×)`,
    })
  }
  const peak = (peer) => {
    const runs = TARGETS.filter((t) => t.workload !== undefined && t.peer === peer).flatMap((t) => samples.get(t.id))
    return { mib: maxOf(runs.map((r) => r.peakRssMiB)), valid: runs.length > 0 && runs.every((r) => r.valid) }
  }
  const gk = peak(PEER_GRANTKIT)
  const op = peak(PEER_OIDC)
  if (Number.isFinite(gk.mib) && Number.isFinite(op.mib)) {
    const ratio = gk.mib / op.mib
    const verdict = !gk.valid || !op.valid ? 'INVALID' : ratio <= RSS_TARGET ? 'PASS' : 'MISS'
    lines.push({ verdict, text: `peak RSS (highest VmHWM over the workloads both run): grantkit ${fmt(gk.mib, 1)} MiB vs node-oidc-provider ${fmt(op.mib, 1)} MiB = ${fmt(ratio, 2)}× (target ≤ ${RSS_TARGET}×)` })
  }
  return lines
}

/** Per server configuration: start-up time (median over every start) and the highest peak RSS of its runs. */
function serverRows(samples) {
  const out = []
  for (const [id, srv] of Object.entries(SERVERS)) {
    const rows = TARGETS.filter((t) => t.server === id)
    if (rows.length === 0) continue
    const runs = rows.flatMap((t) => samples.get(t.id))
    const highest = rows.map((t) => ({ t, mib: maxOf(samples.get(t.id).map((r) => r.peakRssMiB)) })).sort((a, b) => b.mib - a.mib)[0]
    out.push([
      `${srv.peer} (${[basenameOf(srv.script), ...(srv.storage !== undefined ? srv.args.slice(0, 1) : srv.args)].join(' ')})`,
      `${fmt(median(runs.map((r) => r.startupMs)), 0)}`,
      fmt(median(runs.map((r) => r.startRssMiB)), 1),
      `${fmt(Math.min(...runs.map((r) => r.startupMs).filter(Number.isFinite)), 0)}–${fmt(maxOf(runs.map((r) => r.startupMs)), 0)}`,
      fmt(highest.mib, 1),
      highest.t.workload ?? highest.t.id,
      String(runs.length),
    ])
  }
  return out
}
/** The storage rows against the memory rows of the same workload, in the same run. */
function storageRows(summary) {
  const out = []
  const verdicts = []
  for (const w of WORKLOADS) {
    const rows = summary.filter((s) => s.t.workload === w.id && s.t.storage !== undefined)
    if (rows.length === 0) continue
    const memory = summary.find((s) => s.t.id === rows[0].t.memory)
    const line = (s, name, ratio, target, verdict) => [
      w.label,
      name,
      `${fmt(s.perSecond)}${s.valid ? '' : ' INVALID'}`,
      rangeText(s),
      fmt(s.p50, latencyDigits(s.p50)),
      fmt(s.p99, latencyDigits(s.p99)),
      ratio,
      target,
      verdict,
      fmt(s.perCpuSecond),
      pct(s.serverCpu),
      pct(s.dbCpu),
      pct(s.genCpu),
      pct(s.other),
    ]
    if (memory !== undefined) out.push(line(memory, 'memory', '1.00', '', ''))
    for (const s of rows) {
      const target = SERVERS[s.t.server].storageTarget
      const ratio = memory !== undefined && memory.valid ? s.perSecond / memory.perSecond : NaN
      const verdict = !s.valid || memory === undefined || !memory.valid ? 'INVALID' : ratio >= target ? 'PASS' : 'MISS'
      const name = s.t.storage === 'postgres' ? 'PostgreSQL' : 'Redis'
      out.push(line(s, name, fmt(ratio, 2), `≥ ${target.toFixed(2)}`, verdict))
      verdicts.push({
        verdict,
        text: `${w.label}, ${name} storage: ${fmt(s.perSecond)} vs memory ${fmt(memory?.perSecond)} req/s = ${fmt(ratio, 2)} of memory (target ≥ ${target}; ${name} server CPU ${pct(s.dbCpu)} of a core, not pinned)`,
      })
    }
  }
  return { rows: out, verdicts }
}
const STORAGE_HEAD = ['workload', 'storage', 'req/s (median)', 'min–max', 'p50 ms', 'p99 ms', 'ratio to memory', 'target', 'result', 'per server CPU-second', 'server CPU', 'database server CPU (not pinned)', 'loadgen CPU', 'other load (max)']

const SERVER_HEAD = ['server', 'start-up ms (median)', 'RSS after start MiB (median)', 'start-up min–max', 'highest peak RSS MiB', 'in workload', 'starts']
const basenameOf = (path) => path.split('/').pop()

function textTable(head, rows) {
  const all = [head, ...rows]
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)))
  const line = (r) => r.map((c, i) => (i <= 1 && (head === PEER_HEAD || head === STORAGE_HEAD) ? c.padEnd(widths[i]) : i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [line(all[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function markdownTable(head, rows, left = 1) {
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < left ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

function perRunTable(samples) {
  const head = ['measurement', ...Array.from({ length: REPS }, (_, i) => `rep ${i + 1} per s`), 'peak RSS MiB per rep', 'start-up ms per rep']
  const rows = TARGETS.map((t) => [
    t.label,
    ...samples.get(t.id).map((r) => `${fmt(r.perSecond)}${r.valid ? '' : ' (invalid)'}${r.other > OTHER_LOAD_LIMIT ? ` (other load ${fmt(r.other)}%)` : ''}`),
    samples.get(t.id).map((r) => fmt(r.peakRssMiB, 0)).join(', '),
    samples.get(t.id).map((r) => fmt(r.startupMs, 0)).join(', '),
  ])
  return markdownTable(head, rows)
}

function commandLine() {
  const overrides = ['BENCH_QUICK', 'BENCH_REPS', 'BENCH_DURATION', 'BENCH_WARMUP', 'BENCH_CORE_SECONDS', 'BENCH_CONNECTIONS', 'BENCH_FLOW_WORKERS', 'BENCH_QUIET_BUDGET', 'BENCH_ONLY', 'BENCH_PROFILE', 'BENCH_SCRYPT_N', 'GRANTKIT_DIST', 'BENCH_STORAGE', 'BENCH_PG_URL', 'BENCH_REDIS_URL']
    .filter((k) => process.env[k] !== undefined && process.env[k] !== '')
    .map((k) => `${k}=${process.env[k]}`)
  const base = process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : 'node bench/run.mjs'
  return [...overrides, base].join(' ')
}

// ---------------------------------------------------------------------------
// Main

const missing = missingDistFiles()
if (missing.length > 0) {
  console.error(`bench: the built package is missing (${missing.map((f) => relative(ROOT, f)).join(', ')}). Run \`npm run bench\`, which builds it first.`)
  process.exit(2)
}

const machine = machineInfo()
const pinned = setUpPinning(machine.nproc)
const startedAt = new Date()
// Start-up, preflight and the refresh tokens' code flows cost about 2.5 s per HTTP row on a loaded machine.
const estimate = Math.round(REPS * TARGETS.reduce((sum, t) => sum + (t.kind === 'core' ? WARMUP + CORE_SECONDS + 0.5 : WARMUP + DURATION + 2.5), 0))
console.error(
  `grantkit bench: ${REPS} repetitions × ${TARGETS.length} measurements, interleaved; HTTP ${DURATION} s per run, ` +
    `${CONNECTIONS} connections, pipelining ${PIPELINING}, ${FLOW_WORKERS} code-flow browsers; about ${estimate} s. ` +
    (pinned ? `Servers on CPU ${SERVER_CPU}, load generator on CPU ${LOADGEN_CPU}.` : 'Not pinned.'),
)
if (REPS < 3) warn(`BENCH_REPS=${REPS}: fewer than 3 repetitions, medians are not meaningful`)
if (PROFILE.length > 0) warn(`BENCH_PROFILE=${PROFILE.join(',')}: those servers ran under --cpu-prof (slower); profiles in ${relative(ROOT, PROFILE_DIR)}`)

const samples = new Map(TARGETS.map((t) => [t.id, []]))
// Time this run may spend waiting for a quiet machine and repeating disturbed runs, in ms.
let patience = QUIET_BUDGET * 1000
let retried = 0
const measure = (t, rep) => (t.kind === 'core' ? measureCore(t, pinned) : measureHttp(t, pinned, rep))
const idWidth = Math.max(...TARGETS.map((t) => t.id.length))
const benchStarted = performance.now()
for (let rep = 1; rep <= REPS; rep++) {
  for (const t of TARGETS) {
    patience -= await waitForQuiet(patience)
    let r = await measure(t, rep)
    // Someone else's build landed on our cores: measure again once, if the budget allows.
    const cost = (t.kind === 'core' ? WARMUP + CORE_SECONDS : WARMUP + DURATION + 2) * 1000
    if (r.valid && r.other > OTHER_LOAD_LIMIT && patience >= cost) {
      console.error(`  [${rep}/${REPS}] ${t.id.padEnd(idWidth)} disturbed (other load ${fmt(r.other)}%), measuring again`)
      patience -= cost
      patience -= await waitForQuiet(patience)
      r = await measure(t, rep)
      retried++
    }
    samples.get(t.id).push(r)
    const note = r.valid ? '' : `  INVALID: ${r.problems.join('; ')}`
    const unit = t.work === 'flow' ? 'flows/s' : '/s'
    console.error(
      `  [${rep}/${REPS}] ${t.id.padEnd(idWidth)} ${fmt(r.perSecond).padStart(7)} ${unit}  p50 ${fmt(r.p50, latencyDigits(r.p50))} ms  ` +
        `p99 ${fmt(r.p99, latencyDigits(r.p99))} ms  server CPU ${pct(r.serverCpu)}${Number.isFinite(r.dbCpu) ? `  ${t.storage} CPU ${pct(r.dbCpu)}` : ''}  loadgen ${pct(r.genCpu)}  other load ${pct(r.other)}` +
        `${Number.isFinite(r.peakRssMiB) ? `  peak RSS ${fmt(r.peakRssMiB)} MiB  start-up ${fmt(r.startupMs)} ms` : ''}${note}`,
    )
  }
}
const benchSeconds = (performance.now() - benchStarted) / 1000
await cleanUpStorage()

const summary = summarize(samples)
const ceiling = summary.find((s) => s.t.id === 'http-raw')
const anyInvalid = summary.some((s) => !s.valid)
if (pinned && ceiling.valid && ceiling.serverCpu < 90) {
  warn(`the raw ceiling used only ${fmt(ceiling.serverCpu)}% of its core: the load generator may be the limit, so ratios are optimistic`)
}
for (const s of summary) {
  // A server that does not fill its core is waiting for the load generator (or for scrypt's thread pool).
  if (pinned && s.t.kind === 'http' && s.t.id !== 'http-raw' && s.valid && s.serverCpu < 85) {
    warn(
      s.t.storage !== undefined
        ? `${s.t.label}: the server used only ${fmt(s.serverCpu)}% of its core (${s.t.storage} server ${pct(s.dbCpu)}, loadgen ${pct(s.genCpu)}): it waits for the database, which is not pinned`
        : `${s.t.label}: the server used only ${fmt(s.serverCpu)}% of its core (loadgen ${pct(s.genCpu)}): its rate may be limited by the load generator`,
    )
  }
}

const allRuns = [...samples.values()].flat()
const busyRuns = allRuns.filter((r) => r.other > OTHER_LOAD_LIMIT)
if (busyRuns.length > 0) {
  warn(
    `${busyRuns.length} of ${allRuns.length} runs shared the CPUs with other processes or a busy host (up to ${fmt(Math.max(...busyRuns.map((r) => r.other)))}% of a core; ` +
      `limit ${OTHER_LOAD_LIMIT}%): those numbers are low and noisy. Rerun on a quiet machine`,
  )
}

const coreSummary = summary.filter((s) => s.t.table === 'core')
const coreRows = coreSummary.map(rowCells)
const pRows = peerRows(summary)
const sRows = serverRows(samples)
const verdicts = peerVerdicts(summary, samples)
const notes = peerNotes(summary, samples)
const storage = storageRows(summary)

console.log('')
console.log(textTable(HEAD, coreRows))
console.log('')
for (const s of coreSummary) {
  if (s.t.target !== undefined) console.log(`${s.verdict.padEnd(7)} ${s.t.label}: ${fmt(s.ratio, 3)} of the ceiling (target ≥ ${s.t.target.toFixed(2)})`)
}
const jwtFloor = summary.find((s) => s.t.id === 'http-raw-es256')
const jwtHttp = summary.find((s) => s.t.id === 'http-jwt')
const floorLine =
  jwtFloor !== undefined && jwtHttp !== undefined
    ? `HTTP JWT reaches ${fmt(jwtHttp.perSecond / jwtFloor.perSecond, 2)} of raw node:http + ES256 sign, which itself reaches ${fmt(jwtFloor.ratio, 2)} of the ceiling`
    : ''
if (floorLine !== '') console.log(floorLine)
if (pRows.length > 0) {
  console.log('')
  console.log(textTable(PEER_HEAD, pRows))
  console.log('')
  for (const v of verdicts) console.log(`${v.verdict.padEnd(7)} ${v.text}`)
  for (const n of notes) console.log(`note: ${n}`)
  console.log('')
  console.log(textTable(SERVER_HEAD, sRows))
}
if (storage.rows.length > 0) {
  console.log('')
  console.log(textTable(STORAGE_HEAD, storage.rows))
  console.log('')
  for (const v of storage.verdicts) console.log(`${v.verdict.padEnd(7)} ${v.text}`)
  console.log(`note: the database servers are not pinned (they run on whichever CPU is free, the load generator's included); their CPU is shown apart and is not counted as other load`)
}
for (const s of summary) {
  if (!s.valid) console.log(`INVALID ${s.t.label}: ${s.problems.join('; ')}`)
}

const settings =
  `${REPS} repetitions, interleaved; in-process ${CORE_SECONDS} s per run; HTTP ${DURATION} s per run, ${CONNECTIONS} connections, pipelining ${PIPELINING}; ` +
  `code flow ${FLOW_WORKERS} browsers; ${WARMUP} s warm-up before each run, a fresh server process per run; scrypt N=${SCRYPT_COST.N} r=${SCRYPT_COST.r} p=${SCRYPT_COST.p} for the user's password; ` +
  `the whole measurement took ${fmt(benchSeconds)} s`
const md = `# grantkit benchmark results

Written by \`bench/run.mjs\`; see [README.md](README.md) for what is measured. Regenerate with the command below.

- Command: \`${commandLine()}\`
- Date: ${startedAt.toISOString()}
- Node: ${machine.node}
- Machine: ${machine.nproc} CPUs (nproc), ${machine.cpuModel}; ${machine.kernel}
- Pinning: ${pinned ? `servers under test on CPU ${SERVER_CPU} (\`taskset -c ${SERVER_CPU}\`), load generator on CPU ${LOADGEN_CPU}` : 'none (see warnings)'}
- Build measured: \`${relative(ROOT, DIST_DIR) || '.'}\` at commit ${machine.commit}
- Peers: node-oidc-provider ${peerVersion('oidc-provider')}, @node-oauth/oauth2-server ${peerVersion('@node-oauth/oauth2-server')} with express ${peerVersion('express')}
- Settings: ${settings}

Medians over the repetitions. Latencies are per request (per whole flow for the code flow): in-process from the call of \`server.handle\`
to its result; HTTP as the load generator sees them. "Ratio to ceiling" is HTTP requests per second divided by the raw
node:http endpoint's (for the code flow, the requests its flows made). "Server CPU" is the CPU time of the process under
test over wall time (100% = its core saturated); "loadgen CPU" that of the load generator; "other load" the CPU
that other processes used or the hypervisor stole during the run (from /proc/stat), highest over the repetitions.
Runs disturbed by other load: ${retried} measured again.

## grantkit against the raw node:http ceiling

${floorLine === '' ? '' : `${floorLine}.\n\n`}${markdownTable(HEAD, coreRows)}

${coreSummary.filter((s) => s.t.target !== undefined).map((s) => `- **${s.verdict}** ${s.t.label}: ${fmt(s.ratio, 3)} of the ceiling (target ≥ ${s.t.target.toFixed(2)})`).join('\n')}

## Side by side with the peers

Same clients, same user, same requests, one server at a time on the same core. "Ratio to best peer" is the
rate divided by the best of node-oidc-provider and @node-oauth/oauth2-server in the same workload. Targets
compare grantkit with node-oidc-provider. Peak RSS is VmHWM of the server process at the end of its run
(median over the repetitions); start-up is from spawn to the first successful token response.

${pRows.length === 0 ? '(no peer rows measured)' : markdownTable(PEER_HEAD, pRows, 2)}

${verdicts.map((v) => `- **${v.verdict}** ${v.text}`).join('\n')}

${notes.map((n) => `- ${n}`).join('\n')}

${sRows.length === 0 ? '' : markdownTable(SERVER_HEAD, sRows)}

## Durable storage: PostgreSQL and Redis beside memory

The same grantkit opaque server (\`server.mjs opaque-pg\` / \`opaque-redis\`) with \`createPostgresStorage\` or \`createRedisStorage\`
instead of the default memory storage, measured in the same repetitions, interleaved with the rows above (same
server on CPU ${SERVER_CPU}, load on CPU ${LOADGEN_CPU}). **The database servers themselves are not pinned**: they run on whichever
CPU is free, the load generator's included; their CPU over the run is shown apart ("database server CPU", summed over
their processes from /proc) and is not counted as other load. Tables under the prefix \`${PG_PREFIX}\` and keys under
\`${REDIS_PREFIX}\` were created for this run and removed after it. Targets, informational: Redis ≥ 0.7 and PostgreSQL ≥ 0.4 of
memory.

${storage.rows.length === 0 ? `(no storage rows measured${STORAGE_ON ? '; see warnings' : ': BENCH_STORAGE=0'})` : markdownTable(STORAGE_HEAD, storage.rows, 2)}

${storage.verdicts.map((v) => `- **${v.verdict}** ${v.text}`).join('\n')}

${anyInvalid ? `**INVALID:** ${summary.filter((s) => !s.valid).map((s) => `${s.t.label} (${s.problems.join('; ').replace(/\n\s*/g, ' / ')})`).join('; ')}\n\n` : ''}${warnings.length > 0 ? `Warnings:\n\n${warnings.map((w) => `- ${w}`).join('\n')}\n\n` : ''}Every run:

${perRunTable(samples)}
`
mkdirSync(dirname(RESULTS_FILE), { recursive: true })
writeFileSync(RESULTS_FILE, md)
console.log(`\nwritten to ${relative(ROOT, RESULTS_FILE)}`)
process.exit(anyInvalid ? 1 : 0)
