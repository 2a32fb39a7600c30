import type { ServerContext } from '../context.js'
import { StorageNotMigratedError, StorageUnavailableError } from '../errors.js'
import { contextOf, type AuthorizationServer } from '../server.js'
import { summarizeError } from './error-summary.js'
import { writeLog } from './logger.js'

/** The outcome of one check. */
export interface HealthCheck {
  status: 'ok' | 'fail'
  /**
   * Why it failed, in grantkit's words: safe to show on a readiness endpoint.
   * The underlying error's message (host names, driver text) goes only to the
   * server's `logger`, at warn.
   */
  detail?: string
}

/** What `checkHealth` found: `ok` when every check is. */
export interface HealthReport {
  status: 'ok' | 'fail'
  checks: {
    /** Reachable and migrated (`Storage.probe`, or a lookup of a token that does not exist). */
    storage: HealthCheck
    /** A signing key is loaded and usable now. */
    keys: HealthCheck
  }
}

/** Options of `checkHealth`. */
export interface HealthOptions {
  /** Seconds a check may take before it counts as failed. Default 2. */
  timeout?: number
}

/** Hash looked up by the fallback storage check: no token hashes to it (a SHA-256 in base64url has 43 characters). */
const PROBE_HASH = 'grantkit-health-probe'

/**
 * Whether the server can serve requests now, for a readiness endpoint: its
 * storage answers and is migrated, and its signing keys are loaded. Each
 * check is bounded by `timeout`, so a hung database makes it fail, never
 * hang. A failing check is reported, never thrown.
 *
 * @example
 * app.get('/readyz', async (_req, res) => {
 *   const health = await checkHealth(server)
 *   res.status(health.status === 'ok' ? 200 : 503).json(health)
 * })
 */
export async function checkHealth(server: AuthorizationServer, options: HealthOptions = {}): Promise<HealthReport> {
  const ctx = contextOf(server)
  const timeout = options.timeout ?? 2
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) throw new TypeError('timeout: must be a positive number of seconds')
  const [storage, keys] = await Promise.all([
    bounded(ctx, 'storage', timeout, () => probeStorage(ctx)),
    bounded(ctx, 'keys', timeout, async () => checkKeys(ctx)),
  ])
  return { status: storage.status === 'ok' && keys.status === 'ok' ? 'ok' : 'fail', checks: { storage, keys } }
}

async function probeStorage(ctx: ServerContext): Promise<void> {
  const storage = ctx.storage
  if (typeof storage.probe === 'function') return storage.probe()
  // A custom storage without a probe: one read, which reaches the database as every request does.
  await storage.accessTokens.find(PROBE_HASH)
}

function checkKeys(ctx: ServerContext): void {
  const now = ctx.now()
  const key = ctx.keys.signingKey(now)
  if (key === undefined || typeof key.kid !== 'string') throw new Error('the key store returned no signing key')
  if (ctx.keys.publishedKeys(now).length === 0) throw new Error('the key store publishes no key')
}

/** Runs one check within `timeout` seconds; a failure becomes its report, and its error a warn line. */
async function bounded(ctx: ServerContext, check: 'storage' | 'keys', timeout: number, work: () => Promise<void>): Promise<HealthCheck> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeout * 1000)
  })
  try {
    const outcome = await Promise.race([work().then(() => 'done' as const), late])
    if (outcome === 'late') return failed(ctx, check, { status: 'fail', detail: `no answer within ${timeout} s` }, undefined)
    return { status: 'ok' }
  } catch (error) {
    return failed(ctx, check, { status: 'fail', detail: describe(check, error) }, error)
  } finally {
    clearTimeout(timer)
  }
}

function failed(ctx: ServerContext, check: string, result: HealthCheck, error: unknown): HealthCheck {
  if (ctx.logger !== undefined) {
    const line: Record<string, unknown> = { check, detail: result.detail }
    if (error !== undefined) line.err = summarizeError(error)
    writeLog(ctx.logger, error instanceof StorageNotMigratedError ? 'error' : 'warn', line, `health check failed: ${check}`)
  }
  return result
}

/** The failure in words fit for a public readiness answer: grantkit's own messages say what to do; a driver's stay in the log. */
function describe(check: 'storage' | 'keys', error: unknown): string {
  if (error instanceof StorageNotMigratedError) return `not migrated: ${error.message}`
  if (error instanceof StorageUnavailableError) return 'unreachable'
  if (check === 'keys') return 'no usable signing key'
  const name = error instanceof Error ? error.name : 'error'
  // grantkit's own schema and layout errors say what to do and name no host.
  if (name === 'SchemaVersionError' || name === 'RedisLayoutError') return (error as Error).message
  return `probe failed (${name})`
}
