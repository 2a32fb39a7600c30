/**
 * What the Redis test files share: whether Redis answers (probed once, bounded,
 * while the file is imported) and removing a test's keys afterwards.
 */
import { Redis } from 'ioredis'
import { redisFailFastOptions } from '../../src/storage/redis/index.js'
import { REDIS_URL, withDeadline } from './services.js'

/** Whether Redis at REDIS_URL answers PING within 3 s. With CI=true an unreachable Redis throws: CI never passes by skipping. */
export async function redisAnswers(): Promise<boolean> {
  const up = await withDeadline(3000, 'Redis', async () => {
    const client = new Redis(REDIS_URL, { ...redisFailFastOptions, lazyConnect: true, retryStrategy: () => null })
    client.on('error', () => {})
    try {
      await client.connect()
      return (await client.ping()) === 'PONG'
    } finally {
      client.disconnect()
    }
  }).catch(() => false)
  if (!up && process.env.CI === 'true') throw new Error('Redis is unreachable and CI=true')
  return up
}

/** Deletes every key under `prefix`, through a connection of its own. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const direct = new Redis(REDIS_URL)
  try {
    let cursor = '0'
    do {
      const [next, keys] = await direct.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) await direct.del(...keys)
    } while (cursor !== '0')
  } finally {
    direct.disconnect()
  }
}
