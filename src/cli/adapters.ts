import type { RequestListener } from 'node:http'
import { toExpressHandler } from '../../adapters/express.js'
import { toHonoHandler } from '../../adapters/hono.js'
import { toNodeListener } from '../../adapters/node.js'
import type { AuthorizationServer } from '../index.js'
import type { AdapterName } from './args.js'
import { CliError } from './errors.js'

/** Imports an optional peer dependency, or says which package to install. */
async function peer<T>(name: string, adapter: AdapterName): Promise<T> {
  try {
    return (await import(name)) as T
  } catch {
    throw new CliError(`--adapter ${adapter}: needs the package "${name}"; install it with: npm install ${name}`)
  }
}

/**
 * The request listener for `--adapter`: the same server behind node:http,
 * an Express app or a Hono app, so each adapter can be tried black-box.
 */
export async function listenerFor(adapter: AdapterName, server: AuthorizationServer, maxBodyBytes: number): Promise<RequestListener> {
  if (adapter === 'express') {
    const express = await peer<{ default: () => RequestListener & { use(h: unknown): void } }>('express', adapter)
    const app = express.default()
    app.use(toExpressHandler(server, { maxBodyBytes }))
    return app
  }
  if (adapter === 'hono') {
    const { Hono } = await peer<{ Hono: new () => { use(path: string, h: unknown): void; fetch: (req: Request) => Response | Promise<Response> } }>('hono', adapter)
    const { getRequestListener } = await peer<{ getRequestListener(fetch: (req: Request) => Response | Promise<Response>): RequestListener }>('@hono/node-server', adapter)
    const app = new Hono()
    app.use('*', toHonoHandler(server, { maxBodyBytes }))
    return getRequestListener(app.fetch)
  }
  return toNodeListener(server, { maxBodyBytes })
}

/** Fails early, before listening, when an adapter's packages are missing. */
export async function checkAdapterPackages(adapter: AdapterName): Promise<void> {
  if (adapter === 'express') await peer('express', adapter)
  if (adapter === 'hono') {
    await peer('hono', adapter)
    await peer('@hono/node-server', adapter)
  }
}
