import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GrantkitRequest, GrantkitResponse } from '../src/http/types.js'

/** What an adapter needs of a server: `handle`. */
export interface Handler {
  handle(req: GrantkitRequest): Promise<GrantkitResponse>
}

/** The default body limit of every adapter, in bytes (64 KiB). */
export const DEFAULT_MAX_BODY_BYTES = 65_536

/** Headers of a Node.js request as the core takes them: lower-case names, repeated values joined. */
export function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
  return headers
}

/**
 * Reads a Node.js request body up to `limit` bytes. Past the limit it stops
 * reading and reports `tooLarge`, so the core can answer 413; a declared
 * Content-Length over the limit is refused before any byte is read.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<{ body?: string; tooLarge: boolean }> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve({ tooLarge: true })
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (result: { body?: string; tooLarge: boolean }): void => {
      if (done) return
      done = true
      resolve(result)
    }
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limit) {
        chunks.length = 0
        finish({ tooLarge: true })
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => finish(size > 0 ? { body: Buffer.concat(chunks, size).toString('utf8'), tooLarge: false } : { tooLarge: false }))
    req.on('error', () => finish({ tooLarge: false }))
  })
}

/** Writes a core response to a Node.js response; `close` ends the connection (after an unread body). */
export function writeResponse(res: ServerResponse, out: GrantkitResponse, close: boolean): void {
  if (res.headersSent) return
  if (close) res.setHeader('connection', 'close')
  res.writeHead(out.status, out.headers)
  res.end(out.body)
}
