import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GrantkitRequest, GrantkitResponse } from '../src/http/types.js'

/** What an adapter needs of a server: `handle`. */
export interface Handler {
  handle(req: GrantkitRequest): Promise<GrantkitResponse>
}

/** The default body limit of every adapter, in bytes (64 KiB). */
export const DEFAULT_MAX_BODY_BYTES = 65_536

/**
 * Marks a Node.js request whose body was left (partly) unread. A global symbol,
 * so that the mark is seen by every copy of this module (ESM and CJS builds of
 * different entry points).
 */
const BODY_UNREAD = Symbol.for('grantkit.bodyUnread')

type Marked = IncomingMessage & { [BODY_UNREAD]?: true }

/**
 * Headers of a Node.js request as the core takes them: lower-case names, one
 * string each. Node.js already applied RFC 9110 §5.3 (a repeated list field
 * joined with ", ", Cookie with "; ", the first of a singleton field such as
 * Host or Authorization); only Set-Cookie stays an array, joined here.
 */
export function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {}
  const from = req.headers
  // for…in over Node's own header object (no prototype keys): no array of pairs per request.
  for (const name in from) {
    const value = from[name]
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return headers
}

/**
 * The URL of a Node.js request, from its target and Host header, or undefined
 * when they make no URL (a Host like "a b"). The core routes on path and
 * query only; the issuer, not this host, names the server.
 */
export function urlOf(req: IncomingMessage, target: string | undefined = req.url): URL | undefined {
  try {
    return new URL(target ?? '/', `http://${req.headers.host ?? 'localhost'}`)
  } catch {
    return undefined
  }
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
    // A form of a few hundred bytes arrives in one chunk: no copy into a new buffer then.
    req.on('end', () => finish(size > 0 ? { body: (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString('utf8'), tooLarge: false } : { tooLarge: false }))
    req.on('error', () => finish({ tooLarge: false }))
  })
}

/** A body express.urlencoded() (or another parser) already produced, as the core's form. */
export function formOf(body: unknown): URLSearchParams | undefined {
  if (typeof body !== 'object' || body === null || Buffer.isBuffer(body)) return undefined
  const form = new URLSearchParams()
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    // A repeated parameter arrives as an array: keep every value so the core can refuse it.
    for (const v of Array.isArray(value) ? value : [value]) form.append(name, typeof v === 'string' ? v : JSON.stringify(v))
  }
  return form
}

/**
 * Sets the body of `request`: a form a parser already put on `req.body`
 * (held to the same limit as a body read here), a string body, or the stream
 * read up to `limit`. A body over the limit becomes `bodyTooLarge`, and the
 * request is marked so that the response closes the connection instead of
 * draining the rest.
 */
export function setBody(request: GrantkitRequest, req: IncomingMessage & { body?: unknown }, limit: number): Promise<void> | undefined {
  // A parser (Express) put a body on req: only then is the content type looked at.
  const parsed = req.body !== undefined && isForm(req) ? formOf(req.body) : undefined
  if (parsed !== undefined) {
    if (Number(req.headers['content-length'] ?? 0) > limit || parsed.toString().length > limit) tooLarge(request, req)
    else request.form = parsed
    return undefined
  }
  if (typeof req.body === 'string') {
    if (Buffer.byteLength(req.body) > limit) tooLarge(request, req)
    else request.body = req.body
    return undefined
  }
  // A parser already took the stream (JSON, a Buffer): nothing left to read.
  if (req.readableEnded) return undefined
  // One promise for the read, none for this function: the body is on the hot path of every token request.
  return readBody(req, limit).then(({ body, tooLarge: over }) => {
    if (over) tooLarge(request, req)
    else if (body !== undefined) request.body = body
  })
}

function isForm(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded'
}

function tooLarge(request: GrantkitRequest, req: Marked): void {
  request.bodyTooLarge = true
  req[BODY_UNREAD] = true
}

/**
 * Builds the core's request from a Node.js request: URL, headers, peer address
 * and body (see `setBody`). Rejects with a TypeError when the target and Host
 * make no URL.
 */
export function nodeRequestOf(
  req: IncomingMessage & { body?: unknown },
  options: { maxBodyBytes?: number | undefined; target?: string | undefined; remoteAddress?: string | undefined },
): Promise<GrantkitRequest> {
  const url = urlOf(req, options.target ?? req.url)
  if (url === undefined) {
    ;(req as Marked)[BODY_UNREAD] = true
    return Promise.reject(new TypeError('The request target and Host header make no URL.'))
  }
  const request: GrantkitRequest = { method: req.method ?? 'GET', url, headers: headersOf(req) }
  if (options.remoteAddress !== undefined) request.remoteAddress = options.remoteAddress
  const reading = setBody(request, req, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES)
  return reading === undefined ? Promise.resolve(request) : reading.then(() => request)
}

/**
 * Writes a core response to a Node.js response. Set-Cookie values are added
 * to those the app already set (RFC 6265 §3: one field per cookie); any other
 * header of the core's replaces the app's. After a body left unread (too
 * large, or no URL), the connection is closed rather than drained. Does
 * nothing once headers were sent.
 */
export function writeResponse(res: ServerResponse, out: GrantkitResponse): void {
  if (res.headersSent) return
  const unread = (res.req as Marked | undefined)?.[BODY_UNREAD] === true
  // Only cookies the app set itself need merging (below); asking Node.js is one
  // lookup, where scanning the core's header names cost 0.6 µs per request.
  if (!unread && !res.hasHeader('set-cookie')) {
    // One call for status and headers: writeHead builds the head from the record
    // directly, where a setHeader per field stores and validates each one first.
    // Headers the app already set are kept, and the core's replace them, as below.
    res.writeHead(out.status, out.headers)
    res.end(out.body)
    return
  }
  if (unread) res.setHeader('connection', 'close')
  for (const [name, value] of Object.entries(out.headers)) {
    const lower = name.toLowerCase()
    if (lower === 'set-cookie') {
      const before = res.getHeader('set-cookie')
      const earlier = before === undefined ? [] : Array.isArray(before) ? before : [String(before)]
      res.setHeader('set-cookie', [...earlier, ...(Array.isArray(value) ? value : [value])])
    } else res.setHeader(lower, value)
  }
  res.statusCode = out.status
  res.end(out.body)
}
