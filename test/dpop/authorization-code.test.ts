import { describe, expect, it } from 'vitest'
import type { AuthorizationServer, GrantkitResponse } from '../../src/index.js'
import { basic, ISSUER, json, makeServer, tokenRequest } from '../helpers.js'
import { dpopKey, proof, thumbprint, type TestDpopKey } from './proofs.js'

const REDIRECT = 'https://rp.example/cb'
const UI = 'https://as.example/ui/login'
const clients = [{ client_id: 'web', client_secret: 'web-secret', redirect_uris: [REDIRECT], grant_types: ['authorization_code'], scope: 'api:read' }]

function setup() {
  return makeServer({ clients, interaction: { url: (uid) => `${UI}/${uid}` } })
}

/** An authorization request with `extra` parameters, signed in and consented through the interaction API; the redirect back. */
async function authorize(server: AuthorizationServer, extra: Record<string, string>): Promise<URL> {
  const url = new URL(ISSUER + '/authorize')
  url.search = new URLSearchParams({ response_type: 'code', client_id: 'web', redirect_uri: REDIRECT, scope: 'api:read', state: 's', ...extra }).toString()
  const started = await server.handle({ method: 'GET', url, headers: {} })
  expect(started.status).toBe(303)
  const location = new URL(started.headers.location as string)
  if (!location.href.startsWith(UI)) return location
  const uid = location.pathname.split('/').pop()!
  const cookie = String(started.headers['set-cookie']).split(';')[0]!
  const finished = await server.interactions.finish({ method: 'POST', url: location, headers: { cookie } }, uid, { login: { sub: 'alice' }, consent: {} })
  return new URL(finished.headers.location as string)
}

function redeem(server: AuthorizationServer, code: string, key: TestDpopKey | undefined, now: number): Promise<GrantkitResponse> {
  const headers: Record<string, string> = { authorization: basic('web', 'web-secret') }
  if (key !== undefined) headers.dpop = proof(key, { htm: 'POST', htu: ISSUER + '/token', iat: now })
  return server.handle(tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, headers))
}

describe('dpop_jkt: authorization codes bound to a DPoP key (RFC 9449 §10)', () => {
  it('redeems a bound code with a proof by that key', async () => {
    const { server, clock } = setup()
    const key = dpopKey()
    const code = (await authorize(server, { dpop_jkt: thumbprint(key.jwk) })).searchParams.get('code')!
    const res = await redeem(server, code, key, clock.now())
    expect(res.status, res.body).toBe(200)
    expect(json(res).token_type).toBe('DPoP')
  })

  it.each([
    ['a proof by another key', () => dpopKey()],
    ['no proof', () => undefined],
  ])('refuses a bound code redeemed with %s: invalid_grant', async (_name, other) => {
    const { server, clock } = setup()
    const key = dpopKey()
    const code = (await authorize(server, { dpop_jkt: thumbprint(key.jwk) })).searchParams.get('code')!
    const res = await redeem(server, code, other(), clock.now())
    expect(res.status).toBe(400)
    expect(json(res).error).toBe('invalid_grant')
  })

  it('refuses a malformed dpop_jkt at the authorization endpoint with invalid_request, redirected', async () => {
    const { server } = setup()
    const back = await authorize(server, { dpop_jkt: 'not-a-thumbprint' })
    expect(back.origin + back.pathname).toBe(REDIRECT)
    expect(back.searchParams.get('error')).toBe('invalid_request')
  })
})
