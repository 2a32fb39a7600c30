import type { IncomingMessage, ServerResponse } from 'node:http'
import { checkHealth, type AuthorizationServer, type HealthReport } from '../index.js'

/** Seconds a readiness check may take: a load balancer's probe times out soon after. */
export const READINESS_TIMEOUT = 2

/**
 * `grantkit serve`'s health endpoints under the issuer's path: `GET /healthz`
 * answers 200 while the process runs (liveness); `GET /readyz` answers 200 or
 * 503 with the `checkHealth` report (storage reachable and migrated, keys
 * loaded), and 503 once the server is shutting down, so a load balancer
 * drains it. Returns false for every other request, which the adapter serves.
 *
 * @example
 * const health = healthEndpoints(server, () => closing)
 * http.on('request', (req, res) => void (health(req, res) || app(req, res)))
 */
export function healthEndpoints(server: AuthorizationServer, shuttingDown: () => boolean): (req: IncomingMessage, res: ServerResponse) => boolean {
  const base = new URL(server.issuer).pathname.replace(/\/+$/, '')
  const live = `${base}/healthz`
  const ready = `${base}/readyz`
  return (req, res) => {
    const path = (req.url ?? '').split('?', 1)[0]
    if (path !== live && path !== ready) return false
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, req, 405, { error: 'invalid_request', error_description: 'Method not allowed; use GET.' }, { allow: 'GET, HEAD' })
      return true
    }
    if (path === live) {
      send(res, req, 200, { status: 'ok' })
      return true
    }
    if (shuttingDown()) {
      send(res, req, 503, { status: 'fail', shuttingDown: true })
      return true
    }
    void checkHealth(server, { timeout: READINESS_TIMEOUT }).then(
      (report: HealthReport) => send(res, req, report.status === 'ok' ? 200 : 503, report),
      () => send(res, req, 503, { status: 'fail' }),
    )
    return true
  }
}

function send(res: ServerResponse, req: IncomingMessage, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(req.method === 'HEAD' ? undefined : text)
}
