import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis, type Cluster } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createAuthorizationServer, hashToken, StorageUnavailableError } from '../../src/index.js'
import { createSharedKeyStore } from '../../src/keys/shared-key-store.js'
import { createAesKeyWrapper } from '../../src/keys/key-wrapper.js'
import { createRedisStorage, REDIS_LAYOUT_VERSION, RedisLayoutError, redisFailFastOptions, type RedisStorage } from '../../src/storage/redis/index.js'
import { CONFORMANCE_EPOCH, runStorageConformance } from '../../src/testing/storage-conformance.js'
import { basic, clients, counterIds, fakeClock, ISSUER, json, tokenRequest } from '../helpers.js'
import { REDIS_MODULES } from './client-modules.js'
import { REDIS_URL, shown, withDeadline } from './services.js'

/*
 * The Redis storage against the conformance suite on a shared Redis (a random
 * key prefix per run, deleted afterwards), plus what only Redis has: TTLs,
 * several clients at once, and outages, on a redis-server this file starts and
 * stops itself. Without Redis the suite is skipped, unless CI=true, where it fails.
 */

const START_REDIS =
  'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log' +
  ' (or bash .ci/services.sh, or set GRANTKIT_TEST_REDIS)'
const CI = process.env.CI === 'true'

/**
 * Whether Redis answers PING at `url` within a few seconds. Runs while the file
 * is imported, where no test timeout applies: ioredis's connectTimeout covers
 * the TCP connection only, not a server that accepts it and never answers.
 */
async function reachable(url: string): Promise<boolean> {
  const client = new Redis(url, { ...redisFailFastOptions, lazyConnect: true, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    return await withDeadline(3000, `Redis at ${shown(url)}`, async () => {
      await client.connect()
      return (await client.ping()) === 'PONG'
    })
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

function haveRedisServer(): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('redis-server', ['--version'], { stdio: 'ignore' })
    p.once('error', () => resolve(false))
    p.once('exit', (code) => resolve(code === 0))
  })
}

/** Every key matching a SCAN pattern (never KEYS). */
async function scanKeys(client: Redis, pattern: string): Promise<string[]> {
  const out: string[] = []
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    out.push(...keys)
  } while (cursor !== '0')
  return out.sort()
}

/** Every key under `prefix` (test prefixes hold no glob characters). */
function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  return scanKeys(client, `${prefix}*`)
}

async function deletePrefix(client: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix)
  for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500))
}

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

