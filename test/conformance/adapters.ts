/**
 * One factory per way of serving grantkit over HTTP. Each starts a real server
 * on 127.0.0.1 with an ephemeral port, builds the authorization server for the
 * issuer it ended up at, and says how the host app treats other paths.
 */
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import express, { type RequestHandler } from 'express'
import { Hono, type Context } from 'hono'
import { toExpressHandler } from '../../adapters/express.js'
import { toHonoHandler } from '../../adapters/hono.js'
import { toNodeListener } from '../../adapters/node.js'
import { createAuthorizationServer, type AuthorizationServer, type AuthorizationServerOptions } from '../../src/index.js'

export interface RunningServer {
  /** `http://127.0.0.1:PORT` */
  origin: string
  /** The issuer: the origin, plus the mount path when there is one. */
  issuer: string
  /** The authorization server behind the adapter. */
  server: AuthorizationServer
  /**
   * A path the host app answers itself with 418, when the adapter passes
   * requests it has no route for to the app. The app also registers its 418
   * handler on grantkit paths after grantkit, to show those never reach it.
   */
  appPath?: string
  close(): Promise<void>
}

export type Factory = (options: (issuer: string) => AuthorizationServerOptions) => Promise<RunningServer>

export const APP_PATH = '/app/teapot'

function originOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return originOf(server)
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()))
      server.closeAllConnections()
    })
}

const node: Factory = async (options) => {
  const http = createServer()
  const origin = await listen(http)
  const server = createAuthorizationServer(options(origin))
  http.on('request', toNodeListener(server))
  return { origin, issuer: origin, server, close: closer(http) }
}

const expressTeapot: RequestHandler = (_req, res) => {
  res.status(418).type('text/plain').send('the app')
}

/** An Express app with grantkit at `mount` ('' = app.use(handler)), optionally behind express.urlencoded(). */
function expressApp(mount: string, urlencoded: boolean): Factory {
  return async (options) => {
    const app = express()
    const http = createServer(app)
    const origin = await listen(http)
    const server = createAuthorizationServer(options(origin + mount))
    if (urlencoded) app.use(express.urlencoded())
    if (mount === '') app.use(toExpressHandler(server))
    else {
      // RFC 8414 §3.1: the metadata of an issuer with a path lives outside that path.
      const handler = toExpressHandler(server)
      app.use(mount, handler)
      app.use('/.well-known', handler)
    }
    app.use(APP_PATH, expressTeapot)
    app.use(`${mount}/jwks`, expressTeapot)
    app.use(`${mount}/interaction`, expressTeapot)
    app.use(`${mount}/token`, expressTeapot)
    return { origin, issuer: origin + mount, server, appPath: APP_PATH, close: closer(http) }
  }
}

const honoTeapot = (c: Context) => c.text('the app', 418)

const hono: Factory = async (options) => {
  const app = new Hono()
  const http = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
  await once(http, 'listening')
  const origin = originOf(http)
  const server = createAuthorizationServer(options(origin))
  // Routes are added before the first request, so Hono's router is not built yet.
  app.use('*', toHonoHandler(server))
  app.all(APP_PATH, honoTeapot)
  app.all('/jwks', honoTeapot)
  app.all('/interaction/*', honoTeapot)
  app.all('/token', honoTeapot)
  return { origin, issuer: origin, server, appPath: APP_PATH, close: closer(http) }
}

/** Every way the suite serves grantkit, by name. */
export const adapters: Array<[string, Factory]> = [
  ['node', node],
  ['express', expressApp('', false)],
  ['express mounted at /auth', expressApp('/auth', false)],
  ['express after express.urlencoded()', expressApp('', true)],
  ['hono', hono],
]
