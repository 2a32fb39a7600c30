/**
 * The oldest and newest client libraries the peer ranges in package.json
 * promise (`pg`, `ioredis`). The newest is the devDependency under its own
 * name; the oldest is installed under an npm alias (`pg-oldest`, `ioredis-5`)
 * so that both load in one test run. The storage suites run the conformance
 * kit and the atomicity tests once per entry: a library version below a peer
 * range's floor, or a client API the storage uses that the floor lacks, fails
 * here instead of in an application.
 */
import { createRequire } from 'node:module'
import { Redis } from 'ioredis'
import { Redis as Redis5 } from 'ioredis-5'
import pg from 'pg'
import pgOldest from 'pg-oldest'

const require = createRequire(import.meta.url)
const versionOf = (name: string): string => (require(`${name}/package.json`) as { version: string }).version

export interface PgModule {
  /** e.g. `pg 8.11.0`. */
  name: string
  Pool: typeof pg.Pool
}

export interface RedisModule {
  /** e.g. `ioredis 5.2.5`. */
  name: string
  /**
   * The client class. Typed as the newest one: the storage accepts a client
   * object from either (it checks for `defineCommand`, not the class).
   */
  Redis: typeof Redis
}

/** Newest first: the full suites use the first one. */
export const PG_MODULES: readonly PgModule[] = [
  { name: `pg ${versionOf('pg')}`, Pool: pg.Pool },
  { name: `pg ${versionOf('pg-oldest')}`, Pool: pgOldest.Pool },
]

/** Newest first: the full suites use the first one. */
export const REDIS_MODULES: readonly RedisModule[] = [
  { name: `ioredis ${versionOf('ioredis')}`, Redis },
  { name: `ioredis ${versionOf('ioredis-5')}`, Redis: Redis5 as unknown as typeof Redis },
]
