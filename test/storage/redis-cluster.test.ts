import { createHash, randomBytes } from 'node:crypto'
import { Cluster, type ClusterOptions } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { parseArgs } from '../../src/cli/args.js'
import { CliError } from '../../src/cli/errors.js'
import { openStorage } from '../../src/cli/storage.js'
import { createAuthorizationServer, StorageUnavailableError, type AuthorizationServer } from '../../src/index.js'
import { createRedisStorage, parseClusterUrl, redisFailFastOptions, type RedisStorage } from '../../src/storage/redis/index.js'
import { clusterKey } from '../../src/storage/redis/keys.js'
import { REDIS_SCRIPTS, SINGLE_SERVER_SCRIPTS, type ScriptName } from '../../src/storage/redis/scripts.js'
import { runStorageConformance } from '../../src/testing/storage-conformance.js'
import { basic, counterIds, fakeClock, ISSUER, json, tokenRequest } from '../helpers.js'
import { REDIS_CLUSTER_NODES, REDIS_CLUSTER_URL, withDeadline } from './services.js'

/*
 * The Redis storage on a Redis Cluster (issue 16): the conformance kit, every
 * multi-key command and script checked to stay in one hash slot, and two
 * servers on the cluster acting as one. Without a cluster the file is skipped,
 * unless CI=true, where it fails.
 */

const START_CLUSTER = 'bash .ci/services.sh (three masters on 127.0.0.1:7000-7002), or set GRANTKIT_TEST_REDIS_CLUSTER=host:port,host:port'
const CI = process.env.CI === 'true'
const FEATURES = ['deviceFlow', 'sharedKeys', 'storedClients', 'pushedAuthorization'] as const

function clusterClient(extra: ClusterOptions = {}): Cluster {
  const { enableOfflineQueue, retryStrategy, enableAutoPipelining, ...perNode } = redisFailFastOptions
  const client = new Cluster([...REDIS_CLUSTER_NODES], {
    enableOfflineQueue,
    enableAutoPipelining,
    clusterRetryStrategy: retryStrategy ?? null,
    redisOptions: perNode,
    ...extra,
  })
  client.on('error', () => {})
  return client
}

