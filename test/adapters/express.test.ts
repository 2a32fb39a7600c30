import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { toExpressHandler } from '../../adapters/express.js'
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

/** Starts an Express app on 127.0.0.1; `setup` gets the origin, to build a server for it. */
async function start(setup: (app: Express, origin: string) => void): Promise<string> {
  const app = express()
  http = createServer(app)
  http.listen(0, '127.0.0.1')
  await once(http, 'listening')
  const origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  setup(app, origin)
  return origin
}

const teapot: RequestHandler = (_req, res) => {
  res.status(418).send('the app')
}

function token(url: string, body = 'grant_type=client_credentials', headers: Record<string, string> = FORM): Promise<Response> {
  return fetch(url, { method: 'POST', headers, body })
}

describe('Express adapter', () => {
  describe('mounting', () => {
    it('at the app root, serves an issuer with a path, RFC 8414 well-known (outside that path) included', async () => {
      const origin = await start((app, origin) => {
        app.use(toExpressHandler(authorizationServer(origin + '/auth')))
        app.use(teapot)
      })
      const rfc8414 = await fetch(origin + '/.well-known/oauth-authorization-server/auth')
      expect(rfc8414.status).toBe(200)
      expect(((await rfc8414.json()) as { issuer: string }).issuer).toBe(origin + '/auth')
      expect((await fetch(origin + '/auth/.well-known/openid-configuration')).status).toBe(200)
      expect((await token(origin + '/auth/token')).status).toBe(200)
      // Paths of no endpoint of this issuer belong to the app.
      expect((await token(origin + '/token')).status).toBe(418)
      expect((await fetch(origin + '/.well-known/oauth-authorization-server')).status).toBe(418)
    })

    it('with app.use("/auth"), matches the full path (originalUrl) and passes other paths under the mount on', async () => {
      const origin = await start((app, origin) => {
        app.use('/auth', toExpressHandler(authorizationServer(origin + '/auth')))
        app.use(teapot)
      })
      expect((await token(origin + '/auth/token')).status).toBe(200)
      expect((await fetch(origin + '/auth/jwks')).status).toBe(200)
      expect((await fetch(origin + '/auth/elsewhere')).status).toBe(418)
      // Under the interaction prefix, everything is the built-in pages' (an unknown uid is their 404).
      const page = await fetch(origin + '/auth/interaction/too-short')
      expect(page.status).toBe(404)
      expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    })

    it('inside an express.Router mounted at the issuer path', async () => {
      const origin = await start((app, origin) => {
        const router = express.Router()
        router.use(toExpressHandler(authorizationServer(origin + '/auth')))
        app.use('/auth', router)
      })
      expect((await token(origin + '/auth/token')).status).toBe(200)
    })
  })

  describe('bodies', () => {
    it('leaves the body of a request that is not its own unread, for the app', async () => {
      const origin = await start((app, origin) => {
        app.use(toExpressHandler(authorizationServer(origin)))
        app.post('/echo', express.text({ type: '*/*' }), (req, res) => {
          res.send(`got ${String(req.body)}`)
        })
      })
      const res = await fetch(origin + '/echo', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&a=2' })
      expect(await res.text()).toBe('got a=1&a=2')
    })

    it('refuses a JSON body that express.json() parsed before it, as the core refuses any non-form body', async () => {
      const origin = await start((app, origin) => {
        app.use(express.json())
        app.use(toExpressHandler(authorizationServer(origin)))
      })
      const res = await token(origin + '/token', JSON.stringify({ grant_type: 'client_credentials' }), { 'content-type': 'application/json', authorization: SVC })
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ error: 'invalid_request' })
    })

    it('still reads a form body itself when express.json() ran before it', async () => {
      const origin = await start((app, origin) => {
        app.use(express.json())
        app.use(toExpressHandler(authorizationServer(origin)))
      })
      expect((await token(origin + '/token')).status).toBe(200)
    })

    it('uses a form body express.urlencoded({ extended: true }) parsed, repeated parameters included', async () => {
      const origin = await start((app, origin) => {
        app.use(express.urlencoded({ extended: true }))
        app.use(toExpressHandler(authorizationServer(origin)))
      })
      expect((await token(origin + '/token')).status).toBe(200)
      const repeated = await token(origin + '/token', 'grant_type=client_credentials&scope=api:read&scope=api:read')
      expect(repeated.status).toBe(400)
      expect(await repeated.json()).toMatchObject({ error: 'invalid_request' })
    })

    it('uses a body express.text() read as the raw form text', async () => {
      const origin = await start((app, origin) => {
        app.use(express.text({ type: 'application/x-www-form-urlencoded' }))
        app.use(toExpressHandler(authorizationServer(origin)))
      })
      expect((await token(origin + '/token')).status).toBe(200)
      const repeated = await token(origin + '/token', 'grant_type=client_credentials&grant_type=client_credentials')
      expect(await repeated.json()).toMatchObject({ error: 'invalid_request' })
    })

    it('applies its maxBodyBytes option: 413 with an OAuth error, and the app keeps serving', async () => {
      const origin = await start((app, origin) => {
        app.use(toExpressHandler(authorizationServer(origin), { maxBodyBytes: 1024 }))
      })
      const res = await token(origin + '/token', 'grant_type=client_credentials&pad=' + 'x'.repeat(5000))
      expect(res.status).toBe(413)
      expect(await res.json()).toMatchObject({ error: 'invalid_request' })
      expect((await token(origin + '/token')).status).toBe(200)
    })
  })

  describe('request details', () => {
    it('passes the peer address to the core', async () => {
      let seen: GrantkitRequest[] = []
      const origin = await start((app, origin) => {
        const spy = spied(authorizationServer(origin))
        seen = spy.seen
        app.use(toExpressHandler(spy.handler))
      })
      await token(origin + '/token')
      expect(seen[0]!.remoteAddress).toMatch(/^(::ffff:)?127\.0\.0\.1$/)
    })

    it('passes the client address Express derives under its "trust proxy" setting (req.ip)', async () => {
      let seen: GrantkitRequest[] = []
      const origin = await start((app, origin) => {
        app.set('trust proxy', 'loopback')
        const spy = spied(authorizationServer(origin))
        seen = spy.seen
        app.use(toExpressHandler(spy.handler))
      })
      await token(origin + '/token', undefined, { ...FORM, 'x-forwarded-for': '203.0.113.9' })
      expect(seen[0]!.remoteAddress).toBe('203.0.113.9')
    })

    it('answers HEAD on the JWKS with the headers of GET and no body', async () => {
      let seen: GrantkitRequest[] = []
      const origin = await start((app, origin) => {
        const spy = spied(authorizationServer(origin))
        seen = spy.seen
        app.use(toExpressHandler(spy.handler))
      })
      const res = await fetch(origin + '/jwks', { method: 'HEAD' })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(res.headers.get('cache-control')).toMatch(/^public, max-age=/)
      expect(await res.text()).toBe('')
      expect(seen[0]!.method).toBe('HEAD')
    })

    it('hands an error thrown below it to the app’s error handler', async () => {
      const origin = await start((app) => {
        app.use(
          toExpressHandler({
            routes: () => true,
            handle: () => Promise.reject(new Error('boom')),
          }),
        )
        const onError: ErrorRequestHandler = (err: Error, _req, res, _next) => {
          res.status(599).send(err.message)
        }
        app.use(onError)
      })
      const res = await fetch(origin + '/token', { method: 'POST' })
      expect(res.status).toBe(599)
      expect(await res.text()).toBe('boom')
    })
  })
})
