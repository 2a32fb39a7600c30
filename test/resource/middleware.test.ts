import { once } from 'node:events'
import { connect } from 'node:net'
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import express from 'express'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { protect as protectExpress } from '../../adapters/protect-express.js'
import { protect as protectHono } from '../../adapters/protect-hono.js'
import { protect as protectNode, type ProtectedRequest } from '../../adapters/protect-node.js'
import { createResourceProtector, type ResourceProtector } from '../../src/resource/protector.js'
import { ISSUER } from '../helpers.js'
import { issue, listen, makeAs } from './fixtures.js'

/**
 * Every app has the same routes:
 *   GET  /orders  needs api:read, answers { sub, scope }
 *   GET  /admin   needs api:write
 *   POST /orders  needs api:read, body tokens accepted through the framework's form parser; answers { sub, body }
 *   POST /raw     needs api:read, no parser before the guard; the handler reads the body itself
 *   GET  /down    guarded by a protector whose JWKS cannot be fetched
 */
interface Protectors {
  main: ResourceProtector
  down: ResourceProtector
}

type App = { origin: string; close: () => Promise<void> }

async function readAll(req: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of req) text += String(chunk)
  return text
}

const nodeApp = async ({ main, down }: Protectors): Promise<App> => {
  const orders = protectNode(main, ['api:read'])
  const admin = protectNode(main, ['api:write'])
  const guardDown = protectNode(down)
  return listen(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const send = (value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value))
    if (req.method === 'GET' && path === '/orders') {
      // Connect style: next() runs once the token passed.
      await orders(req, res, () => {
        const { token } = (req as ProtectedRequest).grantkit
        send({ sub: token.sub, scope: token.scope })
      })
    } else if (path === '/admin') {
      if ((await admin(req, res)) !== undefined) send({ ok: true })
    } else if (req.method === 'POST' && path === '/orders') {
      // A body parser ran first and left the form on req.body, as connect parsers do.
      const body = Object.fromEntries(new URLSearchParams(await readAll(req)))
      Object.assign(req, { body })
      const token = await orders(req, res)
      if (token !== undefined) send({ sub: token.sub, body })
    } else if (path === '/raw') {
      const token = await orders(req, res)
      if (token !== undefined) send({ sub: token.sub, body: await readAll(req) })
    } else if (path === '/down') {
      if ((await guardDown(req, res)) !== undefined) send({ ok: true })
    } else res.writeHead(404).end()
  })
}

const expressApp = async ({ main, down }: Protectors): Promise<App> => {
  const app = express()
  app.get('/orders', protectExpress(main, ['api:read']), (req, res) => {
    res.json({ sub: req.grantkit!.token.sub, scope: req.grantkit!.token.scope })
  })
  app.get('/admin', protectExpress(main, ['api:write']), (_req, res) => {
    res.json({ ok: true })
  })
  app.post('/orders', express.urlencoded(), protectExpress(main, ['api:read']), (req, res) => {
    res.json({ sub: req.grantkit!.token.sub, body: req.body })
  })
  app.post('/raw', protectExpress(main, ['api:read']), async (req, res) => {
    res.json({ sub: req.grantkit!.token.sub, body: await readAll(req) })
  })
  app.get('/down', protectExpress(down), (_req, res) => {
    res.json({ ok: true })
  })
  const running = await listen()
  running.http.on('request', app)
  return running
}

const honoApp = async ({ main, down }: Protectors): Promise<App> => {
  const app = new Hono()
  app.get('/orders', protectHono(main, ['api:read']), (c) => c.json({ sub: c.get('grantkit').sub, scope: c.get('grantkit').scope }))
  app.get('/admin', protectHono(main, ['api:write']), (c) => c.json({ ok: true }))
  app.post('/orders', protectHono(main, ['api:read']), async (c) => c.json({ sub: c.get('grantkit').sub, body: await c.req.parseBody() }))
  app.post('/raw', protectHono(main, ['api:read']), async (c) => c.json({ sub: c.get('grantkit').sub, body: await c.req.text() }))
  app.get('/down', protectHono(down), (c) => c.json({ ok: true }))
  const http = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  await once(http, 'listening')
  return {
    origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        http.close((err) => (err ? reject(err) : resolve()))
        http.closeAllConnections()
      }),
  }
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const REALM = `Bearer realm="${ISSUER}"`

