/**
 * A local HTTP server that plays the client's web host in the jwks_uri and
 * Client ID Metadata Document tests: each path answers what the test set
 * (status, headers, JSON or raw body, a delay), and every request is counted.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Route {
  status?: number
  headers?: Record<string, string>
  /** Sent as JSON with `content-type: application/json` unless `raw` is given. */
  json?: unknown
  raw?: string
  /** Milliseconds before the answer. */
  delayMs?: number
}

export interface DocumentServer {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string
  /** Sets what a path answers. */
  route(path: string, route: Route): void
  /** Requests received per path. */
  hits(path: string): number
  close(): Promise<void>
}

export async function startDocumentServer(): Promise<DocumentServer> {
  const routes = new Map<string, Route>()
  const counts = new Map<string, number>()
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    counts.set(path, (counts.get(path) ?? 0) + 1)
    const route = routes.get(path)
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
      return
    }
    const answer = () => {
      const body = route.raw ?? JSON.stringify(route.json)
      res.writeHead(route.status ?? 200, { 'content-type': 'application/json', ...route.headers })
      res.end(body)
    }
    if (route.delayMs === undefined) answer()
    else setTimeout(answer, route.delayMs).unref()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    route: (path, route) => void routes.set(path, route),
    hits: (path) => counts.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
