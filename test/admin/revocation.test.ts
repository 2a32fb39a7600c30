import { describe, expect, it } from 'vitest'
import { authorizeAs, Browser, codeFor, redeem, redirect, webParams, WEB_AUTH, userinfo } from '../authorize/fixtures.js'
import { tokenRequest } from '../helpers.js'
import { audits, call, json, setup, tokenOf, type Harness } from './fixtures.js'

const OFFLINE = webParams({ scope: 'openid api:read offline_access' })

async function tokensFor(h: Harness, browser = new Browser()): Promise<{ access: string; refresh: string }> {
  const res = await redeem(h, { code: await codeFor(h, OFFLINE, browser), redirect_uri: OFFLINE.redirect_uri! })
  expect(res.status, res.body).toBe(200)
  return { access: json(res).access_token as string, refresh: json(res).refresh_token as string }
}

const refresh = (h: Harness, token: string) => h.server.handle(tokenRequest({ grant_type: 'refresh_token', refresh_token: token }, WEB_AUTH))
const introspect = (h: Harness, token: string) => h.server.handle(tokenRequest({ token }, WEB_AUTH, '/introspect'))

describe.each(['jwt', 'opaque'] as const)('admin API: revoking every token of a client (%s access tokens)', (format) => {
  it('kills its access tokens, refresh tokens and unredeemed codes; later ones live', async () => {
    const h = setup({ accessTokenFormat: format })
    const admin = await tokenOf(h)
    const before = await tokensFor(h)
    const pendingCode = await codeFor(h, OFFLINE)
    expect((await userinfo(h, before.access)).status).toBe(200)

    const res = await call(h, 'POST', '/clients/web/tokens/revoke', { token: admin })
    expect(res.status, res.body).toBe(204)
    expect(audits(h.events).at(-1)).toMatchObject({ action: 'client.tokens.revoke', target: { clientId: 'web' }, outcome: 'success' })

    expect((await userinfo(h, before.access)).status).toBe(401)
    expect(json(await introspect(h, before.access)).active).toBe(false)
    expect(json(await introspect(h, before.refresh)).active).toBe(false)
    const refreshed = await refresh(h, before.refresh)
    expect(refreshed.status).toBe(400)
    expect(json(refreshed).error).toBe('invalid_grant')
    expect(json(await redeem(h, { code: pendingCode, redirect_uri: OFFLINE.redirect_uri! })).error).toBe('invalid_grant')

    // Tokens of other clients are untouched, and the client itself keeps working.
    expect((await call(h, 'GET', '/clients', { token: admin })).status).toBe(200)
    h.clock.advance(1)
    const after = await tokensFor(h)
    expect((await userinfo(h, after.access)).status).toBe(200)
    expect((await refresh(h, after.refresh)).status).toBe(200)
  })
})

describe('admin API: revoking every token of a client, refusals', () => {
  it('answers 404 for a client that does not exist', async () => {
    const h = setup()
    const res = await call(h, 'POST', '/clients/nobody/tokens/revoke', { token: await tokenOf(h) })
    expect(res.status).toBe(404)
    expect(audits(h.events).at(-1)).toMatchObject({ outcome: 'failure', error: 'not_found' })
  })

  it('answers 501 when the storage has no cutoff store', async () => {
    const { createMemoryStorage } = await import('../../src/storage/memory.js')
    const { tokenCutoffs: _, ...storage } = createMemoryStorage()
    const h = setup({ storage })
    const res = await call(h, 'POST', '/clients/web/tokens/revoke', { token: await tokenOf(h) })
    expect(res.status).toBe(501)
  })
})

describe('admin API: a person\'s sessions and consents', () => {
  it('lists and ends a session of the person named in the path only', async () => {
    const h = setup()
    const admin = await tokenOf(h)
    await tokensFor(h)
    const list = json(await call(h, 'GET', '/users/sub-alice/sessions', { token: admin })).sessions as Array<{ id: string; clients: string[] }>
    expect(list).toHaveLength(1)
    expect(list[0]!.clients).toEqual(['web'])
    const sid = list[0]!.id
    expect((await call(h, 'DELETE', `/users/someone-else/sessions/${sid}`, { token: admin })).status).toBe(404)
    expect((await call(h, 'DELETE', `/users/sub-alice/sessions/${sid}`, { token: admin })).status).toBe(204)
    expect(json(await call(h, 'GET', '/users/sub-alice/sessions', { token: admin })).sessions).toEqual([])
    expect(audits(h.events).map((e) => [e.action, e.outcome, e.target])).toEqual([
      ['session.end', 'failure', { sub: 'someone-else', sid }],
      ['session.end', 'success', { sub: 'sub-alice', sid }],
    ])
  })

  it('revokes a consent: its refresh and access tokens die, and the next authorization asks for consent again', async () => {
    const h = setup()
    const admin = await tokenOf(h)
    const browser = new Browser()
    const tokens = await tokensFor(h, browser)
    const consents = json(await call(h, 'GET', '/users/sub-alice/consents', { token: admin })).consents as Array<{ clientId: string; scope: string }>
    expect(consents.map((c) => c.clientId)).toEqual(['web'])
    expect(consents[0]!.scope).toContain('offline_access')

    expect((await call(h, 'DELETE', '/users/sub-alice/consents/web', { token: admin })).status).toBe(204)
    expect(audits(h.events).at(-1)).toMatchObject({ action: 'consent.revoke', target: { sub: 'sub-alice', clientId: 'web' }, outcome: 'success' })
    expect(json(await call(h, 'GET', '/users/sub-alice/consents', { token: admin })).consents).toEqual([])
    expect(json(await refresh(h, tokens.refresh)).error).toBe('invalid_grant')
    expect((await userinfo(h, tokens.access)).status).toBe(401)
    expect((await call(h, 'DELETE', '/users/sub-alice/consents/web', { token: admin })).status).toBe(404)

    // The browser is still signed in, but consent is asked again (prompt=none cannot skip it).
    const silent = await authorizeAs(h, browser, { ...OFFLINE, prompt: 'none' })
    expect(redirect(silent).query.get('error')).toBe('consent_required')
  })

  it('lists a person\'s grants: each consent with its client\'s name, scope and expiry (GET /users/{sub}/grants)', async () => {
    const h = setup()
    const admin = await tokenOf(h)
    await tokensFor(h)
    const res = await call(h, 'GET', '/users/sub-alice/grants', { token: admin })
    expect(res.status, res.body).toBe(200)
    const grants = json(res).grants as Array<Record<string, unknown>>
    expect(grants).toHaveLength(1)
    expect(grants[0]).toMatchObject({ client_id: 'web', client_name: 'Web App', client_exists: true, scope: expect.stringContaining('offline_access') })
    expect(grants[0]!.expires_at).toBeGreaterThan(h.clock.now())
    expect(json(await call(h, 'GET', '/users/nobody/grants', { token: admin })).grants).toEqual([])
    // A read: no audit event.
    expect(audits(h.events)).toEqual([])
  })
})
