import { describe, expect, it, vi } from 'vitest'
import { createAuthorizationServer, createMemoryStorage, defaultFeatures, StorageNotMigratedError, StorageUnavailableError, type Feature } from '../../src/index.js'
import { alice, basic, clients, counterIds, fakeClock, ISSUER, makeServer, plainUsers, tokenRequest } from '../helpers.js'
import { captureLogger } from './capture.js'

describe('the request log (option logger)', () => {
  it('writes one info line per request: id, endpoint, method, status, client, grant type, duration', async () => {
    const logger = captureLogger()
    const { server } = makeServer({ logger })
    await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret'), 'x-request-id': 'rid-ok' }))
    expect(logger.lines).toEqual([
      {
        level: 'info',
        obj: { requestId: 'rid-ok', endpoint: 'token', method: 'POST', status: 200, clientId: 'svc', grantType: 'client_credentials', durationMs: expect.any(Number) },
        msg: 'POST token 200',
      },
    ])
    expect(logger.lines[0]!.obj.durationMs).toBeGreaterThanOrEqual(0)
  })

  it('says in words why a client was refused: it is registered for another authentication method', async () => {
    const logger = captureLogger()
    const { server } = makeServer({ logger })
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials', client_id: 'svc', client_secret: 'svc-secret' }))
    expect(res.status).toBe(401)
    expect(logger.lines).toEqual([
      {
        level: 'info',
        obj: expect.objectContaining({ requestId: res.headers['x-request-id'], status: 401, clientId: 'svc', error: 'invalid_client', reason: 'client is registered for client_secret_basic' }),
        msg: 'POST token 401',
      },
    ])
  })

  it('names the client of a Basic header by its decoded user part, and nothing after the colon', async () => {
    const logger = captureLogger()
    const { server } = makeServer({ logger })
    await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('ünï cödé', 'the-secret') }))
    expect(logger.lines[0]!.obj).toMatchObject({ clientId: 'ünï cödé', reason: 'unknown client' })
    expect(logger.text()).not.toContain('the-secret')
  })

  it('takes no client from a Basic header without a colon', async () => {
    const logger = captureLogger()
    const { server } = makeServer({ logger })
    await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: `Basic ${Buffer.from('only-a-secret').toString('base64')}` }))
    expect(logger.lines[0]!.obj).not.toHaveProperty('clientId')
    expect(logger.text()).not.toContain('only-a-secret')
  })

  it('reads the client of an authorization request from the query, and gives the reason of an error page', async () => {
    const logger = captureLogger()
    const { server } = makeServer({ logger, users: plainUsers(alice()), clients: [{ client_id: 'web', client_secret: 'web-secret-0123456789', redirect_uris: ['https://app.example/cb'], grant_types: ['authorization_code'] }] })
    const url = new URL(`${ISSUER}/authorize?client_id=web&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&response_type=code`)
    const res = await server.handle({ method: 'GET', url, headers: {} })
    expect(res.status).toBe(400)
    expect(logger.lines[0]!.obj).toMatchObject({ endpoint: 'authorization', method: 'GET', status: 400, clientId: 'web', error: 'invalid_request' })
    expect(logger.lines[0]!.obj.reason).toMatch(/redirect_uri/)
  })

  it('gives the reason of a 405', async () => {
    const logger = captureLogger()
    const { server } = makeServer({ logger })
    await server.handle({ method: 'DELETE', url: new URL(`${ISSUER}/token`), headers: {} })
    expect(logger.lines[0]).toMatchObject({ level: 'info', obj: { status: 405, reason: 'method DELETE not allowed' } })
  })

  it('writes a server error at error level with the error message, never the stack', async () => {
    const logger = captureLogger()
    const boom: Feature = {
      name: 'boom',
      endpoints: [{ name: 'boom', path: '/boom', methods: ['GET'], errors: 'json', handle: async () => { throw new RangeError('index 7 out of range') } }],
    }
    const { server } = makeServer({ logger, features: [...defaultFeatures, boom] })
    await server.handle({ method: 'GET', url: new URL(`${ISSUER}/boom`), headers: {} })
    expect(logger.lines).toEqual([
      {
        level: 'error',
        obj: expect.objectContaining({ endpoint: 'boom', status: 500, error: 'server_error', reason: 'internal error', err: { name: 'RangeError', message: 'index 7 out of range' } }),
        msg: 'GET boom 500',
      },
    ])
    expect(logger.text()).not.toMatch(/request-log\.test\.ts|\n\s+at /)
  })

  it('writes storage unavailability at warn, and a storage that is not migrated at error, saying what to run', async () => {
    const logger = captureLogger()
    const storage = createMemoryStorage()
    let failure: Error = new StorageUnavailableError('postgres: connect ECONNREFUSED')
    storage.accessTokens.save = async () => { throw failure }
    const { server } = makeServer({ logger, storage, accessTokenFormat: 'opaque' })
    const request = () => server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))
    expect((await request()).status).toBe(503)
    failure = new StorageNotMigratedError('postgres: relation "grantkit_access_tokens" does not exist; create the tables with migrate() (grantkit migrate --storage postgres://…) or schema.sql')
    expect((await request()).status).toBe(503)
    expect(logger.lines.map((l) => [l.level, l.obj.status, l.obj.error, l.obj.reason])).toEqual([
      ['warn', 503, 'temporarily_unavailable', 'storage unavailable'],
      ['error', 503, 'temporarily_unavailable', expect.stringMatching(/^storage not migrated: .*grantkit migrate --storage/)],
    ])
  })

  it('does not fail a request when the logger throws', async () => {
    const throwing = { debug: vi.fn(), info: vi.fn(() => { throw new Error('disk full') }), warn: vi.fn(), error: vi.fn() }
    const { server } = makeServer({ logger: throwing })
    const res = await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))
    expect(res.status).toBe(200)
    expect(throwing.info).toHaveBeenCalledOnce()
  })

  it('calls the logger as a method, as pino needs', async () => {
    const seen: unknown[] = []
    class PinoLike {
      readonly lines = seen
      debug() {}
      info(obj: object) { this.lines.push(obj) }
      warn() {}
      error() {}
    }
    const { server } = makeServer({ logger: new PinoLike() })
    await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))
    expect(seen).toHaveLength(1)
  })

  it('logs nothing and reads nothing for it without a logger', async () => {
    const clock = fakeClock()
    const server = createAuthorizationServer({ issuer: ISSUER, clients, deps: { now: clock.now, randomId: counterIds() } })
    const now = vi.spyOn(performance, 'now')
    try {
      await server.handle(tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic('svc', 'svc-secret') }))
      expect(now).not.toHaveBeenCalled()
    } finally {
      now.mockRestore()
    }
  })

  it.each([
    ['not an object', 'console', 'logger: must be a logger'],
    ['missing a level', { debug() {}, info() {}, warn() {} }, 'logger.error: must be a function'],
  ])('refuses a logger %s at construction', (_what, logger, message) => {
    expect(() => createAuthorizationServer({ issuer: ISSUER, clients, logger: logger as never })).toThrow(new RegExp(message.replace(/[.]/g, '\\.')))
  })
})
