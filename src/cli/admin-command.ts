import { userInfo } from 'node:os'
import type { AuditActor } from '../admin/audit.js'
import { AdminError } from '../admin/http.js'
import { ClientManagementError } from '../clients/manager.js'
import type { ServerContext } from '../context.js'
import type { GrantkitEvent } from '../events/events.js'
import { createAuthorizationServer } from '../index.js'
import { contextOf } from '../server.js'
import { ENV, envValue, type Env } from './env.js'
import { CliError, EXIT_USAGE } from './errors.js'
import { openStorage } from './storage.js'

/**
 * What the `grantkit clients` and `grantkit grants` commands share: their
 * flags, the storage they work on (the one `serve` uses) and the audit of
 * what they change.
 */

/** The flags of one command: valued ones, those that may repeat, switches without a value. */
export interface FlagSpec {
  values: readonly string[]
  repeat?: readonly string[]
  switches?: readonly string[]
}

/** Parsed flags (every value of each, in order) and the positional arguments. */
export interface ParsedFlags {
  flags: Map<string, string[]>
  positionals: string[]
}

/** Reads `--flag value`, `--flag=value` and switches; a flag not in `repeat` at most once. */
export function readCommandFlags(label: string, rest: readonly string[], spec: FlagSpec): ParsedFlags {
  const flags = new Map<string, string[]>()
  const positionals: string[] = []
  const switches = spec.switches ?? []
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    if (!arg.startsWith('--')) {
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg : arg.slice(0, eq)
    const seen = flags.get(name) ?? []
    if (seen.length > 0 && !(spec.repeat ?? []).includes(name)) throw new CliError(`${label}: ${name}: given more than once`, EXIT_USAGE)
    if (switches.includes(name)) {
      if (eq !== -1) throw new CliError(`${label}: ${name}: takes no value`, EXIT_USAGE)
      flags.set(name, [''])
      continue
    }
    if (!spec.values.includes(name)) {
      const known = [...spec.values, ...switches].join(', ')
      throw new CliError(`${label}: unknown option "${name}" (known: ${known})`, EXIT_USAGE)
    }
    const value = eq !== -1 ? arg.slice(eq + 1) : rest[++i]
    if (value === undefined || value === '' || (eq === -1 && value.startsWith('--'))) throw new CliError(`${label}: ${name}: needs a value`, EXIT_USAGE)
    flags.set(name, [...seen, value])
  }
  return { flags, positionals }
}

/** `--storage`, else `GRANTKIT_STORAGE`: a shared storage (memory would be a store of its own, gone at exit). */
export function storageFlag(label: string, flags: Map<string, string[]>, env: Env): string {
  const value = flags.get('--storage')?.[0] ?? envValue(env, ENV.storage)
  if (value === undefined) throw new CliError(`${label}: --storage is required (postgres://... or redis://...; or set ${ENV.storage})`, EXIT_USAGE)
  if (!/^(postgres(ql)?|rediss?(\+cluster)?):\/\//i.test(value)) throw new CliError(`${label}: --storage: must be "postgres://…" or "redis://…", the storage grantkit serve uses`, EXIT_USAGE)
  return value
}

/** Who the CLI acts as in audit events: the operating-system user. */
export function cliActor(): AuditActor {
  let user = 'unknown'
  try {
    user = userInfo().username
  } catch {
    // No passwd entry (some containers): the audit still says the change came from the CLI.
  }
  return { cli: user }
}

/**
 * Opens the storage, builds a server context on it (no endpoints are served)
 * and runs `work`. Audit events go to `audit` as they happen. Refusals of the
 * operations become one CliError line; the URL is never echoed.
 */
export async function withAdminContext<T>(
  label: string,
  url: string,
  work: (ctx: ServerContext) => Promise<T>,
  options: { audit?: (event: GrantkitEvent) => void; prefix?: string } = {},
): Promise<T> {
  let opened: { storage: import('../storage/types.js').Storage; close(): Promise<void> }
  if (options.prefix !== undefined) opened = await openPrefixed(url, options.prefix)
  else opened = await openStorage(url, { sharedKeys: false })
  try {
    // The issuer names no endpoint here: only the stores, the client rules and the event hub are used.
    const server = createAuthorizationServer({ issuer: 'http://localhost', clients: [], storage: opened.storage })
    const ctx = contextOf(server)
    if (options.audit !== undefined) server.on('admin.audit', options.audit)
    const result = await work(ctx)
    // Back-channel logout deliveries of ended sessions finish before the process exits.
    await ctx.logoutDeliveries.idle()
    return result
  } catch (error) {
    if (error instanceof CliError) throw error
    if (error instanceof AdminError || error instanceof ClientManagementError) throw new CliError(`${label}: ${error.message}`)
    const kind = /^postgres/i.test(url) ? 'postgres://…' : 'redis://…'
    throw new CliError(`${label}: ${kind}: ${error instanceof Error ? error.message : String(error)}`)
  } finally {
    await opened.close().catch(() => {})
  }
}

/** Tests run the commands on a table or key prefix of their own. */
async function openPrefixed(url: string, prefix: string): Promise<{ storage: import('../storage/types.js').Storage; close(): Promise<void> }> {
  if (/^postgres/i.test(url)) {
    const { createPostgresStorage } = await import('../storage/postgres/index.js')
    const storage = createPostgresStorage({ connectionString: url, tablePrefix: prefix })
    await storage.migrate()
    return { storage, close: () => storage.close() }
  }
  const { createRedisStorage } = await import('../storage/redis/index.js')
  const storage = createRedisStorage({ client: url, prefix })
  return { storage, close: () => storage.close() }
}
