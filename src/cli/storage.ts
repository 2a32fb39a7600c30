import { createMemoryStorage, type KeyStore, type Storage } from '../index.js'
import { CliError, EXIT_USAGE } from './errors.js'
import { openSharedKeys, requireKeyEncryption } from './keys.js'

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
 * file they all read. Keys in the database are sealed with the key-encryption
 * key of `env` (`GRANTKIT_KEY_ENCRYPTION_KEY`): without one, nothing is opened.
 * The URL is never echoed: it may hold a password.
 */
export async function openStorage(url: string, options: { sharedKeys: boolean; env?: NodeJS.ProcessEnv }): Promise<OpenedStorage> {
  if (url === 'memory') return { storage: createMemoryStorage(), close: async () => {} }
  const kind = /^postgres(ql)?:\/\//i.test(url) ? 'postgres' : /^rediss?(\+cluster)?:\/\//i.test(url) ? 'redis' : undefined
  if (kind === undefined) throw new CliError('--storage: must be "memory", "postgres://…" or "redis://…"', EXIT_USAGE)
  // Checked before connecting: a missing key-encryption key is a configuration error, not a database one.
  const keks = options.sharedKeys ? requireKeyEncryption(options.env ?? process.env, kind) : undefined
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
  } else if (/^rediss?(\+cluster)?:\/\//i.test(url)) {
    const { createRedisStorage } = await import('../storage/redis/index.js')
    let storage
    try {
      storage = createRedisStorage({ client: url })
    } catch (cause) {
      // A malformed redis+cluster:// host list: a usage error. The message names the node, never the credentials.
      if (cause instanceof TypeError) throw new CliError(`--storage redis…: ${cause.message.replace(/^client: /, '')}`, EXIT_USAGE)
      throw cause
    }
    opened = { storage, kind: 'redis' }
  } else {
    throw new CliError('--storage: must be "memory", "postgres://…" or "redis://…"', EXIT_USAGE)
  }
  const { storage } = opened
  if (keks === undefined || storage.keys === undefined) return { storage, close: () => storage.close() }
  try {
    const keys = await openSharedKeys(storage.keys, keks, kind)
    return {
      storage,
      keys,
      async close() {
        keys.close()
        await storage.close()
      },
    }
  } catch (error) {
    await storage.close().catch(() => {})
    throw error
  }
}

function describe(cause: unknown): string {
  // Messages of pg and ioredis never carry the password; the URL itself is not printed.
  return cause instanceof Error ? cause.message : String(cause)
}

/**
 * Runs one command's work on a storage it opened, then closes it. A failure
 * becomes a CliError labelled `command: postgres://…` (the URL may hold a
 * password, so it is never echoed).
 *
 * @example
 * await withCommandStorage('migrate: postgres://…', createPostgresStorage({ connectionString }), (s) => s.migrate())
 */
export async function withCommandStorage<S extends { close(): Promise<void> }, T>(label: string, storage: S, work: (storage: S) => Promise<T>): Promise<T> {
  try {
    return await work(storage)
  } catch (cause) {
    throw new CliError(`${label}: ${describe(cause)}`)
  } finally {
    await storage.close().catch(() => {})
  }
}
