import { once } from 'node:events'
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import express from 'express'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import * as expressAdapter from '../../adapters/express.js'
import * as honoAdapter from '../../adapters/hono.js'
import * as nodeAdapter from '../../adapters/node.js'
import { createAuthorizationServer, type GrantkitRequest, type GrantkitResponse } from '../../src/index.js'

let http: Server | undefined
afterEach(async () => {
  if (http === undefined) return
  const closing = new Promise<void>((resolve) => http!.close(() => resolve()))
  http.closeAllConnections()
  await closing
  http = undefined
})

async function listen(server: Server): Promise<number> {
  http = server
  if (!server.listening) {
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
  }
  return (server.address() as AddressInfo).port
}

interface Raw {
  status: number
  /** Every header line, names in lower case, in order. */
  lines: Array<[string, string]>
  body: string
  /** Whether the server closed the connection after the response. */
  closed: boolean
}

/**
 * Sends raw HTTP/1.1 (so that fields can repeat exactly as written) on a
 * kept-alive connection and reads one response.
 */
function raw(port: number, head: string, body = ''): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head + '\r\n' + body))
    let data = ''
    let settled = false
    const done = (closed: boolean): void => {
      if (settled) return
      const end = data.indexOf('\r\n\r\n')
      if (end < 0) return
      const [status, ...rest] = data.slice(0, end).split('\r\n')
      const lines = rest.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string])
      const length = lines.find(([n]) => n === 'content-length')
      const payload = data.slice(end + 4)
      const chunked = lines.some(([n, v]) => n === 'transfer-encoding' && v === 'chunked')
      const complete = head.startsWith('HEAD') || (length !== undefined ? payload.length >= Number(length[1]) : !chunked || payload.endsWith('0\r\n\r\n'))
      if (!closed && !complete) return
      settled = true
      socket.destroy()
      resolve({ status: Number(status!.split(' ')[1]), lines, body: payload, closed })
    }
    socket.on('data', (c: Buffer) => {
      data += c.toString()
      // A response that says it closes is complete only at the close.
      if (!/\r\nconnection: close\r\n/i.test(data)) done(false)
    })
    socket.on('end', () => done(true))
    socket.on('close', () => done(true))
    socket.on('error', (err) => (settled ? undefined : reject(err)))
    setTimeout(() => done(false), 1500)
  })
}

const values = (r: Raw, name: string): string[] => r.lines.filter(([n]) => n === name).map(([, v]) => v)

const REPEATED =
  'GET /x?a=1 HTTP/1.1\r\nHost: as.example\r\nX-Trace: one\r\nX-Trace: two\r\nCookie: a=1\r\nCookie: b=2\r\n' +
  'Authorization: Basic Zmlyc3Q=\r\nAuthorization: Basic c2Vjb25k\r\n'

const COOKIES: GrantkitResponse = {
  status: 303,
  headers: { location: 'https://client.example/cb?code=c', 'set-cookie': ['grantkit_session=s; HttpOnly', 'grantkit_interaction=; Max-Age=0'] },
}

/** A Node.js listener that hands every request through `toGrantkitRequest` and answers `answer(request)`. */
function nodeEcho(options: nodeAdapter.NodeAdapterOptions, answer: (r: GrantkitRequest) => GrantkitResponse, before?: (res: ServerResponse) => void): { seen: GrantkitRequest[]; listener: RequestListener } {
  const seen: GrantkitRequest[] = []
  return {
    seen,
    listener: (req: IncomingMessage, res: ServerResponse) => {
      before?.(res)
      nodeAdapter.toGrantkitRequest(req, options).then(
        (request) => {
          seen.push(request)
          nodeAdapter.sendGrantkitResponse(res, answer(request))
        },
        (err: unknown) => {
          res.statusCode = 400
          res.end(String(err))
        },
      )
    },
  }
}

const ok = (): GrantkitResponse => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'hello' })
const tooLargeOr = (r: GrantkitRequest): GrantkitResponse => (r.bodyTooLarge === true ? { status: 413, headers: {}, body: 'too large' } : ok())

