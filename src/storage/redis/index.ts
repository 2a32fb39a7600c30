/**
 * grantkit/storage/redis: every store of `Storage`, signing keys included, in
 * Redis (6.2 or later: GETDEL, SET PX). Needs the optional peer dependency
 * `ioredis`.
 */
import { Cluster, Redis } from 'ioredis'
import type { ClientStore, DeviceFlowStores, KeyStorage, PushedAuthorizationRequestStore, Storage } from '../types.js'
import { RedisClients } from './clients.js'
import { createClusterClient, isClusterUrl } from './cluster.js'
import { Connection, DEFAULT_TIMEOUT, redisFailFastOptions } from './connection.js'
import { checkLayout, writeLayout } from './layout.js'
import { clusterKey, plainKey } from './keys.js'
import { defineScripts } from './scripts.js'
import {
  RedisAccessTokens,
  RedisAuthorizationCodes,
  RedisConsents,
  RedisTokenCutoffs,
  RedisAuditEvents,
  RedisDeviceCodes,
  RedisGrants,
  RedisInteractions,
  RedisPushedAuthorizationRequests,
  RedisKeys,
  RedisRateLimits,
  RedisRefreshTokens,
  RedisReplay,
  RedisSessions,
  type RedisContext,
} from './stores.js'

export { redisFailFastOptions } from './connection.js'
export { parseClusterUrl, type ClusterNode, type ClusterUrl } from './cluster.js'
export { REDIS_LAYOUT_VERSION, RedisLayoutError } from './layout.js'

/** Options of `createRedisStorage`. */
export interface RedisStorageOptions {
  /**
   * An ioredis client or Cluster, or a URL from which one is created with
   * `redisFailFastOptions`: `redis://` / `rediss://` for one server,
   * `redis+cluster://host:port,host:port` / `rediss+cluster://…` for a Redis
   * Cluster (the hosts are seeds; the rest of the cluster is discovered).
   * A client you pass in stays yours:
   * `close()` leaves it open. Give it `redisFailFastOptions` too: calls made
   * while it is disconnected fail at once and no call waits more than `timeout` + 0.5 s
   * in any case, but with ioredis's defaults a command caught in flight by a
   * disconnection stays queued and runs when Redis is back, after its caller
   * was told the storage was unavailable (a refresh token rotated that way is
   * later presented again and counts as reused).
   */
  client: Redis | Cluster | string
  /** Prepended to every key, so that several servers or tests can share one database. Default `'grantkit:'`. */
  prefix?: string
  /** Clock in seconds since the epoch, for expiry checks and TTLs. Default: the system clock. */
  now?: () => number
  /**
   * Seconds one storage call may wait for Redis (may be fractional): the
   * `commandTimeout` of a client made from a URL. Past it the call throws
   * StorageUnavailableError (503 at the endpoints). The connection stays
   * open and in order: Redis answers commands in sequence, and ioredis
   * matches a late answer to the command that timed out and drops it. A
   * client passed in keeps its own commandTimeout, and no call waits more
   * than this plus half a second. Default 1.
   */
  timeout?: number
}

/**
 * A `Storage` in Redis, with its client and a way to close it. `C` is the
 * client's type: `Redis` for one server, `Cluster` for a Redis Cluster.
 */
export interface RedisStorage<C extends Redis | Cluster = Redis | Cluster> extends Storage {
  deviceCodes: DeviceFlowStores['deviceCodes']
  keys: KeyStorage
  clients: ClientStore
  pushedAuthorizationRequests: PushedAuthorizationRequestStore
  /** The ioredis client in use: a `Cluster` when the storage runs on a Redis Cluster. */
  readonly client: C
  /**
   * Records the key layout version under the prefix (see `REDIS_LAYOUT_VERSION`),
   * after checking it is not another one. Layout 1 needs no conversion of keys.
   */
  migrate(): Promise<{ before: number; version: number }>
  /** One GET, of the layout key: StorageUnavailableError while Redis cannot be reached, RedisLayoutError for a layout this grantkit does not know. */
  probe(): Promise<void>
  /** Closes the client, once its replies are in, when the storage created it from a URL; leaves a client passed in alone. */
  close(): Promise<void>
}

/**
 * Storage in Redis for servers of more than one process.
 *
 * Every key lives under `prefix` and carries a TTL taken from its record's
 * expiry (a device code is kept an hour longer, so that a late poll hears
 * expired_token; the signing key set has a sliding one-year TTL). Reads also
 * compare the stored expiry with `now`, so an injected clock is obeyed even
 * where Redis's own clock says otherwise. Every one-time operation (consuming
 * a code, rotating a refresh token, marking a replay, finishing an
 * interaction, deciding and polling a device code, counting, rotating keys)
 * is a single GETDEL or Lua script, atomic in Redis.
 *
 * The key layout carries a version (`<prefix>layout`, absent means 1, the
 * layout of 0.1.0): before its first command the storage checks it and
 * refuses, with RedisLayoutError, keys laid out by a grantkit it does not know.
 *
 * When Redis cannot be reached, methods throw `StorageUnavailableError` within
 * about a second and endpoints answer 503 temporarily_unavailable; the client
 * keeps reconnecting and the storage works again as soon as Redis is back.
 * Redis Cluster works too (pass a `Cluster` or a `redis+cluster://` URL): the
 * keys of every script and MULTI then carry a hash tag so they share a slot,
 * and operations whose keys cannot share one (a refresh token and its
 * successor) run in an order that leaves nothing usable half-done; see
 * docs/storage-redis.md. Configure Redis with
 * `maxmemory-policy noeviction`: an evicted replay marker or code tombstone
 * would let a replay through.
 *
 * @example
 * import { createRedisStorage } from 'grantkit/storage/redis'
 * const storage = createRedisStorage({ client: process.env.REDIS_URL!, prefix: 'auth:' })
 * const server = createAuthorizationServer({ issuer, clients, storage })
 */