/** A redis-server child process of this test file, on a port of its own. */
class OwnRedis {
  private child: ChildProcess | undefined
  private readonly dir = mkdtempSync(join(tmpdir(), 'grantkit-redis-'))
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    if (this.child !== undefined) return
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir]
    const child = spawn('redis-server', args, { stdio: 'ignore' })
    this.child = child
    child.once('exit', () => {
      if (this.child === child) this.child = undefined
    })
    const deadline = Date.now() + 5000
    while (!(await accepts(this.port))) {
      if (this.child !== child) throw new Error(`redis-server on port ${this.port} exited at start`)
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  /** Sends a signal to this file's redis-server only, by its pid. */
  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig)
  }

  async stop(): Promise<void> {
    const child = this.child
    if (child === undefined) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
    this.child = undefined
  }

  async dispose(): Promise<void> {
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

function whenReady(client: Redis | Cluster, ms = 5000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client not ready after ${ms} ms (status ${client.status})`)), ms)
    client.once('ready', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

/** Runs `op`, expecting StorageUnavailableError in under 2 s. */
async function failsFast(op: () => Promise<unknown>): Promise<StorageUnavailableError> {
  const t0 = performance.now()
  const err = await op().then(
    () => new Error('resolved; expected StorageUnavailableError'),
    (e: unknown) => e,
  )
  const ms = performance.now() - t0
  expect(err).toBeInstanceOf(StorageUnavailableError)
  expect(ms).toBeLessThan(2000)
  return err as StorageUnavailableError
}

function missing(what: string, message: string): void {
  if (CI) {
    describe(what, () => {
      it('needs Redis: with CI=true a missing Redis fails the run', () => {
        throw new Error(message)
      })
    })
  } else {
    console.warn(`[grantkit] skipping ${what}: ${message}`)
    describe.skip(`${what}: ${message}`, () => {
      it('needs Redis', () => {})
    })
  }
}

const runId = randomBytes(6).toString('hex')

if (!(await reachable(REDIS_URL))) {
  missing('redis storage', `Redis is not reachable at ${shown(REDIS_URL)}. Start it with: ${START_REDIS}`)
} else {
  const prefix = `grantkit-test:${runId}:`
  const shared = new Redis(REDIS_URL, { ...redisFailFastOptions })
  shared.on('error', () => {})
  afterAll(async () => {
    await deletePrefix(shared, prefix)
    await shared.quit()
  })

  let n = 0
  const harness = (start = CONFORMANCE_EPOCH) => {
    const clock = fakeClock(start)
    const p = `${prefix}${++n}:`
    return { storage: createRedisStorage({ client: shared, prefix: p, now: clock.now }), now: clock.now, advance: clock.advance, prefix: p }
  }

  // The conformance kit (atomicity tests included) once per end of the ioredis
  // peer range, on a client of that version passed in as applications do.
  describe.each(REDIS_MODULES)('redis storage on $name', ({ name, Redis: Client }) => {
    const client = new Client(REDIS_URL, { ...redisFailFastOptions })
    client.on('error', () => {})
    afterAll(async () => {
      await client.quit()
    })
    const open = () => {
      const clock = fakeClock()
      const p = `${prefix}${++n}:`
      return { storage: createRedisStorage({ client, prefix: p, now: clock.now }), now: clock.now, advance: clock.advance, prefix: p }
    }

    runStorageConformance(`redis (${name})`, open, { features: ['deviceFlow', 'sharedKeys', 'storedClients', 'pushedAuthorization'] })

    it('shares one-time operations with a process on a client of its own: one winner across clients', async () => {
      const clock = fakeClock()
      const p = `${prefix}multi-${++n}:`
      const a = createRedisStorage({ client, prefix: p, now: clock.now })
      // The other process: a client grantkit makes from the URL, with the newest ioredis.
      const b = createRedisStorage({ client: REDIS_URL, prefix: p, now: clock.now })
      try {
        const t = clock.now()
        await a.authorizationCodes.save({ codeHash: 'x', clientId: 'c', redirectUri: 'https://a/cb', redirectUriSent: true, scope: 'openid', sub: 's', grantId: 'g', authTime: t, issuedAt: t, expiresAt: t + 60 })
        const codes = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).authorizationCodes.consume('x')))
        expect(codes.filter((r) => r.outcome === 'consumed')).toHaveLength(1)
        const starters = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).keys.initialize({ kid: `k${i}`, privateJwk: '{}', activeFrom: t, createdAt: t })))
        expect(new Set(starters.map((r) => r.map((k) => k.kid).join()))).toHaveProperty('size', 1)
        expect(await b.keys.list()).toEqual(starters[0])
      } finally {
        await a.close()
        await b.close()
      }
      // close() ends only the client the storage made, never the application's.
      expect(b.client.status).toBe('end')
      expect(client.status).toBe('ready')
    })
  })

  // TTLs are counted from the storage's clock, so a clock behind Redis's keeps records too.
  runStorageConformance('redis, with a clock years behind the server', () => harness(1_000_000_000), { features: ['deviceFlow', 'sharedKeys', 'storedClients', 'pushedAuthorization'] })

  describe('redis storage', () => {
    it('puts every key under the prefix and gives every artefact a TTL from its expiry', async () => {
      const { storage: s, now, prefix: p } = harness()
      const t = now()
      const m = `m${runId}`
      await s.accessTokens.save({ id: 't', tokenHash: `at-${m}`, clientId: 'c', sub: 's', scope: '', audience: [], issuedAt: t, expiresAt: t + 10 })
      await s.accessTokens.revokeJti(`jti-${m}`, t + 20)
      const code = { codeHash: `code-${m}`, clientId: 'c', redirectUri: 'https://a/cb', redirectUriSent: true, scope: 'openid', sub: 's', grantId: 'g', authTime: t, issuedAt: t, expiresAt: t + 60 }
      await s.authorizationCodes.save(code)
      await s.authorizationCodes.consume(code.codeHash)
      const rt = { tokenHash: `rt1-${m}`, grantId: 'g', clientId: 'c', sub: 's', scope: 'x', issuedAt: t, expiresAt: t + 600, absoluteExpiresAt: t + 6000 }
      await s.refreshTokens.save(rt)
      await s.refreshTokens.rotate(rt.tokenHash, { ...rt, tokenHash: `rt2-${m}`, expiresAt: t + 900 })
      // A rotation that stores the opaque access token it issues, in its one script.
      const issued = { id: 't2', tokenHash: `at2-${m}`, clientId: 'c', sub: 's', scope: '', audience: [], issuedAt: t, expiresAt: t + 15 }
      await s.refreshTokens.rotate(`rt2-${m}`, { ...rt, tokenHash: `rt3-${m}`, expiresAt: t + 1200 }, { accessToken: issued })
      await s.grants.revoke(`grant-${m}`, t + 7000)
      await s.replay.markUsed(`replay-${m}`, t + 30)
      await s.interactions.save({
        uid: `int-${m}`,
        request: { clientId: 'c', redirectUri: 'https://a/cb', redirectUriSent: true, responseType: 'code', responseMode: 'query', scope: 'openid', prompt: [] },
        browserHash: 'b',
        csrf: 'x',
        expiresAt: t + 600,
      })
      await s.sessions.save({ idHash: `sess-${m}`, sub: `s-${m}`, authTime: t, expiresAt: t + 3600, sid: `sid-${m}`, clients: ['c'] })
      await s.consents.save(`sub-${m}`, 'c', 'openid', t + 86400)
      await s.tokenCutoffs!.set(`client:${m}`, t, t + 500)
      await s.rateLimits.increment(`rl-${m}`, t + 300)
      await s.rateLimits.increment(`rl-${m}`, t + 600)
      await s.deviceCodes.save({ deviceCodeHash: `dc-${m}`, userCodeHash: `uc-${m}`, clientId: 'tv', scope: 'openid', interval: 5, issuedAt: t, expiresAt: t + 600, status: 'pending' })
      await s.deviceCodes.slowDown(`dc-${m}`, 10)
      await s.deviceCodes.decide(`uc-${m}`, { status: 'approved', sub: 's', authTime: t, scope: 'openid' })
      await s.deviceCodes.poll(`dc-${m}`, 'tv', t)
      await s.keys.initialize({ kid: `k1-${m}`, privateJwk: '{}', activeFrom: t, createdAt: t })
      await s.keys.rotate({ kid: `k2-${m}`, privateJwk: '{}', activeFrom: t + 300, createdAt: t }, { retiredAt: t + 300, publishedUntil: t + 3900 })

      const keys = await keysUnder(shared, p)
      const kinds = [...new Set(keys.map((k) => k.slice(p.length).split(':')[0]))].sort()
      expect(kinds).toEqual(['at', 'code', 'consent', 'cutoff', 'dc', 'grant', 'int', 'jti', 'keys', 'replay', 'rl', 'rt', 'sess', 'sessc', 'sid', 'subconsent', 'subsess', 'uc'])
      const ttl: Record<string, number> = {}
      for (const k of keys) {
        ttl[k.slice(p.length)] = await shared.pttl(k)
        expect(ttl[k.slice(p.length)], k).toBeGreaterThan(0)
      }
      const near = (key: string, seconds: number) => {
        expect(ttl[key], key).toBeLessThanOrEqual(seconds * 1000)
        expect(ttl[key], key).toBeGreaterThan(seconds * 1000 - 5000)
      }
      near(`at:at-${m}`, 10)
      near(`jti:jti-${m}`, 20)
      near(`code:code-${m}`, 60) // the consumed code's tombstone, until the code would have expired
      near(`rt:rt1-${m}`, 600)
      near(`rt:rt2-${m}`, 900)
      near(`rt:rt3-${m}`, 1200)
      near(`at:at2-${m}`, 15)
      near(`grant:grant-${m}`, 7000)
      near(`replay:replay-${m}`, 30)
      near(`int:int-${m}`, 600)
      near(`sess:sess-${m}`, 3600)
      near(`sessc:sess-${m}`, 3600)
      near(`sid:sid-${m}`, 3600)
      near(`subsess:s-${m}`, 3600)
      near(`rl:rl-${m}`, 300) // the first increment's window
      near(`dc:dc-${m}`, 600 + 3600)
      near(`uc:uc-${m}`, 600)
      near(`keys:signing`, 365 * 86400)
      near(`consent:${JSON.stringify([`sub-${m}`, 'c'])}`, 86400)
      near(`subconsent:sub-${m}`, 86400)
      near(`cutoff:client:${m}`, 500)

      // Nothing of this test was written outside the prefix.
      const marked = await scanKeys(shared, `*${m}*`)
      expect(marked.length).toBeGreaterThan(0)
      expect(marked.filter((k) => !k.startsWith(p))).toEqual([])
    })

    it('keeps no record of a consumed code but its grant id', async () => {
      const { storage: s, now, prefix: p } = harness()
      const t = now()
      await s.authorizationCodes.save({ codeHash: 'c', clientId: 'c', redirectUri: 'https://a/cb', redirectUriSent: true, scope: 'openid', sub: 's', grantId: 'g', authTime: t, nonce: 'secret-nonce', issuedAt: t, expiresAt: t + 60 })
      await s.authorizationCodes.consume('c')
      expect(await shared.hgetall(`${p}code:c`)).toEqual({ x: String(t + 60), g: 'g', c: '1' })
    })

    it('shares signing keys between processes through createSharedKeyStore', async () => {
      const clock = fakeClock()
      const p = `${prefix}shared-keys:`
      const a = createRedisStorage({ client: shared, prefix: p, now: clock.now })
      const b = createRedisStorage({ client: shared, prefix: p, now: clock.now })
      const keyEncryption = createAesKeyWrapper(randomBytes(32))
      const ka = await createSharedKeyStore(a.keys, { now: clock.now, keyEncryption })
      const kb = await createSharedKeyStore(b.keys, { now: clock.now, keyEncryption })
      try {
        expect(kb.signingKey(clock.now()).kid).toBe(ka.signingKey(clock.now()).kid)
        // The value in Redis holds no private key material: no "d" member, nothing that parses as a JWK.
        const stored = await shared.lrange(`${p}keys:signing`, 0, -1)
        expect(stored).toHaveLength(1)
        expect(stored[0]).not.toMatch(/\\?"d\\?"|kty/)
        const next = await ka.rotate()
        await kb.refresh()
        expect(kb.publishedKeys(clock.now()).map((k) => k.kid)).toContain(next.kid)
        clock.advance(600)
        expect(kb.signingKey(clock.now()).kid).toBe(next.kid)
      } finally {
        ka.close()
        kb.close()
      }
    })

    it('passes on errors that are not about the connection as they are', async () => {
      const { storage: s, prefix: p } = harness()
      await shared.hset(`${p}at:wrong`, 'f', 'v')
      const err = await s.accessTokens.find('wrong').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(Error)
      expect(err).not.toBeInstanceOf(StorageUnavailableError)
      expect((err as Error).message).toMatch(/WRONGTYPE/)
    })

    it('refuses keys laid out by a layout version it does not know, naming it', async () => {
      const { storage: s, prefix: p } = harness()
      await shared.set(`${p}layout`, '2')
      const err = await s.accessTokens.find('x').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(RedisLayoutError)
      expect(err).not.toBeInstanceOf(StorageUnavailableError)
      expect((err as Error).message).toMatch(/use layout "2", but this grantkit knows layout 1 only/)
      // Nothing was written, and it keeps refusing.
      await expect(s.replay.markUsed('j', Date.now() / 1000 + 60)).rejects.toBeInstanceOf(RedisLayoutError)
      expect(await shared.exists(`${p}replay:j`)).toBe(0)
      await expect(s.migrate()).rejects.toBeInstanceOf(RedisLayoutError)
    })

    it('reads a prefix written by 0.1.0 (no layout key, unversioned records), and migrate() records the layout', async () => {
      const { storage: s, now, prefix: p } = harness()
      const t = now()
      // An opaque access token and a refresh token as grantkit 0.1.0 stored them.
      const access = { id: 'a', tokenHash: 'h', clientId: 'c', sub: 's', scope: 'x', audience: [], issuedAt: t, expiresAt: t + 60 }
      await shared.set(`${p}at:h`, JSON.stringify(access), 'PX', 60_000)
      const refresh = { tokenHash: 'r', grantId: 'g', clientId: 'c', sub: 's', scope: 'x', issuedAt: t, expiresAt: t + 60, absoluteExpiresAt: t + 600 }
      await shared.hset(`${p}rt:r`, 'r', JSON.stringify(refresh), 'x', String(t + 60), 'o', '0')
      expect(await s.accessTokens.find('h')).toEqual(access)
      expect(await s.refreshTokens.find('r')).toEqual({ record: refresh, rotated: false })
      expect(await shared.get(`${p}layout`)).toBeNull()
      expect(await s.migrate()).toEqual({ before: 0, version: REDIS_LAYOUT_VERSION })
      expect(await shared.get(`${p}layout`)).toBe(String(REDIS_LAYOUT_VERSION))
      expect(await shared.pttl(`${p}layout`)).toBe(-1)
      expect(await s.migrate()).toEqual({ before: REDIS_LAYOUT_VERSION, version: REDIS_LAYOUT_VERSION })
      expect(await s.accessTokens.find('h')).toEqual(access)
    })

    it('rejects bad options with a TypeError naming the field', () => {
      expect(() => createRedisStorage({ client: 'http://x' })).toThrow(/client/)
      expect(() => createRedisStorage({ client: {} as never })).toThrow(/client/)
      expect(() => createRedisStorage({ client: shared, prefix: 1 as never })).toThrow(/prefix/)
      expect(() => createRedisStorage({ client: shared, now: 1 as never })).toThrow(/now/)
    })
  })
}

if (!(await haveRedisServer())) {
  missing('redis storage outages', `redis-server is not installed (the outage tests start their own). Install redis-server, or start Redis with: ${START_REDIS}`)
} else {
  describe('redis storage when Redis goes away', () => {
    let own: OwnRedis
    const opened: RedisStorage[] = []
    const open = (client: Redis | string, now?: () => number) => {
      const s = createRedisStorage({ client, prefix: `grantkit-test:${runId}:own:`, ...(now && { now }) })
      opened.push(s)
      return s
    }
    afterAll(async () => {
      for (const s of opened) await s.close()
      await own?.dispose()
    })

    it('fails fast while Redis was never up, then works once it starts', async () => {
      own = new OwnRedis(await freePort())
      const s = open(own.url)
      const t = Date.now() / 1000
      await failsFast(() => s.accessTokens.find('h'))
      await failsFast(() => s.authorizationCodes.consume('c'))
      await failsFast(() => s.refreshTokens.rotate('r', { tokenHash: 'r2', grantId: 'g', clientId: 'c', sub: 's', scope: '', issuedAt: t, expiresAt: t + 60, absoluteExpiresAt: t + 60 }))
      await failsFast(() => s.replay.markUsed('j', t + 60))
      await failsFast(() => s.interactions.consume('i'))
      await failsFast(() => s.rateLimits.increment('k', t + 60))
      await failsFast(() => s.deviceCodes.poll('d', 'tv', t))
      await failsFast(() => s.keys.list())
      const err = await failsFast(() => s.sessions.find('x'))
      expect(err.message).toMatch(/^redis: sessions\.find: /)

      await own.start()
      await whenReady(s.client)
      await s.sessions.save({ idHash: 'x', sub: 's', authTime: t, expiresAt: t + 60 })
      expect(await s.sessions.find('x')).toMatchObject({ sub: 's' })
    })

    it('answers 503 temporarily_unavailable at the token endpoint during an outage, and recovers without a restart', async () => {
      await own.start()
      const clock = fakeClock()
      const storage = open(own.url, clock.now)
      const server = createAuthorizationServer({ issuer: ISSUER, clients, storage, accessTokenFormat: 'opaque', deps: { now: clock.now, randomId: counterIds() } })
      const outages: unknown[] = []
      server.on('storage.unavailable', (e) => void outages.push(e.error))
      const ask = () => server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))

      await whenReady(storage.client)
      const ok = await ask()
      expect(ok.status).toBe(200)
      expect(await storage.accessTokens.find(hashToken(json(ok).access_token as string))).toMatchObject({ clientId: 'svc' })

      await own.stop()
      const t0 = performance.now()
      const down = await ask()
      expect(performance.now() - t0).toBeLessThan(2000)
      expect(down.status).toBe(503)
      expect(json(down)).toMatchObject({ error: 'temporarily_unavailable' })
      expect(down.headers['retry-after']).toBeDefined()
      expect(outages).toHaveLength(1)
      expect(outages[0]).toBeInstanceOf(StorageUnavailableError)
      await failsFast(() => storage.accessTokens.find('anything'))

      await own.start()
      await whenReady(storage.client)
      const again = await ask()
      expect(again.status).toBe(200)
      expect(await storage.accessTokens.find(hashToken(json(again).access_token as string))).toMatchObject({ clientId: 'svc' })
    })

    it('times out a command the server does not answer', async () => {
      await own.start()
      const s = open(own.url)
      await whenReady(s.client)
      own.signal('SIGSTOP')
      try {
        const err = await failsFast(() => s.authorizationCodes.consume('c'))
        expect(err.message).toMatch(/timed out/)
      } finally {
        own.signal('SIGCONT')
      }
      expect(await s.authorizationCodes.consume('c')).toEqual({ outcome: 'not_found' })
    })

    it('fails fast during an outage even with a client that queues commands offline (ioredis defaults)', async () => {
      await own.start()
      const client = new Redis(own.url)
      client.on('error', () => {})
      try {
        const s = open(client)
        await whenReady(client)
        expect(await s.replay.markUsed('j', Date.now() / 1000 + 60)).toBe(true)
        await own.stop()
        await failsFast(() => s.replay.markUsed('j2', Date.now() / 1000 + 60))
        await s.close() // a client passed in stays open
        expect(client.status).not.toBe('end')
        await own.start()
        await whenReady(client, 10_000)
        expect(await s.replay.markUsed('j3', Date.now() / 1000 + 60)).toBe(true)
      } finally {
        client.disconnect()
      }
    }, 30_000)

    it('runs scripts by EVALSHA and reloads them after SCRIPT FLUSH', async () => {
      await own.start()
      const admin = new Redis(own.url)
      try {
        const s = open(own.url)
        await whenReady(s.client)
        await admin.config('RESETSTAT')
        for (let i = 0; i < 5; i++) await s.rateLimits.increment('k', Date.now() / 1000 + 60)
        await admin.script('FLUSH')
        expect(await s.rateLimits.increment('k', Date.now() / 1000 + 60)).toBe(6)
        const stats = (await admin.info('commandstats')) as string
        expect(Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1])).toBeGreaterThanOrEqual(4)
      } finally {
        admin.disconnect()
      }
    })
  })
}