describe('grantkit/node: toGrantkitRequest and sendGrantkitResponse', () => {
  it('lower-cases header names, joins a repeated field with ", ", Cookie with "; ", and keeps the first Authorization (RFC 9110 §5.3)', async () => {
    const { seen, listener } = nodeEcho({}, ok)
    const port = await listen(createServer(listener))
    await raw(port, REPEATED)
    expect(seen[0]!.method).toBe('GET')
    expect(seen[0]!.url.pathname + seen[0]!.url.search).toBe('/x?a=1')
    expect(seen[0]!.headers['x-trace']).toBe('one, two')
    expect(seen[0]!.headers.cookie).toBe('a=1; b=2')
    expect(seen[0]!.headers.authorization).toBe('Basic Zmlyc3Q=')
    expect(seen[0]!.remoteAddress).toBe('127.0.0.1')
  })

  it('reads the body up to maxBodyBytes, marks a larger one bodyTooLarge, and then closes the connection', async () => {
    const { seen, listener } = nodeEcho({ maxBodyBytes: 16 }, tooLargeOr)
    const port = await listen(createServer(listener))
    const small = await raw(port, 'POST /t HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\n', 'a=b&c')
    expect(small.status).toBe(200)
    expect(small.closed).toBe(false)
    expect(seen[0]!.body).toBe('a=b&c')
    const chunked = await raw(port, 'POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n', '20\r\n' + 'x'.repeat(32) + '\r\n')
    expect(chunked.status).toBe(413)
    expect(values(chunked, 'connection')).toEqual(['close'])
    expect(seen[1]!.bodyTooLarge).toBe(true)
    expect(seen[1]!.body).toBeUndefined()
  })

  it("takes the limit of the server passed as options (its maxBodyBytes)", async () => {
    const server = createAuthorizationServer({ issuer: 'http://127.0.0.1', clients: [], maxBodyBytes: 8 })
    const { seen, listener } = nodeEcho(server, tooLargeOr)
    const port = await listen(createServer(listener))
    expect((await raw(port, 'POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n', '123456789')).status).toBe(413)
    expect(seen[0]!.bodyTooLarge).toBe(true)
  })

  it('sends a redirect with every Set-Cookie value as its own field, after the ones the app set', async () => {
    const { listener } = nodeEcho({}, () => COOKIES, (res) => res.setHeader('set-cookie', 'app=1'))
    const port = await listen(createServer(listener))
    const res = await raw(port, 'GET /login HTTP/1.1\r\nHost: h\r\n')
    expect(res.status).toBe(303)
    expect(values(res, 'location')).toEqual(['https://client.example/cb?code=c'])
    expect(values(res, 'set-cookie')).toEqual(['app=1', 'grantkit_session=s; HttpOnly', 'grantkit_interaction=; Max-Age=0'])
  })

  it("keeps the app's other headers and sends each Set-Cookie value as its own field when the app set no cookie", async () => {
    const { listener } = nodeEcho({}, () => COOKIES, (res) => res.setHeader('x-app', 'kept'))
    const port = await listen(createServer(listener))
    const res = await raw(port, 'GET /login HTTP/1.1\r\nHost: h\r\n')
    expect(res.status).toBe(303)
    expect(values(res, 'x-app')).toEqual(['kept'])
    expect(values(res, 'set-cookie')).toEqual(['grantkit_session=s; HttpOnly', 'grantkit_interaction=; Max-Age=0'])
  })

  it('answers HEAD with the headers and no body', async () => {
    const { listener } = nodeEcho({}, ok)
    const port = await listen(createServer(listener))
    const res = await raw(port, 'HEAD /x HTTP/1.1\r\nHost: h\r\n')
    expect(res.status).toBe(200)
    expect(values(res, 'content-type')).toEqual(['text/plain'])
    expect(res.body).toBe('')
  })

  it('rejects with a TypeError naming the problem when the Host makes no URL', async () => {
    const { listener } = nodeEcho({}, ok)
    const port = await listen(createServer(listener))
    const res = await raw(port, 'GET /x HTTP/1.1\r\nHost: a b\r\n')
    expect(res.status).toBe(400)
    expect(res.body).toMatch(/TypeError: The request target and Host header make no URL/)
  })

  it('does nothing once headers were sent', async () => {
    const port = await listen(
      createServer((_req, res) => {
        res.writeHead(204).end()
        expect(() => nodeAdapter.sendGrantkitResponse(res, COOKIES)).not.toThrow()
      }),
    )
    expect((await raw(port, 'GET / HTTP/1.1\r\nHost: h\r\n')).status).toBe(204)
  })
})

