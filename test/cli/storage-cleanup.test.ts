import pg from 'pg'
import { afterAll, expect, it, vi } from 'vitest'
import { openStorage, SERVE_CLEANUP_INTERVAL } from '../../src/cli/storage.js'
import { describePostgres, POSTGRES_URL } from '../storage/pg-harness.js'

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
