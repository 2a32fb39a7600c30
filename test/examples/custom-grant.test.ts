import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basic, jwtPayload, postForm, startExample, type RunningExample } from './run-example.js'

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
const ORDERS_API = 'https://orders.example.com'

describe('examples/custom-grant (RFC 8693 token exchange)', () => {
  let ex: RunningExample
  beforeAll(async () => {
    ex = await startExample('custom-grant')
  })
  afterAll(async () => {
    await ex?.stop()
  })

  /** alice's access token, from the password grant. */
  async function personToken(scope = 'orders:read orders:write profile'): Promise<string> {
    const res = await postForm(`${ex.url}/token`, { grant_type: 'password', client_id: 'cli', username: 'alice', password: 'wonderland', scope })
    expect(res.status).toBe(200)
    return res.body.access_token as string
  }

  const exchange = (form: Record<string, string>, auth = basic('gateway', 'gateway-secret')) =>
    postForm(`${ex.url}/token`, { grant_type: TOKEN_EXCHANGE, ...form }, { authorization: auth })

  it('is announced in discovery next to the built-in grants', async () => {
    const meta = (await (await fetch(`${ex.url}/.well-known/oauth-authorization-server`)).json()) as { grant_types_supported: string[] }
    expect(meta.grant_types_supported).toEqual(expect.arrayContaining([TOKEN_EXCHANGE, 'password', 'authorization_code', 'client_credentials']))
  })

  it("exchanges a person's token for a narrower one for the requested audience", async () => {
    const res = await exchange({ subject_token: await personToken(), subject_token_type: ACCESS_TOKEN_TYPE, audience: ORDERS_API, scope: 'orders:read' })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ token_type: 'Bearer', issued_token_type: ACCESS_TOKEN_TYPE, scope: 'orders:read' })
    expect(res.body.refresh_token).toBeUndefined()
    expect(jwtPayload(res.body.access_token as string)).toMatchObject({ iss: ex.url, sub: 'alice', client_id: 'gateway', aud: ORDERS_API, scope: 'orders:read' })

    // The exchanged token is a live token of this server: it can be exchanged in turn.
    const again = await exchange({ subject_token: res.body.access_token as string, subject_token_type: ACCESS_TOKEN_TYPE, resource: ORDERS_API })
    expect(again.status).toBe(200)
    expect(again.body.scope).toBe('orders:read')
  })

  it('takes audience more than once (RFC 8693 §2.1) and puts every one in aud, but no other parameter twice', async () => {
    const form = new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: await personToken(), subject_token_type: ACCESS_TOKEN_TYPE, scope: 'orders:read' })
    form.append('audience', ORDERS_API)
    form.append('audience', 'https://billing.example.com')
    const post = (body: URLSearchParams) =>
      fetch(`${ex.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('gateway', 'gateway-secret') }, body })
    const res = await post(form)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { access_token: string }
    expect(jwtPayload(body.access_token).aud).toEqual([ORDERS_API, 'https://billing.example.com'])

    form.append('scope', 'orders:write')
    const twice = await post(form)
    expect(twice.status).toBe(400)
    expect(((await twice.json()) as { error: string }).error).toBe('invalid_request')
  })

  it("defaults to the subject token's scope, within what the client may hold", async () => {
    const res = await exchange({ subject_token: await personToken(), subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE })
    expect(res.status).toBe(200)
    expect(res.body.scope).toBe('orders:read orders:write')
    expect(jwtPayload(res.body.access_token as string).aud).toBe(ex.url)
  })

  it("refuses a scope beyond the subject token's, or beyond the client's, with invalid_scope", async () => {
    const narrow = await personToken('orders:read')
    expect((await exchange({ subject_token: narrow, subject_token_type: ACCESS_TOKEN_TYPE, scope: 'orders:read orders:write' })).body.error).toBe('invalid_scope')
    expect((await exchange({ subject_token: await personToken(), subject_token_type: ACCESS_TOKEN_TYPE, scope: 'profile' })).body.error).toBe('invalid_scope')
  })

  it('answers an invalid subject token with invalid_request (RFC 8693 §2.2.2)', async () => {
    const token = await personToken()
    const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA')
    for (const subject_token of [forged, 'not-a-token']) {
      expect(await exchange({ subject_token, subject_token_type: ACCESS_TOKEN_TYPE })).toMatchObject({ status: 400, body: { error: 'invalid_request' } })
    }
  })

  it('answers a malformed request with invalid_request', async () => {
    const subject_token = await personToken()
    const bad: Record<string, string>[] = [
      { subject_token },
      { subject_token_type: ACCESS_TOKEN_TYPE },
      { subject_token, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' },
      { subject_token, subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' },
      { subject_token, subject_token_type: ACCESS_TOKEN_TYPE, actor_token: subject_token, actor_token_type: ACCESS_TOKEN_TYPE },
    ]
    for (const form of bad) expect(await exchange(form)).toMatchObject({ status: 400, body: { error: 'invalid_request' } })
  })

  it('refuses an audience or resource it does not serve with invalid_target', async () => {
    const subject_token = await personToken()
    const targets: Record<string, string>[] = [{ audience: 'https://evil.example' }, { resource: 'https://orders.example.com/other' }, { audience: ORDERS_API, resource: 'urn:unknown' }]
    for (const target of targets) {
      const res = await exchange({ subject_token, subject_token_type: ACCESS_TOKEN_TYPE, ...target })
      expect(res).toMatchObject({ status: 400, body: { error: 'invalid_target' } })
      expect(res.body.error_description).toEqual(expect.any(String))
    }
  })

  it('is open only to clients registered for it', async () => {
    const res = await postForm(`${ex.url}/token`, { grant_type: TOKEN_EXCHANGE, client_id: 'cli', subject_token: await personToken(), subject_token_type: ACCESS_TOKEN_TYPE })
    expect(res.body.error).toBe('unauthorized_client')
    expect((await exchange({ subject_token: 'x', subject_token_type: ACCESS_TOKEN_TYPE }, basic('gateway', 'wrong'))).status).toBe(401)
  })

  it('exits 0 on SIGTERM', async () => {
    expect(await ex.stop()).toBe(0)
  })
})
