import type { MigrateArgs } from './args.js'
import { CliError, EXIT_USAGE } from './errors.js'
import { withCommandStorage } from './storage.js'

/**
 * `grantkit migrate --storage URL`: brings a storage up to date and prints
 * what it did, one line each. PostgreSQL: the schema migrations the database
 * lacks, applied one at a time under an advisory lock, so it is safe while
 * servers start. Redis: records the key layout version (layout 1 needs no
 * conversion). The URL is never echoed: it may hold a password.
 *
 * @throws CliError when the storage cannot be reached or is newer than this grantkit
 * @example
 * await migrateStorage({ storage: 'postgres://localhost/auth' }, (line) => console.log(line))
 */
export async function migrateStorage(
  args: MigrateArgs,
  print: (line: string) => void = (line) => void process.stdout.write(`${line}\n`),
  /** The table or key prefix; the command line uses the default, as `grantkit serve` does (tests pass their own). */
  at: { prefix?: string } = {},
): Promise<void> {
  const url = args.storage
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const { createPostgresStorage } = await import('../storage/postgres/index.js')
    const storage = createPostgresStorage({ connectionString: url, ...(at.prefix !== undefined && { tablePrefix: at.prefix }) })
    await withCommandStorage('migrate: postgres://…', storage, async () => {
      const { applied, version } = await storage.migrate()
      for (const m of applied) print(`postgres: applied migration ${m.version}: ${m.description}`)
      print(applied.length === 0 ? `postgres: schema already at version ${version}; nothing to apply` : `postgres: schema now at version ${version}`)
    })
  } else if (/^rediss?(\+cluster)?:\/\//i.test(url)) {
    const { createRedisStorage } = await import('../storage/redis/index.js')
    const storage = createRedisStorage({ client: url, ...(at.prefix !== undefined && { prefix: at.prefix }) })
    await withCommandStorage('migrate: redis://…', storage, async () => {
      const { before, version } = await storage.migrate()
      print(
        before === version
          ? `redis: key layout already at version ${version}; nothing to migrate`
          : `redis: key layout version ${version} recorded; no keys needed converting`,
      )
    })
  } else if (url === 'memory') {
    print('memory: nothing to migrate (memory storage lives and dies with the process)')
  } else {
    throw new CliError('--storage: must be "postgres://…" or "redis://…"', EXIT_USAGE)
  }
}
