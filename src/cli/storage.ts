import { createMemoryStorage, createSharedKeyStore, type KeyStore, type Storage } from '../index.js'
import { CliError, EXIT_USAGE } from './errors.js'

/** The storage `--storage` names, with what closing it takes and the shared key store when it has one. */
export interface OpenedStorage {
  storage: Storage
  /** Signing keys shared through the database, unless the config names its own keys. */
  keys?: KeyStore
  close(): Promise<void>
}

/**
 * Seconds between the removals of expired rows that `grantkit serve` runs on
 * PostgreSQL (`cleanup()`, in bounded batches; several processes may run it at
 * once). Redis needs none: every key carries a TTL.
 */
export const SERVE_CLEANUP_INTERVAL = 600

/**
 * Opens `--storage`: `memory`, `postgres://…` (tables created if absent) or
 * `redis://…`. Several processes on one database act as one server, so their
 * signing keys come from that database too, unless the config gives a key
 * file they all read. The URL is never echoed: it may hold a password.
 */
export async function openStorage(url: string, options: { sharedKeys: boolean }): Promise<OpenedStorage> {
  if (url === 'memory') return { storage: createMemoryStorage(), close: async () => {} }
  let opened: { storage: Storage & { close(): Promise<void> }; kind: string }
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const { createPostgresStorage } = await import('../storage/postgres/index.js')
    const storage = createPostgresStorage({ connectionString: url, cleanupInterval: SERVE_CLEANUP_INTERVAL })
    try {
      await storage.migrate()
    } catch (cause) {
      await storage.close().catch(() => {})
      throw new CliError(`--storage postgres://…: cannot prepare the database (${describe(cause)})`)
    }
    opened = { storage, kind: 'postgres' }
  } else if (/^rediss?:\/\//i.test(url)) {
    const { createRedisStorage } = await import('../storage/redis/index.js')
    opened = { storage: createRedisStorage({ client: url }), kind: 'redis' }
  } else {
    throw new CliError('--storage: must be "memory", "postgres://…" or "redis://…"', EXIT_USAGE)
  }
  const { storage, kind } = opened
  if (!options.sharedKeys || storage.keys === undefined) return { storage, close: () => storage.close() }
  try {
    const keys = await createSharedKeyStore(storage.keys)
    return {
      storage,
      keys,
      async close() {
        keys.close()
        await storage.close()
      },
    }
  } catch (cause) {
    await storage.close().catch(() => {})
    throw new CliError(`--storage ${kind}://…: cannot load the shared signing keys (${describe(cause)})`)
  }
}

function describe(cause: unknown): string {
  // Messages of pg and ioredis never carry the password; the URL itself is not printed.
  return cause instanceof Error ? cause.message : String(cause)
}
