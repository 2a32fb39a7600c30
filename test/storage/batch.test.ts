import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { StorageUnavailableError } from '../../src/index.js'
import { StatementBatcher } from '../../src/storage/batch.js'
import { createPostgresStorage } from '../../src/storage/postgres/index.js'
import { createRedisStorage } from '../../src/storage/redis/index.js'
import type { AccessTokenRecord } from '../../src/storage/types.js'
import { fakeClock } from '../helpers.js'
import { describePostgres, pgTables } from './pg-harness.js'
import { deleteRedisPrefix, redisAnswers } from './redis-harness.js'
import { REDIS_URL } from './services.js'

/*
 * Issue 16: concurrent storage calls batched (src/storage/batch.ts). The batcher on
 * its own, with a statement the test controls; then the access token store on real
 * PostgreSQL and Redis, many calls at once, each getting its own answer.
 */

/** A statement the test finishes by hand, recording what each one carried. */
function controlled() {
  const sent: { items: string[]; deadline: number; finish: (results?: string[]) => void; fail: (err: unknown) => void }[] = []
  const execute = (items: string[], deadline: number): Promise<string[]> =>
    new Promise((resolve, reject) => {
      sent.push({ items, deadline, finish: (results) => resolve(results ?? items.map((i) => `done:${i}`)), fail: reject })
    })
  return { sent, execute }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('StatementBatcher', () => {
  it('sends a call at once when nothing runs, and batches the calls made while a statement runs', async () => {
    const { sent, execute } = controlled()
    const batcher = new StatementBatcher(execute, 1000, 'postgres', 1, 64)
    const first = batcher.run('a')
    expect(sent.map((s) => s.items)).toEqual([['a']])
    const rest = ['b', 'c', 'd'].map((x) => batcher.run(x))
    await tick()
    // Nothing else goes out while the first statement runs.
    expect(sent).toHaveLength(1)
    sent[0]!.finish()
    expect(await first).toBe('done:a')
    await tick()
    expect(sent.map((s) => s.items)).toEqual([['a'], ['b', 'c', 'd']])
    sent[1]!.finish(['B', 'C', 'D'])
    // Each caller gets the answer at its own position.
    expect(await Promise.all(rest)).toEqual(['B', 'C', 'D'])
  })

  it('runs up to inFlight statements at once and puts at most maxSize calls in one', async () => {
    const { sent, execute } = controlled()
    const batcher = new StatementBatcher(execute, 1000, 'postgres', 2, 3)
    const all = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((x) => batcher.run(x))
    expect(sent.map((s) => s.items)).toEqual([['a'], ['b']])
    sent[0]!.finish()
    await tick()
    expect(sent.map((s) => s.items)).toEqual([['a'], ['b'], ['c', 'd', 'e']])
    sent[1]!.finish()
    await tick()
    expect(sent[3]!.items).toEqual(['f', 'g', 'h'])
    sent[2]!.finish()
    sent[3]!.finish()
    expect(await Promise.all(all)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((x) => `done:${x}`))
  })

  it('gives a batch the deadline of its oldest call, and fails a call that waited past its deadline without sending it', async () => {
    const { sent, execute } = controlled()
    const batcher = new StatementBatcher(execute, 50, 'postgres', 1, 64)
    const first = batcher.run('a')
    const waited = batcher.run('b').then(() => undefined, (e: unknown) => e)
    const since = Date.now()
    await new Promise((r) => setTimeout(r, 80))
    sent[0]!.finish()
    await first
    expect(await waited).toBeInstanceOf(StorageUnavailableError)
    // b was never sent.
    expect(sent.flatMap((s) => s.items)).toEqual(['a'])
    const third = batcher.run('c')
    expect(sent[1]!.deadline).toBeGreaterThanOrEqual(since + 50)
    expect(sent[1]!.deadline).toBeLessThanOrEqual(Date.now() + 50)
    sent[1]!.finish()
    expect(await third).toBe('done:c')
  })

  it('fails a waiting call at its deadline even while the statement ahead of it never finishes', async () => {
    const { sent, execute } = controlled()
    const batcher = new StatementBatcher(execute, 60, 'redis', 1, 64)
    void batcher.run('stuck').catch(() => {})
    const started = Date.now()
    const waited = await batcher.run('b').then(() => undefined, (e: unknown) => e)
    expect(waited).toBeInstanceOf(StorageUnavailableError)
    expect(String(waited)).toMatch(/^StorageUnavailableError: redis: no answer within 60 ms \(waiting for a batch\)/)
    expect(Date.now() - started).toBeLessThan(60 + 200)
    expect(sent.flatMap((s) => s.items)).toEqual(['stuck'])
  })

  it('retries a failed batch call by call, so that one bad call fails alone', async () => {
    const { sent, execute } = controlled()
    const batcher = new StatementBatcher(execute, 1000, 'postgres', 1, 64)
    const first = batcher.run('a')
    const settling = Promise.allSettled(['b', 'bad', 'c'].map((x) => batcher.run(x)))
    sent[0]!.finish()
    await first
    await tick()
    sent[1]!.fail(Object.assign(new Error('invalid input syntax'), { code: '22P02' }))
    // Each call of the failed batch on its own, one after the other, in the order they were made.
    await tick()
    expect(sent.slice(2).map((s) => s.items)).toEqual([['b']])
    sent[2]!.finish()
    await tick()
    sent[3]!.fail(Object.assign(new Error('invalid input syntax'), { code: '22P02' }))
    await tick()
    sent[4]!.finish()
    expect(sent.slice(2).map((s) => s.items)).toEqual([['b'], ['bad'], ['c']])
    const settled = await settling
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
  })

  it('fails every call of a batch at once when the database is unavailable: no retries into a dead server', async () => {
    const { sent, execute } = controlled()
    const batcher = new StatementBatcher(execute, 1000, 'postgres', 1, 64)
    const first = batcher.run('a')
    const batch = ['b', 'c'].map((x) => batcher.run(x))
    sent[0]!.finish()
    await first
    await tick()
    sent[1]!.fail(new StorageUnavailableError('postgres: gone'))
    for (const p of batch) await expect(p).rejects.toBeInstanceOf(StorageUnavailableError)
    expect(sent).toHaveLength(2)
  })
})

type StoredToken = AccessTokenRecord & { tokenHash: string }

/** An opaque access token's record, issued at `issuedAt`, living ten minutes. */
function tokenRecord(issuedAt: number, overrides: Partial<StoredToken>): StoredToken {
  return {
    id: randomBytes(8).toString('hex'),
    tokenHash: randomBytes(32).toString('base64url'),
    clientId: 'svc',
    sub: 'svc',
    scope: 'api:read',
    audience: ['https://api.example'],
    issuedAt,
    expiresAt: issuedAt + 600,
    ...overrides,
  }
}

describePostgres('postgres access tokens, batched (issue 16)', () => {
  const db = pgTables()
  // Times of the fake clock the storage is given.
  const record = (overrides: Partial<StoredToken> = {}): StoredToken => tokenRecord(1_800_000_000, overrides)

  it('stores 200 tokens saved at once and reads each back, with unknown ones null, each caller its own answer', async () => {
    const clock = fakeClock()
    const prefix = await db.fresh()
    const storage = createPostgresStorage({ pool: db.pool, tablePrefix: prefix, now: clock.now })
    const records = Array.from({ length: 200 }, (_, i) => record({ sub: `user-${i}` }))
    let checkouts = 0
    const counting = (): void => void checkouts++
    db.pool.on('acquire', counting)
    await Promise.all(records.map((r) => storage.accessTokens.save(r)))
    db.pool.off('acquire', counting)
    // One statement for the first call, the other 199 in batches of at most 64: 5 statements, not 200.
    expect(checkouts).toBeLessThanOrEqual(5)
    const count = await db.pool.query(`SELECT count(*)::int AS n FROM ${prefix}access_tokens`)
    expect(count.rows[0].n).toBe(200)
    const asked = [...records.map((r) => r.tokenHash), 'unknown-1', 'unknown-2']
    const found = await Promise.all(asked.map((h) => storage.accessTokens.findWithCutoff!(h)))
    for (let i = 0; i < 200; i++) expect(found[i]?.record.sub).toBe(`user-${i}`)
    expect(found.slice(200)).toEqual([null, null])
  })

  it('saves the same token twice in one batch: both calls succeed, the later record stays', async () => {
    const clock = fakeClock()
    const prefix = await db.fresh()
    const storage = createPostgresStorage({ pool: db.pool, tablePrefix: prefix, now: clock.now })
    // The first call goes out alone; the next three wait and travel together, two of them for one token.
    const first = storage.accessTokens.save(record())
    const twice = record({ scope: 'first' })
    const calls = [storage.accessTokens.save(twice), storage.accessTokens.save(record()), storage.accessTokens.save({ ...twice, scope: 'second' })]
    await Promise.all([first, ...calls])
    expect((await storage.accessTokens.find(twice.tokenHash))?.scope).toBe('second')
  })
})

const redisUp = await redisAnswers()
if (!redisUp) console.warn('[test/storage/batch] Redis rows skipped: start Redis (bash .ci/services.sh)')

describe.skipIf(!redisUp)('redis access tokens, batched (issue 16)', () => {
  const prefix = `gk-batch-${randomBytes(4).toString('hex')}:`
  // Redis expires keys by its own clock: live for ten minutes from now.
  const live = (overrides: Partial<StoredToken> = {}): StoredToken => tokenRecord(Math.floor(Date.now() / 1000), overrides)

  it('saves 200 tokens in a few commands and reads each back, unknown ones null and ids outside plain ASCII too', async () => {
    const storage = createRedisStorage({ client: REDIS_URL, prefix })
    const sent: string[] = []
    const send = storage.client.sendCommand.bind(storage.client)
    storage.client.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      sent.push(command.name)
      return (send as (...a: unknown[]) => unknown)(command, ...rest)
    }) as typeof storage.client.sendCommand
    try {
      // One with a sub the script cannot build a cutoff key for: its answer comes without the cutoffs, read after.
      const records = Array.from({ length: 200 }, (_, i) => live({ sub: i === 7 ? 'zoë "q"' : `user-${i}` }))
      await storage.accessTokens.find('warm-up')
      sent.length = 0
      await Promise.all(records.map((r) => storage.accessTokens.save(r)))
      // The first save alone, the other 199 in scripts of at most 64 keys.
      expect(sent.length).toBeLessThanOrEqual(5)
      sent.length = 0
      const asked = [...records.map((r) => r.tokenHash), 'unknown-1']
      const found = await Promise.all(asked.map((h) => storage.accessTokens.findWithCutoff!(h)))
      for (let i = 0; i < 200; i++) expect(found[i]?.record.sub).toBe(records[i]!.sub)
      expect(found[200]).toBeNull()
      expect(found[7]?.cutoff).toBeNull()
      // One read alone, the rest in a few scripts, one more for the cutoffs of the non-ASCII one.
      expect(sent.length).toBeLessThanOrEqual(6)
    } finally {
      await storage.close()
      await deleteRedisPrefix(prefix)
    }
  })

  it('saves the same token twice in one batch: the later record stays', async () => {
    const storage = createRedisStorage({ client: REDIS_URL, prefix })
    try {
      const first = storage.accessTokens.save(live())
      const twice = live({ scope: 'first' })
      await Promise.all([first, storage.accessTokens.save(twice), storage.accessTokens.save(live()), storage.accessTokens.save({ ...twice, scope: 'second' })])
      expect((await storage.accessTokens.find(twice.tokenHash))?.scope).toBe('second')
    } finally {
      await storage.close()
      await deleteRedisPrefix(prefix)
    }
  })
})
