import type { MigrateArgs } from './args.js'
import { CliError, EXIT_USAGE } from './errors.js'
import { withCommandStorage } from './storage.js'

/**
 * `grantkit cleanup --storage URL`: deletes expired records once and prints
 * how many, for deployments that embed grantkit and would rather run the
 * clean-up from cron than from a timer in each process. PostgreSQL: the
 * storage's `cleanup()` (batches of 1000, safe beside running servers and
 * other clean-ups). Redis and memory: nothing to do. The URL is never echoed:
 * it may hold a password.
 *
 * @throws CliError when the storage cannot be reached
 * @example
 * await cleanupStorage({ storage: 'postgres://localhost/auth' }, (line) => console.log(line))
 */
export async function cleanupStorage(
  args: MigrateArgs,
  print: (line: string) => void = (line) => void process.stdout.write(`${line}\n`),
  /** The table prefix; the command line uses the default, as `grantkit serve` does (tests pass their own). */
  at: { prefix?: string } = {},
): Promise<void> {
  const url = args.storage
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const { createPostgresStorage } = await import('../storage/postgres/index.js')
    const storage = createPostgresStorage({ connectionString: url, ...(at.prefix !== undefined && { tablePrefix: at.prefix }) })
    await withCommandStorage('cleanup: postgres://…', storage, async () => {
      const deleted = await storage.cleanup()
      print(`postgres: deleted ${deleted} expired row${deleted === 1 ? '' : 's'}`)
    })
  } else if (/^rediss?(\+cluster)?:\/\//i.test(url)) {
    print('redis: nothing to clean up (every key expires by its TTL)')
  } else if (url === 'memory') {
    print('memory: nothing to clean up (memory storage lives and dies with the process)')
  } else {
    throw new CliError('--storage: must be "postgres://…" or "redis://…"', EXIT_USAGE)
  }
}
