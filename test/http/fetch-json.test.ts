import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fetchJson, FetchJsonError, isLoopbackHost, OutboundAddressError, outboundUrlProblem } from '../../src/http/outbound.js'
import { startDocumentServer, type DocumentServer } from '../clients/document-server.js'

let host: DocumentServer
beforeAll(async () => {
  host = await startDocumentServer()
})
afterAll(() => host.close())

const allowed = { timeoutMs: 2000, maxResponseBytes: 1024, allowPrivate: true }

describe('fetchJson', () => {
  it('returns the parsed body and the Cache-Control header', async () => {
    host.route('/ok', { json: { keys: [] }, headers: { 'cache-control': 'max-age=600' } })
    expect(await fetchJson(`${host.origin}/ok`, allowed)).toEqual({ body: { keys: [] }, cacheControl: 'max-age=600' })
  })

  it('accepts application/*+json content types', async () => {
    host.route('/jwk-set', { json: { keys: [] }, headers: { 'content-type': 'application/jwk-set+json; charset=utf-8' } })
    expect((await fetchJson(`${host.origin}/jwk-set`, allowed)).body).toEqual({ keys: [] })
  })

  it('refuses a body over the limit instead of truncating it', async () => {
    host.route('/big', { raw: JSON.stringify({ pad: 'x'.repeat(2000) }) })
    await expect(fetchJson(`${host.origin}/big`, allowed)).rejects.toThrow(/larger than 1024 bytes/)
    // Without Content-Length too: chunked, counted as it arrives.
    host.route('/big-chunked', { raw: JSON.stringify({ pad: 'x'.repeat(2000) }), headers: { 'transfer-encoding': 'chunked' } })
    await expect(fetchJson(`${host.origin}/big-chunked`, allowed)).rejects.toBeInstanceOf(FetchJsonError)
  })

  it('gives up on a slow answer after the timeout', async () => {
    host.route('/slow', { json: {}, delayMs: 1500 })
    const started = Date.now()
    await expect(fetchJson(`${host.origin}/slow`, { ...allowed, timeoutMs: 200 })).rejects.toThrow(/timed out after 200 ms/)
    expect(Date.now() - started).toBeLessThan(1200)
  })

  it('does not follow redirects: a 3xx is an error (CIMD §5)', async () => {
    host.route('/moved', { status: 302, headers: { location: `${host.origin}/ok` }, raw: '' })
    await expect(fetchJson(`${host.origin}/moved`, allowed)).rejects.toMatchObject({ name: 'FetchJsonError', status: 302 })
    expect(host.hits('/ok')).toBe(1)
  })

  it('accepts only a 200', async () => {
    host.route('/gone', { status: 410, json: {} })
    await expect(fetchJson(`${host.origin}/gone`, allowed)).rejects.toMatchObject({ status: 410 })
    host.route('/created', { status: 201, json: {} })
    await expect(fetchJson(`${host.origin}/created`, allowed)).rejects.toMatchObject({ status: 201 })
  })

  it('refuses a body that is not JSON, or not labelled JSON', async () => {
    host.route('/html', { raw: '<html></html>', headers: { 'content-type': 'text/html' } })
    await expect(fetchJson(`${host.origin}/html`, allowed)).rejects.toThrow(/not JSON/)
    host.route('/broken', { raw: '{"keys": [' })
    await expect(fetchJson(`${host.origin}/broken`, allowed)).rejects.toThrow(/not valid JSON/)
  })

  it('sends nothing to a loopback or private address without allowPrivateNetworkFetches', async () => {
    const before = host.hits('/ok')
    // http is refused first; https to the same place is refused by address.
    await expect(fetchJson(`${host.origin}/ok`, { ...allowed, allowPrivate: false })).rejects.toThrow(/must use https/)
    await expect(fetchJson(`${host.origin.replace('http:', 'https:')}/ok`, { ...allowed, allowPrivate: false })).rejects.toBeInstanceOf(OutboundAddressError)
    const resolver = async () => [{ address: '10.0.0.7', family: 4 }]
    await expect(fetchJson('https://keys.example/jwks', { ...allowed, allowPrivate: false, resolver })).rejects.toMatchObject({ reason: 'private_address' })
    expect(host.hits('/ok')).toBe(before)
  })
})

describe('outboundUrlProblem', () => {
  it('wants https; http only to loopback, and only when private fetches are allowed', () => {
    expect(outboundUrlProblem(new URL('https://client.example/jwks'), false)).toBeUndefined()
    expect(outboundUrlProblem(new URL('http://client.example/jwks'), false)).toMatch(/https/)
    expect(outboundUrlProblem(new URL('http://client.example/jwks'), true)).toMatch(/https/)
    expect(outboundUrlProblem(new URL('http://10.0.0.1/jwks'), true)).toMatch(/https/)
    expect(outboundUrlProblem(new URL('http://127.0.0.1:8080/jwks'), true)).toBeUndefined()
    expect(outboundUrlProblem(new URL('http://127.0.0.1:8080/jwks'), false)).toMatch(/https/)
    expect(outboundUrlProblem(new URL('https://user:pw@client.example/jwks'), false)).toMatch(/user name or password/)
  })

  it('knows loopback hosts', () => {
    expect(isLoopbackHost(new URL('http://localhost:3000/'))).toBe(true)
    expect(isLoopbackHost(new URL('http://127.8.0.1/'))).toBe(true)
    expect(isLoopbackHost(new URL('http://[::1]/'))).toBe(true)
    expect(isLoopbackHost(new URL('http://192.168.0.1/'))).toBe(false)
  })
})