describe('grantkit/express: toGrantkitRequest and sendGrantkitResponse', () => {
  async function app(setup: (app: express.Express) => void): Promise<number> {
    const a = express()
    setup(a)
    return listen(createServer(a))
  }

  it('uses a form express.urlencoded() parsed, repeated parameters kept, and the full originalUrl under a mount', async () => {
    const seen: GrantkitRequest[] = []
    const port = await app((a) => {
      const router = express.Router()
      router.post('/login/:uid', express.urlencoded({ extended: false }), async (req, res) => {
        seen.push(await expressAdapter.toGrantkitRequest(req))
        expressAdapter.sendGrantkitResponse(res, ok())
      })
      a.use('/auth', router)
    })
    const body = 'csrf=c&scope=a&scope=b'
    await raw(port, `POST /auth/login/u1?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n` + REPEATED.split('\r\n').slice(2).join('\r\n'), body)
    expect(seen[0]!.url.pathname + seen[0]!.url.search).toBe('/auth/login/u1?x=1')
    expect(seen[0]!.form?.getAll('scope')).toEqual(['a', 'b'])
    expect(seen[0]!.form?.get('csrf')).toBe('c')
    expect(seen[0]!.headers['x-trace']).toBe('one, two')
    expect(seen[0]!.headers.cookie).toBe('a=1; b=2')
  })

  it('holds a parsed form to maxBodyBytes too, and reads an unparsed body itself', async () => {
    const seen: GrantkitRequest[] = []
    const port = await app((a) => {
      a.post('/parsed', express.urlencoded({ extended: false }), async (req, res) => {
        const request = await expressAdapter.toGrantkitRequest(req, { maxBodyBytes: 16 })
        seen.push(request)
        expressAdapter.sendGrantkitResponse(res, tooLargeOr(request))
      })
      a.post('/raw', async (req, res) => {
        const request = await expressAdapter.toGrantkitRequest(req, { maxBodyBytes: 16 })
        seen.push(request)
        expressAdapter.sendGrantkitResponse(res, tooLargeOr(request))
      })
    })
    const form = (path: string, body: string): Promise<Raw> =>
      raw(port, `POST ${path} HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n`, body)
    expect((await form('/parsed', 'a=' + 'x'.repeat(40))).status).toBe(413)
    expect(seen[0]!.bodyTooLarge).toBe(true)
    expect((await form('/raw', 'a=b')).status).toBe(200)
    expect(seen[1]!.body).toBe('a=b')
    const over = await form('/raw', 'a=' + 'x'.repeat(40))
    expect(over.status).toBe(413)
    expect(values(over, 'connection')).toEqual(['close'])
  })

  it("adds its Set-Cookie values to the app's own (res.cookie) and sends the redirect", async () => {
    const port = await app((a) => {
      a.get('/finish', (_req, res) => {
        res.cookie('app', '1')
        expressAdapter.sendGrantkitResponse(res, COOKIES)
      })
    })
    const res = await raw(port, 'GET /finish HTTP/1.1\r\nHost: h\r\n')
    expect(res.status).toBe(303)
    expect(values(res, 'location')).toEqual(['https://client.example/cb?code=c'])
    expect(values(res, 'set-cookie')).toEqual(['app=1; Path=/', 'grantkit_session=s; HttpOnly', 'grantkit_interaction=; Max-Age=0'])
  })

  it('answers HEAD with the headers and no body', async () => {
    const port = await app((a) => a.get('/x', (_req, res) => expressAdapter.sendGrantkitResponse(res, ok())))
    const res = await raw(port, 'HEAD /x HTTP/1.1\r\nHost: h\r\n')
    expect(res.status).toBe(200)
    expect(res.body).toBe('')
  })
})