describe.each([
  // Only Hono can read the body without taking it from the handler; node and Express see body tokens after a parser.
  ['node', nodeApp, false],
  ['express', expressApp, false],
  ['hono', honoApp, true],
] as const)('protect middleware over HTTP: %s', (_, build, readsUnparsedBody) => {
  const { server } = makeAs()
  const main = createResourceProtector({ server, allowBodyToken: true })
  const down = createResourceProtector({ jwks: { issuer: ISSUER, jwksUri: `${ISSUER}/jwks` }, fetch: () => Promise.reject(new TypeError('fetch failed')) })
  let app: App
  let read: string
  let write: string
  beforeAll(async () => {
    app = await build({ main, down })
    read = await issue(server, 'api:read')
    write = await issue(server, 'api:read api:write')
  })
  afterAll(() => app.close())

  const bearer = (t: string) => ({ authorization: `Bearer ${t}` })

  it('lets a valid token through and hands the verified token to the handler', async () => {
    const res = await fetch(`${app.origin}/orders`, { headers: bearer(read) })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ sub: 'svc', scope: ['api:read'] })
  })

  it('answers no token with 401 and the core challenge', async () => {
    const res = await fetch(`${app.origin}/orders`)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe(REALM)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await res.json()).toEqual({})
  })

  it('answers an invalid token with 401 invalid_token', async () => {
    const res = await fetch(`${app.origin}/orders`, { headers: bearer('nope') })
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"')
    expect((await res.json()).error).toBe('invalid_token')
  })

  it('answers a missing scope with 403 insufficient_scope naming it', async () => {
    const res = await fetch(`${app.origin}/admin`, { headers: bearer(read) })
    expect(res.status).toBe(403)
    expect(res.headers.get('www-authenticate')).toBe(`${REALM}, error="insufficient_scope", error_description="The access token lacks a required scope.", scope="api:write"`)
    expect((await fetch(`${app.origin}/admin`, { headers: bearer(write) })).status).toBe(200)
  })

  it('ignores a query token (not enabled) and answers as if there were none', async () => {
    const res = await fetch(`${app.origin}/orders?access_token=${read}`)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe(REALM)
  })

  it('accepts a body token once the form is parsed, and the handler still gets the body', async () => {
    const res = await fetch(`${app.origin}/orders`, { method: 'POST', headers: FORM, body: `access_token=${read}&item=42` })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ sub: 'svc', body: { access_token: read, item: '42' } })
  })

  it('rejects a token in both the header and the body with 400 invalid_request', async () => {
    const res = await fetch(`${app.origin}/orders`, { method: 'POST', headers: { ...FORM, ...bearer(read) }, body: `access_token=${read}` })
    expect(res.status).toBe(400)
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_request"')
  })

  it('leaves an unparsed body readable by the handler', async () => {
    const res = await fetch(`${app.origin}/raw`, { method: 'POST', headers: { ...FORM, ...bearer(read) }, body: 'item=42' })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ sub: 'svc', body: 'item=42' })
  })

  it(readsUnparsedBody ? 'reads a body token itself, keeping the body for the handler' : 'sees no body token without a parser before it', async () => {
    const res = await fetch(`${app.origin}/raw`, { method: 'POST', headers: FORM, body: `access_token=${read}` })
    if (readsUnparsedBody) {
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ sub: 'svc', body: `access_token=${read}` })
    } else {
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe(REALM)
    }
  })

  it('answers a request whose Host header or path does not parse as a URL', async () => {
    for (const head of ['GET /orders HTTP/1.1\r\nHost: a b', 'GET //a%20b/orders HTTP/1.1\r\nHost: x']) {
      const port = new URL(app.origin).port
      const status = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.end(`${head}\r\nConnection: close\r\n\r\n`))
        let got = ''
        socket.on('data', (d: Buffer) => (got += d.toString()))
        socket.on('close', () => resolve(got.split('\r\n')[0] ?? ''))
        socket.on('error', reject)
      })
      // Any answer but a hang or a crash: the guard answers 401 (no token), the router 404, @hono/node-server 400 itself.
      expect(status).toMatch(/^HTTP\/1\.1 (400|401|404)/)
    }
  })

  it('answers 503 temporarily_unavailable when the keys cannot be fetched', async () => {
    const res = await fetch(`${app.origin}/down`, { headers: bearer(read) })
    expect(res.status).toBe(503)
    expect((await res.json()).error).toBe('temporarily_unavailable')
  })
})
