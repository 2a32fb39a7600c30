import { Cluster, type ClusterOptions } from 'ioredis'
import { redisFailFastOptions } from './connection.js'

/** One seed node of a cluster URL. */
export interface ClusterNode {
  host: string
  port: number
}

/** What a `redis+cluster://` URL says: the seed nodes, the credentials, whether to use TLS. */
export interface ClusterUrl {
  nodes: ClusterNode[]
  username?: string
  password?: string
  tls: boolean
}

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\//i

/** Whether `url` names a Redis Cluster (`redis+cluster://` or `rediss+cluster://`). */
export function isClusterUrl(url: string): boolean {
  return CLUSTER_SCHEME.test(url)
}

/**
 * Parses `redis+cluster://[user[:password]@]host:port[,host:port…][/]`
 * (`rediss+cluster://` for TLS). A cluster has no logical databases, so a
 * path other than `/` is refused rather than silently ignored; so is a query.
 * The hosts are seeds: the client learns the other nodes from any of them.
 *
 * @example
 * parseClusterUrl('redis+cluster://:s3cret@10.0.0.1:7000,10.0.0.2:7000')
 * // { nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7000 }], password: 's3cret', tls: false }
 */
export function parseClusterUrl(url: string): ClusterUrl {
  const scheme = CLUSTER_SCHEME.exec(url)
  if (scheme === null) throw new TypeError('client: a cluster URL must start with redis+cluster:// or rediss+cluster://')
  let rest = url.slice(scheme[0].length)
  const slash = rest.search(/[/?#]/)
  if (slash !== -1) {
    if (rest.slice(slash) !== '/') throw new TypeError('client: a cluster URL takes no database, path or query (a Redis Cluster has database 0 only)')
    rest = rest.slice(0, slash)
  }
  const out: ClusterUrl = { nodes: [], tls: scheme[1]!.toLowerCase() === 'rediss' }
  const at = rest.lastIndexOf('@')
  if (at !== -1) {
    const userinfo = rest.slice(0, at)
    rest = rest.slice(at + 1)
    const colon = userinfo.indexOf(':')
    const username = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon))
    if (username !== '') out.username = username
    if (colon !== -1) out.password = decodeURIComponent(userinfo.slice(colon + 1))
  }
  for (const part of rest.split(',')) {
    // host:port, [v6]:port; the port is required: cluster nodes seldom listen on 6379 alone.
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(part)
    const port = m === null ? NaN : Number(m[2])
    if (m === null || !(port >= 1 && port <= 65535)) {
      throw new TypeError(`client: cluster node ${JSON.stringify(part)} is not host:port (give redis+cluster://host:7000,host:7001)`)
    }
    out.nodes.push({ host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port })
  }
  return out
}

/**
 * A Cluster client for `url` with the fail-fast behaviour of
 * `redisFailFastOptions`: no offline queue, no retried or replayed commands,
 * `timeoutMs` per command, reconnecting forever with a delay of at most 1 s.
 */
export function createClusterClient(url: string, timeoutMs: number): Cluster {
  const parsed = parseClusterUrl(url)
  const { enableOfflineQueue, retryStrategy, enableAutoPipelining, ...perNode } = redisFailFastOptions
  const options: ClusterOptions = {
    enableOfflineQueue,
    enableAutoPipelining,
    clusterRetryStrategy: retryStrategy ?? null,
    // A MOVED/ASK redirection during resharding is followed; a cluster that is down fails the call.
    retryDelayOnClusterDown: 0,
    slotsRefreshTimeout: timeoutMs,
    redisOptions: {
      ...perNode,
      commandTimeout: timeoutMs,
      ...(parsed.username !== undefined ? { username: parsed.username } : {}),
      ...(parsed.password !== undefined ? { password: parsed.password } : {}),
      ...(parsed.tls ? { tls: {} } : {}),
    },
  }
  return new Cluster(parsed.nodes, options)
}