export function createRedisStorage(options: RedisStorageOptions & { client: Cluster | `redis+cluster://${string}` | `rediss+cluster://${string}` }): RedisStorage<Cluster>
export function createRedisStorage(options: RedisStorageOptions & { client: Redis | `redis://${string}` | `rediss://${string}` }): RedisStorage<Redis>
/** A URL only known at run time may name a cluster: narrow `client` with `client.isCluster`. */
export function createRedisStorage(options: RedisStorageOptions): RedisStorage
export function createRedisStorage(options: RedisStorageOptions): RedisStorage {
  if (typeof options !== 'object' || options === null) throw new TypeError('options: must be an object with a client')
  const { client: given, prefix = 'grantkit:', now = () => Date.now() / 1000, timeout = DEFAULT_TIMEOUT } = options
  if (!(typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0)) throw new TypeError('timeout: must be a positive number of seconds')
  const timeoutMs = Math.ceil(timeout * 1000)
  if (typeof prefix !== 'string') throw new TypeError('prefix: must be a string')
  if (typeof now !== 'function') throw new TypeError('now: must be a function returning seconds since the epoch')
  let client: Redis | Cluster
  let owned: boolean
  if (typeof given === 'string') {
    if (isClusterUrl(given)) client = createClusterClient(given, timeoutMs)
    else if (/^rediss?:\/\//.test(given)) client = new Redis(given, { ...redisFailFastOptions, commandTimeout: timeoutMs })
    else throw new TypeError('client: a URL must start with redis://, rediss://, redis+cluster:// or rediss+cluster://')
    owned = true
    // Connection errors reach callers as StorageUnavailableError; without a
    // listener ioredis would also print each reconnection failure.
    client.on('error', () => {})
  } else if (typeof given === 'object' && given !== null && typeof (given as Redis).defineCommand === 'function') {
    client = given
    owned = false
  } else {
    throw new TypeError('client: must be an ioredis client or Cluster, or a redis:// or redis+cluster:// URL')
  }
  // `isCluster` rather than instanceof: the Cluster may come from another copy of ioredis.
  const cluster = (client as { isCluster?: unknown }).isCluster === true
  // A brace in the prefix would become (part of) every key's hash tag, and an
  // unbalanced one would split keys that must share a slot.
  if (cluster && /[{}]/.test(prefix)) throw new TypeError('prefix: must not contain { or } on a Redis Cluster (they delimit hash tags)')
  // Cluster and Redis share the command surface the stores use; one type keeps the call sites simple.
  const commands = client as Redis

  const ctx: RedisContext = {
    // Every store checks the key layout before its first command (layout.ts).
    // A single-server client made here from a URL times its commands out itself (commandTimeout).
    conn: new Connection(commands, () => checkLayout(commands, prefix), timeoutMs, owned && !cluster),
    client: commands,
    cluster,
    script: defineScripts(commands),
    key: cluster ? (kind, id, group) => clusterKey(prefix, kind, id, group) : (kind, id) => plainKey(prefix, kind, id),
    now,
  } as Omit<RedisContext, 'cutoffs'> as RedisContext
  ctx.cutoffs = new RedisTokenCutoffs(ctx)
  return {
    accessTokens: new RedisAccessTokens(ctx, timeoutMs),
    authorizationCodes: new RedisAuthorizationCodes(ctx),
    refreshTokens: new RedisRefreshTokens(ctx),
    grants: new RedisGrants(ctx),
    replay: new RedisReplay(ctx),
    interactions: new RedisInteractions(ctx),
    sessions: new RedisSessions(ctx),
    consents: new RedisConsents(ctx),
    rateLimits: new RedisRateLimits(ctx),
    deviceCodes: new RedisDeviceCodes(ctx),
    keys: new RedisKeys(ctx),
    clients: new RedisClients(ctx),
    tokenCutoffs: ctx.cutoffs,
    pushedAuthorizationRequests: new RedisPushedAuthorizationRequests(ctx),
    auditEvents: new RedisAuditEvents(ctx),
    client,
    migrate: () => ctx.conn.run('migrate', () => writeLayout(commands, prefix)),
    probe: () => ctx.conn.run('probe', () => checkLayout(commands, prefix)),
    async close() {
      if (!owned || client.status === 'end') return
      let timer: NodeJS.Timeout | undefined
      const ended = new Promise<void>((resolve) => {
        client.once('end', resolve)
        timer = setTimeout(resolve, 2000)
      })
      await client.quit().catch(() => client.disconnect())
      await ended
      clearTimeout(timer)
    },
  }
}
