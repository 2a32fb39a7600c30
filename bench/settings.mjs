// Every setting of a benchmark run, read once from the environment (see README.md, "Settings").
// A setting that is not a number, or is out of range, stops the run before anything starts.
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'

const on = (name) => process.env[name] !== undefined && process.env[name] !== '' && process.env[name] !== '0'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** BENCH_QUICK: a short run of every row while developing (1 repetition, 2 s runs); not for numbers. */
export const QUICK = on('BENCH_QUICK')
/**
 * BENCH_SMOKE: proves the benchmark works end to end in well under a minute: a few rows (SMOKE_ROWS in
 * rows.mjs), 1 s runs, few connections, no waiting for a quiet machine. Its numbers mean nothing.
 */
export const SMOKE = on('BENCH_SMOKE')

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

/** The first of the smoke, quick and full defaults that applies. */
const pick = (smoke, quick, full) => (SMOKE ? smoke : QUICK ? quick : full)

export const REPS = Math.floor(setting('BENCH_REPS', pick(1, 1, 3), 1))
export const DURATION = setting('BENCH_DURATION', pick(1, 2, 3), 1)
export const WARMUP = setting('BENCH_WARMUP', pick(0.2, 0.5, 1), 0)
export const CORE_SECONDS = setting('BENCH_CORE_SECONDS', pick(0.5, 1, 3), 0.5)
export const CONNECTIONS = Math.floor(setting('BENCH_CONNECTIONS', pick(4, 20, 20), 1))
export const FLOW_WORKERS = Math.floor(setting('BENCH_FLOW_WORKERS', pick(2, 10, 10), 1))
export const PIPELINING = 1
/** Connections of the login flood (workloads/logins.mjs). */
export const FLOOD_CONNECTIONS = Math.floor(setting('BENCH_FLOOD_CONNECTIONS', pick(4, 32, 32), 1))
/** % of one core used by other processes during a run above which the run is flagged. */
export const OTHER_LOAD_LIMIT = 10
/** Seconds, over the whole run, that may go to waiting for a quiet machine and repeating disturbed runs. */
export const QUIET_BUDGET = setting('BENCH_QUIET_BUDGET', pick(0, 5, 30), 0)
export const SERVER_CPU = '0'
export const LOADGEN_CPU = '1'

// Durable storage rows: grantkit's opaque server with PostgreSQL or Redis storage instead of memory.
// Every run uses its own table prefix and key prefix, and drops / deletes them at the end.
export const STORAGE_ON = !['0', 'false', 'no', 'off'].includes((process.env.BENCH_STORAGE ?? '').toLowerCase())
export const PG_URL = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379'
const RUN_ID = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
/** grantkit's checkTablePrefix: lower-case letters, digits and "_", at most 24 characters. */
export const PG_PREFIX = `gkbench_${RUN_ID}_`
export const REDIS_PREFIX = `gkbench:${RUN_ID}:`

const list = (name) => (process.env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean)
/** BENCH_ONLY: row ids, workloads, servers or peers to measure (and the ceiling). */
export const ONLY = list('BENCH_ONLY')
/** BENCH_PROFILE: rows (ids, workloads or servers) whose server runs under --cpu-prof; profiles go to PROFILE_DIR. */
export const PROFILE = list('BENCH_PROFILE')
export const PROFILE_DIR = fileURLToPath(new URL('../.bench-tmp/prof/', import.meta.url))

// A partial run (BENCH_ONLY) or a smoke run must not replace the results of a whole one.
export const RESULTS_FILE = fileURLToPath(
  ONLY.length > 0
    ? new URL('../.bench-tmp/RESULTS.partial.md', import.meta.url)
    : SMOKE
      ? new URL('../.bench-tmp/RESULTS.smoke.md', import.meta.url)
      : new URL('./RESULTS.md', import.meta.url),
)

/** The environment variables a run was given, as they go into RESULTS.md's command line. */
export const SETTING_NAMES = [
  'BENCH_QUICK',
  'BENCH_SMOKE',
  'BENCH_REPS',
  'BENCH_DURATION',
  'BENCH_WARMUP',
  'BENCH_CORE_SECONDS',
  'BENCH_CONNECTIONS',
  'BENCH_FLOW_WORKERS',
  'BENCH_QUIET_BUDGET',
  'BENCH_ONLY',
  'BENCH_PROFILE',
  'BENCH_ARGON2',
  'BENCH_FLOOD_CONNECTIONS',
  'GRANTKIT_DIST',
  'BENCH_STORAGE',
  'BENCH_PG_URL',
  'BENCH_REDIS_URL',
]
