import { createServer, request, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { toNodeListener } from '../../adapters/node.js'
import { createAuthorizationServer } from '../../src/index.js'
import { basic } from '../helpers.js'

let server: Server | undefined
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  server = undefined
})

async function start(maxBodyBytes?: number): Promise<string> {
  server = createServer()
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const as = createAuthorizationServer({
    issuer: base,
    clients: [{ client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' }],
    ...(maxBodyBytes !== undefined && { maxBodyBytes }),
  })
  server.on('request', toNodeListener(as, maxBodyBytes !== undefined ? { maxBodyBytes } : {}))
  return base
}

/** A raw request, so that chunked bodies and odd headers can be sent. */
function send(url: string, body: string | Buffer[], headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }))
    })
    req.on('error', reject)
    if (typeof body === 'string') req.end(body)
    else {
      for (const chunk of body) req.write(chunk)
      req.end()
    }
  })
}

const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('svc', 'svc-secret') }

describe('node:http adapter', () => {
  it('serves the token endpoint over HTTP', async () => {
    const base = await start()
    const res = await send(base + '/token', 'grant_type=client_credentials', form)
    expect(res.status).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(JSON.parse(res.body).token_type).toBe('Bearer')
  })

  it('answers a body over the limit by content-length with 413 and an OAuth error, and keeps serving', async () => {
    const base = await start(1024)
    const big = 'grant_type=client_credentials&pad=' + 'x'.repeat(5000)
    const res = await send(base + '/token', big, form)
    expect(res.status).toBe(413)
    expect(JSON.parse(res.body).error).toBe('invalid_request')
    expect((await send(base + '/token', 'grant_type=client_credentials', form)).status).toBe(200)
  })

  it('stops reading a chunked body once it passes the limit', async () => {
    const base = await start(1024)
    const chunks = Array.from({ length: 20 }, () => Buffer.from('a'.repeat(500)))
    const res = await send(base + '/token', chunks, { ...form, 'transfer-encoding': 'chunked' })
    expect(res.status).toBe(413)
    expect((await send(base + '/token', 'grant_type=client_credentials', form)).status).toBe(200)
  })

  it('answers a malformed body with invalid_request', async () => {
    const base = await start()
    const res = await send(base + '/token', 'grant_type=%%%', form)
    expect(res.status).toBe(400)
    expect(JSON.parse(res.body).error).toBe('invalid_request')
  })

  it('answers invalid client credentials with 401 and WWW-Authenticate', async () => {
    const base = await start()
    const res = await send(base + '/token', 'grant_type=client_credentials', { ...form, authorization: basic('svc', 'nope') })
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/)
  })
})

describe('node:http adapter options', () => {
  it('takes the client address from the remoteAddress option (a proxy you trust)', async () => {
    const seen: Array<string | undefined> = []
    server = createServer(
      toNodeListener(
        { handle: async (req) => (seen.push(req.remoteAddress), { status: 204, headers: {} }) },
        { remoteAddress: (req) => String(req.headers['x-forwarded-for'] ?? '').split(',')[0]?.trim() || undefined },
      ),
    )
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`
    await fetch(url, { headers: { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' } })
    expect(seen).toEqual(['203.0.113.7'])
  })

  it('answers a request whose Host makes no URL with 400 and keeps serving', async () => {
    const base = await start()
    const { port } = new URL(base)
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.end('GET /jwks HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n'))
      let data = ''
      socket.on('data', (c) => (data += c.toString()))
      socket.on('end', () => resolve(data))
      socket.on('error', reject)
    })
    expect(raw.startsWith('HTTP/1.1 400')).toBe(true)
    expect((await fetch(base + '/jwks')).status).toBe(200)
  })
})
