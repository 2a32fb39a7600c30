import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { parseArgs } from '../../src/cli/args.js'
import { runClients } from '../../src/cli/clients.js'
import { CliError } from '../../src/cli/errors.js'
import { runGrants } from '../../src/cli/grants.js'
import { createAuthorizationServer } from '../../src/index.js'
import { createRedisStorage } from '../../src/storage/redis/index.js'
import { authorizeAs, Browser, redirect, testClients, tinyUsers, WEB_AUTH, WEB_CB } from '../authorize/fixtures.js'
import { basic, counterIds, fakeClock, json, tokenRequest } from '../helpers.js'
import { REDIS_URL, withDeadline } from '../storage/services.js'

describe('grantkit clients|grants: command line', () => {
  it('parses every clients command, with repeatable list flags and GRANTKIT_STORAGE', () => {
    expect(parseArgs(['clients', 'add', '--storage', 'redis://r', '--name', 'App', '--redirect-uri', 'https://a.example/1', '--redirect-uri=https://a.example/2', '--grant-type', 'authorization_code', '--auth-method', 'client_secret_post', '--scope', 'openid api'])).toEqual({
      command: 'clients',
      action: 'add',
      storage: 'redis://r',
      json: false,
      metadata: { client_name: 'App', redirect_uris: ['https://a.example/1', 'https://a.example/2'], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_post', scope: 'openid api' },
    })
    expect(parseArgs(['clients', 'list', '--json'], { GRANTKIT_STORAGE: 'postgres://db/x' })).toEqual({ command: 'clients', action: 'list', storage: 'postgres://db/x', json: true })
    expect(parseArgs(['clients', 'rotate-secret', 'app', '--old-valid-for', '60', '--storage', 'redis://r'])).toMatchObject({ action: 'rotate-secret', clientId: 'app', oldValidFor: 60 })
    expect(parseArgs(['clients', 'remove', 'app', '--storage', 'redis://r'])).toMatchObject({ action: 'remove', clientId: 'app' })
    expect(parseArgs(['grants', 'revoke', '--sub', 'alice', '--client', 'web', '--storage', 'redis://r'])).toEqual({ command: 'grants', action: 'revoke', storage: 'redis://r', json: false, sub: 'alice', clientId: 'web' })
    expect(parseArgs(['clients', '--help'])).toEqual({ command: 'help', topic: 'clients' })
  })

  it('refuses what it cannot do, as usage errors (exit code 2)', () => {
    const usage = (argv: string[]) => {
      try {
        parseArgs(argv, {})
      } catch (e) {
        expect(e).toBeInstanceOf(CliError)
        expect((e as CliError).exitCode).toBe(2)
        return (e as Error).message
      }
      throw new Error('no error')
    }
    expect(usage(['clients'])).toMatch(/clients: which\?/)
    expect(usage(['clients', 'drop', 'x'])).toMatch(/unknown command "clients drop"/)
    expect(usage(['clients', 'list'])).toMatch(/--storage is required/)
    expect(usage(['clients', 'list', '--storage', 'memory'])).toMatch(/the storage grantkit serve uses/)
    expect(usage(['clients', 'show', '--storage', 'redis://r'])).toMatch(/give one client id/)
    expect(usage(['clients', 'add', '--storage', 'redis://r', '--name', 'a', '--name', 'b'])).toMatch(/--name: given more than once/)
    expect(usage(['clients', 'rotate-secret', 'x', '--storage', 'redis://r', '--old-valid-for', 'soon'])).toMatch(/not a number of seconds/)
    expect(usage(['grants', 'list', '--storage', 'redis://r'])).toMatch(/--sub is required/)
    expect(usage(['grants', 'list', '--sub', 'a', '--client', 'x', '--storage', 'redis://r'])).toMatch(/unknown option "--client"/)
  })
})

describe('grantkit clients|grants on Redis, the storage a server uses', async () => {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, commandTimeout: 5000 })
  probe.on('error', () => {})
  const up = await withDeadline(3000, 'Redis', () => probe.connect()).then(
    () => true,
    () => false,
  )
  const prefix = `grantkit-test:${randomBytes(4).toString('hex')}:cli-admin:`
  const storages: Array<{ close(): Promise<void> }> = []
  afterAll(async () => {
    for (const s of storages) await s.close()
    if (up) {
      const keys = await probe.keys(`${prefix}*`)
      if (keys.length > 0) await probe.del(...keys)
    }
    probe.disconnect()
  })

  function serverOnIt() {
    const storage = createRedisStorage({ client: REDIS_URL, prefix })
    storages.push(storage)
    const clock = fakeClock(Math.floor(Date.now() / 1000))
    const server = createAuthorizationServer({ issuer: 'https://as.example', clients: testClients, users: tinyUsers, storage, clientCacheTtl: 0, deps: { now: clock.now, randomId: counterIds() } })
    return { server, clock }
  }

  it.runIf(up)('adds a client a server then accepts, rotates its secret, shows, lists and removes it, auditing as the OS user', async () => {
    const out: string[] = []
    const log: string[] = []
    const opts = { prefix, log: (l: string) => log.push(l) }
    await runClients(parseArgs(['clients', 'add', '--storage', REDIS_URL, '--name', 'Svc', '--grant-type', 'client_credentials', '--scope', 'api:read', '--json']) as never, (l) => out.push(l), opts)
    const added = JSON.parse(out.pop()!) as { client_id: string; client_secret: string }
    expect(added.client_secret).toBeTypeOf('string')

    const { server } = serverOnIt()
    const cc = (secret: string) => server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(added.client_id, secret) }))
    expect((await cc(added.client_secret)).status).toBe(200)

    await runClients(parseArgs(['clients', 'rotate-secret', added.client_id, '--old-valid-for', '0', '--storage', REDIS_URL]) as never, (l) => out.push(l), opts)
    const fresh = /^client_secret: (\S+)$/.exec(out.find((l) => l.startsWith('client_secret:'))!)![1]!
    expect(out.at(-1)).toBe('The old secret no longer works.')
    expect((await cc(fresh)).status).toBe(200)
    expect((await cc(added.client_secret)).status).toBe(401)

    out.length = 0
    await runClients(parseArgs(['clients', 'show', added.client_id, '--storage', REDIS_URL]) as never, (l) => out.push(l), opts)
    expect(out.join('\n')).toContain('name:         Svc')
    expect(out.join('\n')).not.toContain(fresh)
    out.length = 0
    await runClients(parseArgs(['clients', 'list', '--storage', REDIS_URL]) as never, (l) => out.push(l), opts)
    expect(out).toEqual([`${added.client_id}\tSvc\tclient_credentials`])
    await runClients(parseArgs(['clients', 'remove', added.client_id, '--storage', REDIS_URL]) as never, (l) => out.push(l), opts)
    expect((await cc(fresh)).status).toBe(401)
    const missing = await runClients(parseArgs(['clients', 'remove', added.client_id, '--storage', REDIS_URL]) as never, () => {}, opts).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(CliError)

    const events = log.map((l) => JSON.parse(l) as { type: string; action: string; outcome: string; actor: { cli: string }; target: { clientId: string } })
    expect(events.map((e) => [e.type, e.action, e.outcome])).toEqual([
      ['admin.audit', 'client.create', 'success'],
      ['admin.audit', 'client.secret.rotate', 'success'],
      ['admin.audit', 'client.delete', 'success'],
      ['admin.audit', 'client.delete', 'failure'],
    ])
    expect(events[0]!.actor.cli).toBeTypeOf('string')
    expect(events[0]!.target.clientId).toBe(added.client_id)
    expect(log.join('\n')).not.toContain(fresh)
    expect(log.join('\n')).not.toContain(added.client_secret)
  })

  it.runIf(up)('lists a person\'s sessions and consents, and revokes them with their tokens', async () => {
    const { server } = serverOnIt()
    const h = { server, clock: fakeClock() }
    const browser = new Browser()
    const params = { response_type: 'code', client_id: 'web', redirect_uri: WEB_CB, scope: 'openid offline_access', state: 's' }
    const code = redirect(await authorizeAs(h, browser, params)).query.get('code')!
    const tokens = json(await server.handle(tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: WEB_CB }, WEB_AUTH)))
    expect(tokens.refresh_token).toBeTypeOf('string')

    const out: string[] = []
    const opts = { prefix, log: () => {} }
    await runGrants(parseArgs(['grants', 'list', '--sub', 'sub-alice', '--storage', REDIS_URL, '--json']) as never, (l) => out.push(l), opts)
    const listed = JSON.parse(out.pop()!) as { sessions: Array<{ clients: string[] }>; consents: Array<{ clientId: string }> }
    expect(listed.sessions).toHaveLength(1)
    expect(listed.consents.map((c) => c.clientId)).toEqual(['web'])

    const log: string[] = []
    await runGrants(parseArgs(['grants', 'revoke', '--sub', 'sub-alice', '--storage', REDIS_URL]) as never, (l) => out.push(l), { prefix, log: (l) => log.push(l) })
    expect(out.pop()).toBe('Revoked the tokens of sub-alice at every client; ended 1 session(s); withdrew consent to web.')
    expect(JSON.parse(log[0]!)).toMatchObject({ type: 'admin.audit', action: 'grants.revoke', target: { sub: 'sub-alice' }, outcome: 'success' })
    const refreshed = await server.handle(tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string }, WEB_AUTH))
    expect(json(refreshed).error).toBe('invalid_grant')
    const info = await server.handle({ method: 'GET', url: new URL('https://as.example/userinfo'), headers: { authorization: `Bearer ${tokens.access_token as string}` } })
    expect(info.status).toBe(401)
    await runGrants(parseArgs(['grants', 'list', '--sub', 'sub-alice', '--storage', REDIS_URL, '--json']) as never, (l) => out.push(l), opts)
    expect(JSON.parse(out.pop()!)).toMatchObject({ sessions: [], consents: [] })
  })
})
