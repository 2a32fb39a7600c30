import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { toNodeListener } from '../../adapters/node.js'
import { createServer as createServeServer, parseConfig } from '../../src/cli/config.js'
import type { AuthorizationServer } from '../../src/index.js'
import { basic } from '../helpers.js'

let server: Server | undefined
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  server = undefined
})

const INITIAL = 'initial-access-token-for-tests-0123456789'

/** `grantkit serve` as its config file builds it, behind the node adapter on a real port. */
async function serve(config: Record<string, unknown>): Promise<{ base: string; as: AuthorizationServer }> {
  server = createServer()
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const as = createServeServer(parseConfig({ issuer: base, ...config }, 'grantkit.json', '/tmp'), base)
  server.on('request', toNodeListener(as))
  return { base, as }
}

describe('registration over HTTP (RFC 7591 §3, grantkit serve config)', () => {
  it('registers with the initial access token, then the client gets a token, reads, updates and deletes itself', async () => {
    const { base } = await serve({ clients: [], registration: { enabled: true, initialAccessToken: INITIAL } })
    const discovery = await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()
    expect(discovery.registration_endpoint).toBe(`${base}/register`)

    const metadata = { grant_types: ['client_credentials'], client_name: 'CLI app' }
    const refused = await fetch(discovery.registration_endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(metadata) })
    expect(refused.status).toBe(401)
    expect((await refused.json()).error).toBe('invalid_token')

    const res = await fetch(discovery.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${INITIAL}` },
      body: JSON.stringify(metadata),
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const reg = await res.json()
    expect(reg).toMatchObject({ client_name: 'CLI app', token_endpoint_auth_method: 'client_secret_basic', client_secret_expires_at: 0 })

    const token = await fetch(`${base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(reg.client_id, reg.client_secret) },
      body: 'grant_type=client_credentials',
    })
    expect(token.status).toBe(200)

    const read = await fetch(reg.registration_client_uri, { headers: { authorization: `Bearer ${reg.registration_access_token}` } })
    expect(read.status).toBe(200)
    expect((await read.json()).client_id).toBe(reg.client_id)

    const put = await fetch(reg.registration_client_uri, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${reg.registration_access_token}` },
      body: JSON.stringify({ ...metadata, client_id: reg.client_id, client_name: 'Renamed' }),
    })
    expect(put.status).toBe(200)
    const updated = await put.json()
    expect(updated.client_name).toBe('Renamed')

    const stale = await fetch(reg.registration_client_uri, { method: 'DELETE', headers: { authorization: `Bearer ${reg.registration_access_token}` } })
    expect(stale.status).toBe(401)
    const del = await fetch(reg.registration_client_uri, { method: 'DELETE', headers: { authorization: `Bearer ${updated.registration_access_token}` } })
    expect(del.status).toBe(204)
  })

  it('a serve config without registration has no registration endpoint', async () => {
    const { base } = await serve({ clients: [] })
    const discovery = await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()
    expect(discovery).not.toHaveProperty('registration_endpoint')
    const res = await fetch(`${base}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(res.status).toBe(404)
  })

  it('open registration in a serve config; a malformed JSON body is 400 over the wire', async () => {
    const { base } = await serve({ clients: [], registration: { enabled: true } })
    const bad = await fetch(`${base}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_types":' })
    expect(bad.status).toBe(400)
    expect((await bad.json()).error).toBe('invalid_request')
    const ok = await fetch(`${base}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_types: ['client_credentials'] }) })
    expect(ok.status).toBe(201)
  })

  it('a serve config naming an unknown registration field is refused with a suggestion', () => {
    expect(() => parseConfig({ clients: [], registration: { enabeld: true } }, 'grantkit.json', '/tmp')).toThrow(/registration\.enabeld: unknown field; did you mean registration\.enabled\?/)
  })
})
