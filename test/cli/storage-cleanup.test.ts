import pg from 'pg'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { parseArgs } from '../../src/cli/args.js'
import { cleanupStorage } from '../../src/cli/cleanup.js'
import { CliError } from '../../src/cli/errors.js'
import { openStorage, SERVE_CLEANUP_INTERVAL } from '../../src/cli/storage.js'
import { describePostgres, pgTables, POSTGRES_URL } from '../storage/pg-harness.js'

/*
 * Issue 12, clean-up: `grantkit serve --storage postgres://…` removes expired
 * rows by itself, with nothing to set. It uses the default table prefix, as
 * `grantkit migrate` does; the rows this test writes are its own and expired.
 */

describePostgres('grantkit serve on PostgreSQL: expired rows are removed with no setting', () => {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL })
  afterAll(() => pool.end())

  it(`runs cleanup() every ${SERVE_CLEANUP_INTERVAL} s on an unref'd timer, stopped by close()`, async () => {
    const key = `issue-12-${process.pid}-${Date.now()}`
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    try {
      const opened = await openStorage(POSTGRES_URL, { sharedKeys: false })
      try {
        const past = Date.now() / 1000 - 1
        await pool.query(`INSERT INTO grantkit_replay (key, expires_at) VALUES ($1, $2)`, [key, past])
        await pool.query(`INSERT INTO grantkit_replay (key, expires_at) VALUES ($1, $2)`, [`${key}-live`, past + 3600])
        const left = async (): Promise<string[]> => (await pool.query<{ key: string }>(`SELECT key FROM grantkit_replay WHERE key LIKE $1 ORDER BY key`, [`${key}%`])).rows.map((r) => r.key)
        vi.advanceTimersByTime(SERVE_CLEANUP_INTERVAL * 1000 - 1)
        await new Promise((r) => setTimeout(r, 100))
        expect(await left()).toEqual([key, `${key}-live`])
        vi.advanceTimersByTime(1)
        for (let i = 0; i < 50 && (await left()).length > 1; i++) await new Promise((r) => setTimeout(r, 50))
        expect(await left()).toEqual([`${key}-live`])
      } finally {
        await opened.close()
      }
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
      await pool.query(`DELETE FROM grantkit_replay WHERE key LIKE $1`, [`${key}%`])
    }
  })
})

describe('grantkit cleanup: command line', () => {
  it('parses cleanup --storage URL and takes no serve options', () => {
    expect(parseArgs(['cleanup', '--storage', 'postgres://db/auth'])).toEqual({ command: 'cleanup', storage: 'postgres://db/auth' })
    expect(() => parseArgs(['cleanup'])).toThrow(/cleanup: --storage is required/)
    expect(() => parseArgs(['cleanup', '--storage', 'redis://r', '--port', '1'])).toThrow(/unknown option "--port"/)
  })

  it('has nothing to do on Redis and memory, and refuses other storages', async () => {
    const lines: string[] = []
    await cleanupStorage({ storage: 'redis://127.0.0.1:1' }, (l) => lines.push(l))
    await cleanupStorage({ storage: 'memory' }, (l) => lines.push(l))
    expect(lines).toEqual([expect.stringMatching(/^redis: nothing to clean up/), expect.stringMatching(/^memory: nothing to clean up/)])
    await expect(cleanupStorage({ storage: 'mysql://x' }, () => {})).rejects.toBeInstanceOf(CliError)
  })
})

describePostgres('grantkit cleanup --storage postgres://…', () => {
  const db = pgTables()

  it('deletes expired rows once and says how many, never printing the URL', async () => {
    const prefix = await db.fresh()
    const past = Date.now() / 1000 - 1
    await db.pool.query(`INSERT INTO ${prefix}replay (key, expires_at) VALUES ('a', $1), ('b', $1), ('c', $2)`, [past, past + 3600])
    const lines: string[] = []
    await cleanupStorage({ storage: POSTGRES_URL }, (l) => lines.push(l), { prefix })
    expect(lines).toEqual(['postgres: deleted 2 expired rows'])
    expect((await db.pool.query(`SELECT key FROM ${prefix}replay`)).rows).toEqual([{ key: 'c' }])
    const err = await cleanupStorage({ storage: 'postgres://secret-user:secret-pw@127.0.0.1:1/test' }, () => {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CliError)
    expect((err as Error).message).not.toContain('secret-pw')
  })
})