/** Whether the cluster answers with cluster_state:ok within a few seconds (no test timeout applies while the file is imported). */
async function reachable(): Promise<boolean> {
  const client = clusterClient({ lazyConnect: true, clusterRetryStrategy: () => null })
  try {
    return await withDeadline(3000, `Redis Cluster at ${REDIS_CLUSTER_URL}`, async () => {
      await client.connect()
      const info = (await client.cluster('INFO')) as string
      return /^cluster_state:ok/m.test(info)
    })
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster takes modulo 16384 (cluster specification, "Key distribution model"). */
function crc16(data: Buffer): number {
  let crc = 0
  for (const byte of data) {
    crc ^= byte << 8
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

/** The slot of a key: of its hash tag when it has a non-empty one (first `{`, next `}`), else of the whole key. */
function keySlot(key: string): number {
  const open = key.indexOf('{')
  if (open !== -1) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) return crc16(Buffer.from(key.slice(open + 1, close), 'utf8')) % 16384
  }
  return crc16(Buffer.from(key, 'utf8')) % 16384
}

/** What went through a Cluster client: each command's name, keys and, for a script, which one. */
interface Sent {
  name: string
  keys: string[]
  script?: ScriptName
}

const scriptBySha = new Map<string, ScriptName>(
  (Object.entries(REDIS_SCRIPTS) as [ScriptName, { lua: string }][]).map(([name, def]) => [createHash('sha1').update(def.lua).digest('hex'), name]),
)

/** Wraps `client.sendCommand` (every command, pipelines and MULTI included, passes through it) to record what is sent. */
function record(client: Cluster, into: Sent[]): void {
  const send = client.sendCommand.bind(client)
  client.sendCommand = ((command: Parameters<Cluster['sendCommand']>[0], ...rest: unknown[]) => {
    const keys = command.getKeys().map(String)
    const entry: Sent = { name: command.name, keys }
    if (command.name === 'evalsha' || command.name === 'eval') {
      const first = String(command.args[0])
      const sha = command.name === 'eval' ? createHash('sha1').update(first).digest('hex') : first
      const script = scriptBySha.get(sha)
      if (script !== undefined) entry.script = script
    }
    into.push(entry)
    return (send as (...a: unknown[]) => unknown)(command, ...rest)
  }) as Cluster['sendCommand']
}

function missing(message: string): void {
  if (CI) {
    describe('redis storage on a cluster', () => {
      it('needs a Redis Cluster: with CI=true a missing cluster fails the run', () => {
        throw new Error(message)
      })
    })
  } else {
    console.warn(`[grantkit] skipping redis storage on a cluster: ${message}`)
    describe.skip(`redis storage on a cluster: ${message}`, () => {
      it('needs a Redis Cluster', () => {})
    })
  }
}

/** Every key under `prefix`, from every master (SCAN sees one node's keys only). */
async function keysUnder(client: Cluster, prefix: string): Promise<string[]> {
  return (await Promise.all(client.nodes('master').map((node) => keysUnderNode(node, prefix)))).flat()
}

describe('cluster key names', () => {
  it('computes slots as Redis does: the hash tag when there is a non-empty one', () => {
    // Known values from the Redis Cluster specification and CLUSTER KEYSLOT.
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3)
    expect(keySlot('foo')).toBe(12182)
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'))
    // An empty tag is no tag: the whole key is hashed.
    expect(keySlot('foo{}{bar}')).toBe(crc16(Buffer.from('foo{}{bar}')) % 16384)
  })

  it('puts the keys of one group in one slot whatever the id holds, and leaves lone keys as they were', () => {
    for (const sub of ['alice', 'a}b', '{x}', 'a{b', '', ' ', 'ü:☃', '}', '}}a', '{}']) {
      expect(keySlot(clusterKey('gk:', 'consent', JSON.stringify([sub, 'web']), sub))).toBe(keySlot(clusterKey('gk:', 'subconsent', sub, sub)))
    }
    // Empty and blank groups do not collide as keys.
    expect(clusterKey('gk:', 'subconsent', '', '')).not.toBe(clusterKey('gk:', 'subconsent', ' ', ' '))
    expect(clusterKey('gk:', 'sess', 'h', 'h')).toBe('gk:sess:{h}')
    expect(clusterKey('gk:', 'client', 'web', 'clients')).toBe('gk:client:{clients}:web')
    expect(clusterKey('gk:', 'at', 'h')).toBe('gk:at:h')
  })

  it('parses redis+cluster:// URLs and refuses what a cluster cannot take', () => {
    expect(parseClusterUrl('redis+cluster://a:7000,b:7001')).toEqual({ nodes: [{ host: 'a', port: 7000 }, { host: 'b', port: 7001 }], tls: false })
    expect(parseClusterUrl('rediss+cluster://u:p%40ss@[2001:db8::1]:7000/')).toEqual({ nodes: [{ host: '2001:db8::1', port: 7000 }], username: 'u', password: 'p@ss', tls: true })
    expect(parseClusterUrl('redis+cluster://:s3cret@h:7000')).toEqual({ nodes: [{ host: 'h', port: 7000 }], password: 's3cret', tls: false })
    expect(() => parseClusterUrl('redis+cluster://h:7000/2')).toThrow(/no database/)
    expect(() => parseClusterUrl('redis+cluster://h')).toThrow(/is not host:port/)
    expect(() => parseClusterUrl('redis+cluster://h:0')).toThrow(/is not host:port/)
    expect(() => parseClusterUrl('redis://h:7000')).toThrow(/redis\+cluster:\/\//)
    expect(() => createRedisStorage({ client: 'memcached://h:1' })).toThrow(/^client: a URL must start with/)
  })
})

describe('grantkit serve --storage redis+cluster://', () => {
  it('takes a cluster URL, and refuses a malformed one as a usage error that shows no password', async () => {
    expect(parseArgs(['serve', '--storage', 'redis+cluster://h:7000,h:7001'], {})).toMatchObject({ storage: 'redis+cluster://h:7000,h:7001' })
    const err = await openStorage('redis+cluster://:s3cret@h:7000,h', { sharedKeys: false }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CliError)
    expect((err as CliError).message).toMatch(/cluster node "h" is not host:port/)
    expect((err as CliError).message).not.toContain('s3cret')
  })
})

describe('redis storage on a cluster that cannot be reached', () => {
  it('fails fast with StorageUnavailableError (503 at the endpoints), never hangs', async () => {
    // Port 1: nothing listens there.
    const storage = createRedisStorage({ client: 'redis+cluster://127.0.0.1:1', prefix: 'gk-down:' })
    try {
      for (const op of [() => storage.accessTokens.find('h'), () => storage.authorizationCodes.consume('c'), () => storage.sessions.find('s')]) {
        const t0 = performance.now()
        const err = await op().catch((e: unknown) => e)
        expect(err).toBeInstanceOf(StorageUnavailableError)
        expect(performance.now() - t0).toBeLessThan(2000)
      }
    } finally {
      await storage.close()
    }
  })
})

const runId = randomBytes(6).toString('hex')

if (!(await reachable())) {
  missing(`no Redis Cluster answers at ${REDIS_CLUSTER_URL}. Start one with: ${START_CLUSTER}`)
} else {
  const prefix = `grantkit-test:${runId}:`
  const sent: Sent[] = []
  // No auto-pipelining on the recording client: each command then passes through sendCommand on its own.
  const recorded = clusterClient({ enableAutoPipelining: false })
  record(recorded, sent)
  // The admin client queues commands until the cluster is ready; it only sets up and cleans up.
  const admin = new Cluster([...REDIS_CLUSTER_NODES])
  let n = 0
  afterAll(async () => {
    const keys = await keysUnder(admin, prefix)
    await Promise.all(keys.map((k) => admin.del(k)))
    recorded.disconnect()
    await admin.quit()
  })

  describe('redis storage on a cluster', () => {
    it('agrees with CLUSTER KEYSLOT on the slot of grantkit keys', async () => {
      const samples = [clusterKey(prefix, 'sess', 'h1', 'h1'), clusterKey(prefix, 'consent', '["a}b","c"]', 'a}b'), clusterKey(prefix, 'subconsent', '', ''), `${prefix}at:xyz`, 'foo{}{bar}']
      for (const key of samples) expect(await admin.cluster('KEYSLOT', key)).toBe(keySlot(key))
    })

    it('refuses a prefix with a brace, which would break the hash tags', () => {
      expect(() => createRedisStorage({ client: recorded, prefix: 'gk{1}:' })).toThrow(/^prefix: must not contain \{ or \}/)
    })

    runStorageConformance(
      'redis cluster (a Cluster passed in)',
      () => {
        const clock = fakeClock()
        return { storage: createRedisStorage({ client: recorded, prefix: `${prefix}${++n}:`, now: clock.now }), now: clock.now, advance: clock.advance }
      },
      { features: [...FEATURES] },
    )

    runStorageConformance(
      'redis cluster (a redis+cluster:// URL)',
      () => {
        const clock = fakeClock()
        const storage = createRedisStorage({ client: REDIS_CLUSTER_URL, prefix: `${prefix}${++n}:`, now: clock.now })
        return { storage, now: clock.now, advance: clock.advance, close: () => storage.close() }
      },
      { features: [...FEATURES] },
    )

    it('seals a signing key in place (keys.replace, which the kit leaves to the CLI tests)', async () => {
      const storage = createRedisStorage({ client: recorded, prefix: `${prefix}${++n}:` })
      const t = Math.floor(Date.now() / 1000)
      await storage.keys.initialize({ kid: 'k1', privateJwk: 'plain', activeFrom: t, createdAt: t })
      expect(await storage.keys.replace!('k1', 'plain', 'sealed')).toBe(true)
      expect(await storage.keys.replace!('k1', 'plain', 'again')).toBe(false)
      expect((await storage.keys.list())[0]).toMatchObject({ kid: 'k1', privateJwk: 'sealed' })
    })

    it('kept every multi-key command and every script of the runs above in one slot, and ran every script a cluster uses', () => {
      expect(sent.length).toBeGreaterThan(100)
      const spread = sent.filter((c) => new Set(c.keys.map(keySlot)).size > 1).map((c) => `${c.script ?? c.name} ${c.keys.join(' ')}`)
      expect(spread).toEqual([])
      const ran = new Set(sent.flatMap((c) => (c.script === undefined ? [] : [c.script])))
      const expected = (Object.keys(REDIS_SCRIPTS) as ScriptName[]).filter((s) => !SINGLE_SERVER_SCRIPTS.includes(s)).sort()
      expect([...ran].sort()).toEqual(expected)
      // A script whose keys cannot share a slot is never sent to a cluster.
      for (const s of SINGLE_SERVER_SCRIPTS) expect(ran.has(s)).toBe(false)
      // Every script declares its keys, so the client routes it by them.
      for (const c of sent.filter((x) => x.script !== undefined)) expect(c.keys.length).toBe(REDIS_SCRIPTS[c.script!].keys)
    })

    it('spreads the keys over the masters (the cluster is really sharded)', async () => {
      const keys = await keysUnder(admin, prefix)
      const perNode = await Promise.all(admin.nodes('master').map(async (node) => (await keysUnderNode(node, prefix)).length))
      expect(keys.length).toBeGreaterThan(0)
      expect(perNode.filter((count) => count > 0).length).toBeGreaterThan(1)
    })
  })

  describe('two servers on one cluster', () => {
    const WEB_REDIRECT = 'https://app.example/cb'
    const UI = 'https://login.example/i'
    const web = { client_id: 'web', client_secret: 'web-secret', redirect_uris: [WEB_REDIRECT], grant_types: ['authorization_code', 'refresh_token'], scope: 'openid offline_access' }
    const opened: RedisStorage[] = []
    afterAll(async () => {
      for (const s of opened) await s.close()
    })
    // Each server draws its own ids, as two processes would.
    const serverOn = (storage: RedisStorage, name: string): AuthorizationServer =>
      createAuthorizationServer({ issuer: ISSUER, clients: [web], storage, accessTokenFormat: 'opaque', interaction: { url: (uid) => `${UI}/${uid}` }, deps: { randomId: counterIds(`${runId}-${name}-`) } })

    it('act as one: a code issued by one is redeemed at the other once, and its refresh token rotates across them', async () => {
      const p = `${prefix}servers:`
      // Two processes: one on a Cluster the application made, one on a client grantkit made from the URL.
      const a = createRedisStorage({ client: clusterClient(), prefix: p })
      const b = createRedisStorage({ client: REDIS_CLUSTER_URL, prefix: p })
      opened.push(a, b)
      const [one, two] = [serverOn(a, 'one'), serverOn(b, 'two')]
      const auth = { authorization: basic('web', 'web-secret') }
      /** A code from an authorization request at `start` whose login finishes at `finish`. */
      const codeVia = async (start: AuthorizationServer, finish: AuthorizationServer): Promise<string> => {
        const url = new URL(ISSUER + '/authorize')
        url.search = new URLSearchParams({ response_type: 'code', client_id: 'web', redirect_uri: WEB_REDIRECT, scope: 'openid offline_access', state: 's', prompt: 'consent' }).toString()
        const started = await start.handle({ method: 'GET', url, headers: {} })
        expect(started.status).toBe(303)
        const location = new URL(started.headers.location as string)
        const uid = location.pathname.split('/').pop()!
        const cookie = String(started.headers['set-cookie']).split(';')[0]!
        const finished = await finish.interactions.finish({ method: 'POST', url: location, headers: { cookie } }, uid, { login: { sub: 'alice' }, consent: {} })
        expect(finished.status).toBe(303)
        return new URL(finished.headers.location as string).searchParams.get('code')!
      }
      const redeem = (server: AuthorizationServer, code: string) => server.handle(tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: WEB_REDIRECT }, auth))
      const refresh = (server: AuthorizationServer, token: string) => server.handle(tokenRequest({ grant_type: 'refresh_token', refresh_token: token }, auth))
      const introspect = async (server: AuthorizationServer, token: string) =>
        json(await server.handle({ method: 'POST', url: new URL(ISSUER + '/introspect'), headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() }))

      // A code issued through one server is redeemed once across both (RFC 6749 §4.1.2), and the replay revokes its grant everywhere.
      const raced = await codeVia(one, two)
      const results = await Promise.all([redeem(one, raced), redeem(two, raced), redeem(one, raced), redeem(two, raced)])
      expect(results.filter((r) => r.status === 200)).toHaveLength(1)
      for (const r of results.filter((x) => x.status !== 200)) expect(json(r)).toMatchObject({ error: 'invalid_grant' })
      const revoked = json(results.find((r) => r.status === 200)!)
      expect(await introspect(one, revoked.access_token as string)).toEqual({ active: false })
      expect((await refresh(two, revoked.refresh_token as string)).status).toBe(400)

      // A refresh token issued by one server rotates at the other; the access token issued with it is active at the first.
      const tokens = json(await redeem(two, await codeVia(two, one)))
      const rotated = await refresh(one, tokens.refresh_token as string)
      expect(rotated.status, rotated.body).toBe(200)
      const next = json(rotated)
      expect(await introspect(two, next.access_token as string)).toMatchObject({ active: true, client_id: 'web', sub: 'alice' })
      // Racing rotations of one refresh token on both servers: exactly one wins (RFC 9700 §4.14.2).
      const rotations = await Promise.all([refresh(one, next.refresh_token as string), refresh(two, next.refresh_token as string), refresh(one, next.refresh_token as string), refresh(two, next.refresh_token as string)])
      expect(rotations.filter((r) => r.status === 200)).toHaveLength(1)
    })
  })
}

async function keysUnderNode(node: { scan: Cluster['scan'] }, prefix: string): Promise<string[]> {
  const out: string[] = []
  let cursor = '0'
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    out.push(...keys)
  } while (cursor !== '0')
  return out
}
