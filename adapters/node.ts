import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GrantkitRequest, GrantkitResponse } from '../src/http/types.js'

/** What the adapter needs of a server: `handle`. */
export interface Handler {
  handle(req: GrantkitRequest): Promise<GrantkitResponse>
}

export interface NodeAdapterOptions {
  /** Largest body read, in bytes; a larger one is passed on as `bodyTooLarge`. Default 65536. */
  maxBodyBytes?: number
}

/**
 * A request listener for `http.createServer`. It only translates: it reads the
 * body up to the limit, calls `server.handle`, and writes what comes back.
 *
 * @example
 * http.createServer(toNodeListener(server)).listen(4000)
 */
export function toNodeListener(server: Handler, options: NodeAdapterOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const limit = options.maxBodyBytes ?? 65_536
  return (req, res) => {
    const chunks: Buffer[] = []
    let size = 0
    let tooLarge = Number(req.headers['content-length'] ?? 0) > limit
    const finish = (): void => {
      const headers: Record<string, string | undefined> = {}
      for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value
      const request: GrantkitRequest = {
        method: req.method ?? 'GET',
        url: new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`),
        headers,
        ...(req.socket.remoteAddress !== undefined && { remoteAddress: req.socket.remoteAddress }),
      }
      if (tooLarge) request.bodyTooLarge = true
      else if (size > 0) request.body = Buffer.concat(chunks, size).toString('utf8')
      server.handle(request).then(
        (out) => write(res, out, tooLarge),
        () => write(res, { status: 500, headers: {} }, true),
      )
    }
    if (tooLarge) {
      // Answer without reading the body, then close: the rest is not worth receiving.
      finish()
      return
    }
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return
      size += chunk.length
      if (size > limit) {
        tooLarge = true
        chunks.length = 0
        finish()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (!tooLarge) finish()
    })
    req.on('error', () => res.destroy())
  }
}

function write(res: ServerResponse, out: GrantkitResponse, close: boolean): void {
  if (res.headersSent) return
  if (close) res.setHeader('connection', 'close')
  res.writeHead(out.status, out.headers)
  res.end(out.body)
}