describe('grantkit/hono: toGrantkitRequest and toHonoResponse', () => {
  async function app(setup: (app: Hono) => void): Promise<number> {
    const a = new Hono()
    setup(a)
    const server = serve({ fetch: a.fetch, port: 0, hostname: '127.0.0.1' }) as Server
    await once(server, 'listening')
    return listen(server)
  }

  it('joins a repeated field with ", " and Cookie fields with "; ", and gives the peer address', async () => {
    const seen: GrantkitRequest[] = []
    const port = await app((a) =>
      a.get('/x', async (c) => {
        seen.push(await honoAdapter.toGrantkitRequest(c))
        return honoAdapter.toHonoResponse(ok())
      }),
    )
    await raw(port, REPEATED)
    expect(seen[0]!.headers['x-trace']).toBe('one, two')
    expect(seen[0]!.headers.cookie).toBe('a=1; b=2')
    expect(seen[0]!.url.pathname + seen[0]!.url.search).toBe('/x?a=1')
    expect(seen[0]!.remoteAddress).toBe('127.0.0.1')
  })

  it('reads the body up to maxBodyBytes, also one c.req.parseBody() read first', async () => {
    const seen: GrantkitRequest[] = []
    const port = await app((a) => {
      a.post('/raw', async (c) => {
        const request = await honoAdapter.toGrantkitRequest(c, { maxBodyBytes: 16 })
        seen.push(request)
        return honoAdapter.toHonoResponse(tooLargeOr(request))
      })
      a.post('/parsed', async (c) => {
        await c.req.parseBody()
        const request = await honoAdapter.toGrantkitRequest(c, { maxBodyBytes: 16 })
        seen.push(request)
        return honoAdapter.toHonoResponse(tooLargeOr(request))
      })
    })
    const form = (path: string, body: string): Promise<Raw> =>
      raw(port, `POST ${path} HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n`, body)
    expect((await form('/raw', 'a=b')).status).toBe(200)
    expect(seen[0]!.body).toBe('a=b')
    expect((await form('/raw', 'a=' + 'x'.repeat(40))).status).toBe(413)
    expect(seen[1]!.bodyTooLarge).toBe(true)
    expect((await form('/parsed', 'a=b&a=c')).status).toBe(200)
    expect(new URLSearchParams(seen[2]!.body).getAll('a')).toEqual(['b', 'c'])
    expect((await form('/parsed', 'a=' + 'x'.repeat(40))).status).toBe(413)
  })

  it('makes a Response with each Set-Cookie value its own field, and the redirect', async () => {
    const response = honoAdapter.toHonoResponse(COOKIES)
    expect(response.status).toBe(303)
    expect(response.headers.get('location')).toBe('https://client.example/cb?code=c')
    expect(response.headers.getSetCookie()).toEqual(['grantkit_session=s; HttpOnly', 'grantkit_interaction=; Max-Age=0'])
    const port = await app((a) => a.get('/finish', () => honoAdapter.toHonoResponse(COOKIES)))
    expect(values(await raw(port, 'GET /finish HTTP/1.1\r\nHost: h\r\n'), 'set-cookie')).toEqual(['grantkit_session=s; HttpOnly', 'grantkit_interaction=; Max-Age=0'])
  })

  it('answers HEAD with the headers and no body', async () => {
    const port = await app((a) => a.get('/x', () => honoAdapter.toHonoResponse(ok())))
    const res = await raw(port, 'HEAD /x HTTP/1.1\r\nHost: h\r\n')
    expect(res.status).toBe(200)
    expect(values(res, 'content-type')).toEqual(['text/plain'])
    expect(res.body).toBe('')
  })
})
