import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseArgs } from '../../src/cli/args.js'
import { CliError } from '../../src/cli/errors.js'
import { migrateStorage } from '../../src/cli/migrate.js'
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/storage/postgres/schema.js'
import { describePostgres, pgTables, postgresAvailable, POSTGRES_URL } from '../storage/pg-harness.js'
import { REDIS_URL, withDeadline } from '../storage/services.js'
import { killAll, requireBuiltCli, startCli } from './run-cli.js'


describe('grantkit migrate: command line', () => {
  it('parses migrate --storage URL', () => {
    expect(parseArgs(['migrate', '--storage', 'postgres://db/auth'])).toEqual({ command: 'migrate', storage: 'postgres://db/auth' })
    expect(parseArgs(['migrate', '--storage=redis://r'])).toEqual({ command: 'migrate', storage: 'redis://r' })
  })

  it('needs --storage and takes no serve options', () => {
    expect(() => parseArgs(['migrate'])).toThrow(/migrate: --storage is required/)
    expect(() => parseArgs(['migrate', '--storage', 'redis://r', '--port', '1'])).toThrow(/unknown option "--port"/)
  })

  it('refuses a storage it cannot migrate', async () => {
    await expect(migrateStorage({ storage: 'mysql://x' }, () => {})).rejects.toBeInstanceOf(CliError)
    const lines: string[] = []
    await migrateStorage({ storage: 'memory' }, (l) => lines.push(l))
    expect(lines).toEqual([expect.stringMatching(/^memory: nothing to migrate/)])
  })
})

describePostgres('grantkit migrate --storage postgres://…', () => {
  const db = pgTables()

  it('prints each migration it applies, then that there is nothing left', async () => {
    const prefix = db.name()
    const lines: string[] = []
    await migrateStorage({ storage: POSTGRES_URL }, (l) => lines.push(l), { prefix })
    expect(lines).toEqual([...MIGRATIONS.map((m) => `postgres: applied migration ${m.version}: ${m.description}`), `postgres: schema now at version ${SCHEMA_VERSION}`])
    lines.length = 0
    await migrateStorage({ storage: POSTGRES_URL }, (l) => lines.push(l), { prefix })
    expect(lines).toEqual([`postgres: schema already at version ${SCHEMA_VERSION}; nothing to apply`])
    await db.drop(prefix)
  })

  it('fails with a CliError, without the URL, when the database cannot be reached', async () => {
    const err = await migrateStorage({ storage: 'postgres://secret-user:secret-pw@127.0.0.1:1/test' }, () => {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CliError)
    expect((err as Error).message).toMatch(/^migrate: postgres:\/\/…: /)
    expect((err as Error).message).not.toContain('secret')
  })
})

describe('grantkit migrate --storage redis://…', async () => {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, commandTimeout: 5000 })
  probe.on('error', () => {})
  // Bounded: no test timeout applies while the suite is collected.
  const up = await withDeadline(3000, 'Redis', () => probe.connect()).then(
    () => true,
    () => false,
  )
  afterAll(() => probe.disconnect())
  it.runIf(up)('records the key layout version once, and refuses a layout it does not know', async () => {
    const prefix = `grantkit-test:${randomBytes(4).toString('hex')}:migrate:`
    try {
      const lines: string[] = []
      await migrateStorage({ storage: REDIS_URL }, (l) => lines.push(l), { prefix })
      await migrateStorage({ storage: REDIS_URL }, (l) => lines.push(l), { prefix })
      expect(lines).toEqual(['redis: key layout version 1 recorded; no keys needed converting', 'redis: key layout already at version 1; nothing to migrate'])
      expect(await probe.get(`${prefix}layout`)).toBe('1')
      await probe.set(`${prefix}layout`, '9')
      const err = await migrateStorage({ storage: REDIS_URL }, () => {}, { prefix }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CliError)
      expect((err as Error).message).toMatch(/layout "9"/)
    } finally {
      await probe.del(`${prefix}layout`)
    }
  })
})

const postgresUp = await postgresAvailable()

describe('grantkit migrate, the built command', () => {
  beforeAll(() => requireBuiltCli())
  afterEach(() => killAll())

  it('exits 0 after saying what it did, and 2 on a bad command line', async () => {
    const memory = startCli(['migrate', '--storage', 'memory'])
    expect(await memory.exited()).toBe(0)
    expect(memory.stdout).toMatch(/^memory: nothing to migrate/)
    const missing = startCli(['migrate'])
    expect(await missing.exited()).toBe(2)
    expect(missing.stderr).toContain('migrate: --storage is required')
    const unknown = startCli(['migrate', '--storage', 'mysql://x'])
    expect(await unknown.exited()).toBe(2)
  })

  it.runIf(postgresUp)('migrates PostgreSQL (the default prefix, as serve uses it) and prints the schema version', async () => {
    const cli = startCli(['migrate', '--storage', POSTGRES_URL])
    expect(await cli.exited(20_000)).toBe(0)
    expect(cli.stdout).toMatch(new RegExp(`postgres: schema (now|already) at version ${SCHEMA_VERSION}`))
    expect(cli.stdout).not.toContain(POSTGRES_URL)
  })
})
