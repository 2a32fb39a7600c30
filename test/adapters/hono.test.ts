import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono, type Context } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { toHonoHandler } from '../../adapters/hono.js'
import { createAuthorizationServer, type AuthorizationServer, type GrantkitRequest } from '../../src/index.js'
import { basic } from '../helpers.js'

const SVC = basic('svc', 'svc-secret')
const FORM = { 'content-type': 'application/x-www-form-urlencoded', authorization: SVC }

let http: Server | undefined
afterEach(async () => {
  if (http === undefined) return
  const closing = new Promise<void>((resolve) => http!.close(() => resolve()))
  http.closeAllConnections()
  await closing
  http = undefined
})

function authorizationServer(issuer: string): AuthorizationServer {
  return createAuthorizationServer({
    issuer,
    clients: [{ client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' }],
  })
}

/** The server behind a spy that keeps every request the adapter hands to the core. */
function spied(server: AuthorizationServer): { seen: GrantkitRequest[]; handler: Pick<AuthorizationServer, 'handle' | 'routes'> } {
  const seen: GrantkitRequest[] = []
  return { seen, handler: { routes: (p) => server.routes(p), handle: (req) => (seen.push(req), server.handle(req)) } }
}

/** Serves a Hono app with @hono/node-server on 127.0.0.1; `setup` gets the origin, to build a server for it. */
async function start(setup: (app: Hono, origin: string) => void): Promise<string> {
  const app = new Hono()
  http = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  await once(http, 'listening')
  const origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  setup(app, origin)
  return origin
}

const teapot = (c: Context) => c.text('the app', 418)

function token(url: string, body = 'grant_type=client_credentials', headers: Record<string, string> = FORM): Promise<Response> {
  return fetch(url, { method: 'POST', headers, body })
}

describe('Hono adapter', () => {
  describe('mounting', () => {
    it("with app.use('*'), serves an issuer with a path, RFC 8414 well-known (outside that path) included", async () => {
      const origin = await start((app, origin) => {
        app.use('*', toHonoHandler(authorizationServer(origin + '/auth')))
        app.all('*', teapot)
      })
      const rfc8414 = await fetch(origin + '/.well-known/oauth-authorization-server/auth')
      expect(rfc8414.status).toBe(200)
      expect(((await rfc8414.json()) as { issuer: string }).issuer).toBe(origin + '/auth')
      expect((await fetch(origin + '/auth/.well-known/openid-configuration')).status).toBe(200)
      expect((await token(origin + '/auth/token')).status).toBe(200)
      expect((await token(origin + '/token')).status).toBe(418)
    })

    it('under the issuer path, answers its endpoints there and passes the rest of the path on', async () => {
      const origin = await start((app, origin) => {
        app.use('/auth/*', toHonoHandler(authorizationServer(origin + '/auth')))
        app.all('*', teapot)
      })
      expect((await token(origin + '/auth/token')).status).toBe(200)
      expect((await fetch(origin + '/auth/jwks')).status).toBe(200)
      expect((await fetch(origin + '/auth/elsewhere')).status).toBe(418)
    })

    it('under the issuer path, with /.well-known mounted too, serves the RFC 8414 well-known (§3.1)', async () => {
      const origin = await start((app, origin) => {
        const handler = toHonoHandler(authorizationServer(origin + '/auth'))
        app.use('/auth/*', handler)
        app.use('/.well-known/*', handler)
      })
      expect((await fetch(origin + '/.well-known/oauth-authorization-server/auth')).status).toBe(200)
    })

    it('in a sub-app routed at the issuer path', async () => {
      const origin = await start((app, origin) => {
        const sub = new Hono()
        sub.use('*', toHonoHandler(authorizationServer(origin + '/auth')))
        app.route('/auth', sub)
      })
      expect((await token(origin + '/auth/token')).status).toBe(200)
    })
  })

  describe('bodies', () => {
    it('leaves the body of a request that is not its own unread, for the app', async () => {
      const origin = await start((app, origin) => {
        app.use('*', toHonoHandler(authorizationServer(origin)))
        app.post('/echo', async (c) => c.text(`got ${await c.req.text()}`))
      })
      const res = await fetch(origin + '/echo', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&a=2' })
      expect(await res.text()).toBe('got a=1&a=2')
    })

    it('uses a body an earlier middleware read as text (Hono keeps it in its body cache)', async () => {
      const origin = await start((app, origin) => {
        app.use('*', async (c, next) => {
          if (c.req.method === 'POST') await c.req.text()
          await next()
        })
        app.use('*', toHonoHandler(authorizationServer(origin)))
      })
      const res = await token(origin + '/token')
      expect(res.status).toBe(200)
    })

    it('uses a form an earlier middleware parsed with c.req.parseBody(), repeated parameters included', async () => {
      const origin = await start((app, origin) => {
        app.use('*', async (c, next) => {
          if (c.req.method === 'POST') await c.req.parseBody()
          await next()
        })
        app.use('*', toHonoHandler(authorizationServer(origin)))
      })
      expect((await token(origin + '/token')).status).toBe(200)
      const repeated = await token(origin + '/token', 'grant_type=client_credentials&scope=api:read&scope=api:read')
      expect(repeated.status).toBe(400)
      expect(await repeated.json()).toMatchObject({ error: 'invalid_request' })
    })

    it('applies its maxBodyBytes option: 413 with an OAuth error, and the app keeps serving', async () => {
      const origin = await start((app, origin) => {
        app.use('*', toHonoHandler(authorizationServer(origin), { maxBodyBytes: 1024 }))
      })
      const res = await token(origin + '/token', 'grant_type=client_credentials&pad=' + 'x'.repeat(5000))
      expect(res.status).toBe(413)
      expect(res.headers.get('connection')).toBe('close')
      expect(await res.json()).toMatchObject({ error: 'invalid_request' })
      expect((await token(origin + '/token')).status).toBe(200)
    })
  })

  describe('request details', () => {
    it('passes the peer address @hono/node-server exposes (c.env.incoming) to the core', async () => {
      let seen: GrantkitRequest[] = []
      const origin = await start((app, origin) => {
        const spy = spied(authorizationServer(origin))
        seen = spy.seen
        app.use('*', toHonoHandler(spy.handler))
      })
      expect((await token(origin + '/token')).status).toBe(200)
      expect(seen[0]!.remoteAddress).toMatch(/^(::ffff:)?127\.0\.0\.1$/)
    })

    it('answers HEAD on the JWKS with the headers of GET and no body', async () => {
      let seen: GrantkitRequest[] = []
      const origin = await start((app, origin) => {
        const spy = spied(authorizationServer(origin))
        seen = spy.seen
        app.use('*', toHonoHandler(spy.handler))
      })
      const res = await fetch(origin + '/jwks', { method: 'HEAD' })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(res.headers.get('cache-control')).toMatch(/^public, max-age=/)
      expect(res.headers.get('access-control-allow-origin')).toBe('*')
      expect(await res.text()).toBe('')
      expect(seen[0]!.method).toBe('HEAD')
    })
  })
})
