/**
 * Several `grantkit serve` processes on one database act as one server
 * (contract: ../shared/contracts/serve.md, "Scale"): what one issues, revokes,
 * approves or rotates, the other sees, and a one-time artefact is redeemed once.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Browser, signInAndAllow } from './browser.js'
import { killAll, requireBuiltCli, startCli } from './run-cli.js'
import { REDIS_CLUSTER_URL, redisDatabaseUrl } from '../storage/services.js'
import { isolatedPostgres, reachable } from './services.js'

// A database (and a Redis database number) of their own on the servers the
// tests are given: see isolatedPostgres.
const REDIS = redisDatabaseUrl(7)
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code'

let dir: string
beforeAll(() => {
  requireBuiltCli()
  dir = mkdtempSync(join(tmpdir(), 'grantkit-scale-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(() => killAll())

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

const basic = (id: string, secret: string): string => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64')

async function post(url: string, form: Record<string, string>, auth?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(auth !== undefined && { authorization: auth }) },
    body: new URLSearchParams(form),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** Two processes A and B on one database, with A's address as the shared issuer (the load balancer, in production). */
async function startPair(storage: string, format: 'jwt' | 'opaque'): Promise<{ a: string; b: string }> {
  const portA = await freePort()
  const a = `http://127.0.0.1:${portA}`
  const file = join(dir, `config-${randomBytes(4).toString('hex')}.json`)
  writeFileSync(
    file,
    JSON.stringify({
      issuer: a,
      accessTokenFormat: format,
      devicePollInterval: 1,
      clients: [
        { client_id: 'web', client_secret: 'web-secret', redirect_uris: ['http://127.0.0.1:9/cb'], grant_types: ['authorization_code', 'refresh_token'], scope: 'openid api:read' },
        { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' },
        { client_id: 'rs', client_secret: 'rs-secret', grant_types: ['client_credentials'], introspection_allowed: true },
        { client_id: 'tv', token_endpoint_auth_method: 'none', grant_types: [DEVICE], scope: 'api:read' },
      ],
      users: [{ username: 'alice', password: 'wonderland' }],
    }),
  )
  const procA = startCli(['serve', '--config', file, '--port', String(portA), '--storage', storage])
  await procA.listening(20_000)
  const procB = startCli(['serve', '--config', file, '--port', '0', '--storage', storage])
  const b = await procB.listening(20_000)
  return { a, b }
}

async function codeAt(a: string): Promise<{ code: string; verifier: string }> {
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const browser = new Browser(a)
  const url = `${a}/authorize?` + new URLSearchParams({ response_type: 'code', client_id: 'web', redirect_uri: 'http://127.0.0.1:9/cb', scope: 'api:read', state: 's', code_challenge: challenge, code_challenge_method: 'S256' })
  // Consent is remembered after the first time, so login may lead straight back to the client.
  const afterLogin = await browser.submit(await browser.open(url), { username: 'alice', password: 'wonderland' })
  const done = afterLogin.leftTo !== undefined ? afterLogin : await browser.submit(afterLogin, { decision: 'allow' })
  const code = done.leftTo?.searchParams.get('code')
  if (code == null) throw new Error(`no code: ${done.status} ${done.html}`)
  return { code, verifier }
}

const postgresUp = await reachable('postgres')
const POSTGRES = postgresUp.ok ? await isolatedPostgres('grantkit_cli_scale') : 'postgres://unreachable'
const services = [
  ['PostgreSQL', POSTGRES, postgresUp],
  ['Redis', REDIS, await reachable('redis')],
  // `--storage redis+cluster://…`: the processes use the default key prefix, on a cluster that has no databases to set apart.
  ['Redis Cluster', REDIS_CLUSTER_URL, await reachable('redisCluster')],
] as const

for (const [name, storage, up] of services) {
  describe(`two grantkit serve processes on one ${name}`, () => {
    // In CI a database that cannot be reached is a failure, never a silent skip.
    if (!up.ok && process.env.CI === 'true') {
      it(`needs ${name}`, () => expect.fail(up.message))
      return
    }
    if (!up.ok) console.warn(`[multi-process] ${name} tests skipped: ${up.message}`)

    it.skipIf(!up.ok)('redeems at B a code issued at A', async () => {
      const { a, b } = await startPair(storage, 'jwt')
      const { code, verifier } = await codeAt(a)
      const res = await post(`${b}/token`, { grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: verifier }, basic('web', 'web-secret'))
      expect(res.status).toBe(200)
      // The signing key is shared: B's token verifies with A's JWKS.
      const jwksA = (await (await fetch(`${a}/jwks`)).json()) as { keys: Array<{ kid: string }> }
      const kid = JSON.parse(Buffer.from(String(res.body.access_token).split('.')[0]!, 'base64url').toString()).kid as string
      expect(jwksA.keys.map((k) => k.kid)).toContain(kid)
      // And the code is gone for A too.
      expect((await post(`${a}/token`, { grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: verifier }, basic('web', 'web-secret'))).body.error).toBe('invalid_grant')
    }, 60_000)

    for (const format of ['jwt', 'opaque'] as const) {
      it.skipIf(!up.ok)(`leaves a ${format} token revoked at A inactive at B`, async () => {
        const { a, b } = await startPair(storage, format)
        const token = String((await post(`${a}/token`, { grant_type: 'client_credentials' }, basic('svc', 'svc-secret'))).body.access_token)
        expect((await post(`${b}/introspect`, { token }, basic('rs', 'rs-secret'))).body.active).toBe(true)
        expect((await post(`${a}/revoke`, { token }, basic('svc', 'svc-secret'))).status).toBe(200)
        expect((await post(`${b}/introspect`, { token }, basic('rs', 'rs-secret'))).body).toEqual({ active: false })
      }, 60_000)
    }

    it.skipIf(!up.ok)('hands a device approved through A to a poll at B', async () => {
      const { a, b } = await startPair(storage, 'opaque')
      const start = (await post(`${b}/device_authorization`, { client_id: 'tv', scope: 'api:read' })).body
      const browser = new Browser(a)
      const entry = await browser.open(`${a}/device?user_code=${String(start.user_code)}`)
      const login = await browser.submit(entry)
      const done = await signInAndAllow(browser, login, 'alice', 'wonderland')
      expect(done.html).toContain('Device connected')
      const res = await post(`${b}/token`, { grant_type: DEVICE, client_id: 'tv', device_code: String(start.device_code) })
      expect(res.status).toBe(200)
      expect(res.body.token_type).toBe('Bearer')
    }, 60_000)

    it.skipIf(!up.ok)('lets exactly one of A and B rotate a refresh token sent to both at the same instant', async () => {
      const { a, b } = await startPair(storage, 'jwt')
      for (let round = 0; round < 3; round++) {
        const { code, verifier } = await codeAt(a)
        const first = await post(`${a}/token`, { grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: verifier }, basic('web', 'web-secret'))
        const refresh = String(first.body.refresh_token)
        const form = { grant_type: 'refresh_token', refresh_token: refresh }
        const results = await Promise.all([post(`${a}/token`, form, basic('web', 'web-secret')), post(`${b}/token`, form, basic('web', 'web-secret'))])
        expect(results.map((r) => r.status).sort()).toEqual([200, 400])
        expect(results.find((r) => r.status === 400)!.body.error).toBe('invalid_grant')
      }
    }, 90_000)
  })
}
