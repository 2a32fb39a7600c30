import { describe, expect, it } from 'vitest'
import { createAuthorizationServer, StaticUserSource, type GrantkitResponse } from '../../src/index.js'
import { actionOf, Browser, consoleServer, consoleUsers, fieldOf, ISSUER, signIn } from './console-fixtures.js'

const SESSION = '__Host-grantkit_console'

function expectConsoleHeaders(res: GrantkitResponse): void {
  expect(res.headers['content-type']).toMatch(/^text\/html/)
  const csp = String(res.headers['content-security-policy'])
  expect(csp).toMatch(/default-src 'none'/)
  expect(csp).not.toMatch(/script-src/)
  expect(csp).toMatch(/frame-ancestors 'none'/)
  expect(csp).toMatch(/form-action 'self'/)
  expect(res.headers['x-frame-options']).toBe('DENY')
  expect(res.headers['cache-control']).toBe('no-store')
  expect(res.body).not.toMatch(/<script/i)
}

/** A new client with a secret, made through the console's form; returns its id and the secret page. */
async function createClient(b: Browser, name = 'Shop'): Promise<{ id: string; page: GrantkitResponse }> {
  const form = await b.go('/admin/clients/new')
  const page = await b.submit(actionOf(form, '/clients/new'), {
    csrf: fieldOf(form, 'csrf'),
    client_name: name,
    redirect_uris: 'https://shop.example/cb',
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'openid profile',
  })
  const id = /id="client-id">([^<]+)</.exec(page.body ?? '')![1]!
  return { id, page }
}

const secretOf = (page: GrantkitResponse): string => /id="client-secret" class="secret">([^<]+)</.exec(page.body ?? '')![1]!

describe('admin console: switching it on', () => {
  it('routes nothing when off (the default), and the admin API keeps its own path when on', async () => {
    const off = createAuthorizationServer({ issuer: ISSUER, clients: [], users: consoleUsers() })
    expect(off.routes('/admin')).toBe(false)
    expect(off.routes('/admin/clients')).toBe(false)
    const { server } = consoleServer({ admin: { enabled: true, console: { enabled: true } } })
    expect(server.routes('/admin/clients')).toBe(true)
    // The API answers its own requests with its RFC 6750 challenge, not a console page.
    const api = await server.handle({ method: 'GET', url: new URL(`${ISSUER}/admin/api/clients`), headers: {} })
    expect(api.status).toBe(401)
    expect(api.headers['www-authenticate']).toMatch(/^Bearer/)
  })

  it('refuses at construction to run without users, or with a scopes list lacking openid', () => {
    expect(() => createAuthorizationServer({ issuer: ISSUER, clients: [], admin: { console: { enabled: true } } })).toThrow(/admin\.console: needs users/)
    expect(() => createAuthorizationServer({ issuer: ISSUER, clients: [], users: consoleUsers(), scopes: ['profile'], admin: { console: { enabled: true } } })).toThrow(/openid/)
    expect(() =>
      createAuthorizationServer({ issuer: ISSUER, clients: [{ client_id: 'grantkit-console', client_secret: 'x', grant_types: ['client_credentials'] }], users: consoleUsers(), admin: { console: { enabled: true } } }),
    ).toThrow(/grantkit-console/)
  })
})

describe('admin console: sign-in', () => {
  it('sends a signed-out browser through the authorization endpoint with PKCE S256 and the exact callback', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    const first = await b.request('GET', '/admin/clients')
    expect(first.status).toBe(303)
    expect(first.headers.location).toBe('/admin/signin')
    const start = await b.request('GET', '/admin/signin')
    const url = new URL(String(start.headers.location))
    expect(url.origin + url.pathname).toBe(`${ISSUER}/authorize`)
    expect(url.searchParams.get('client_id')).toBe('grantkit-console')
    expect(url.searchParams.get('redirect_uri')).toBe(`${ISSUER}/admin/callback`)
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
    expect(url.searchParams.get('response_type')).toBe('code')
    const cookie = String(start.headers['set-cookie'])
    expect(cookie).toMatch(/^__Host-grantkit_console_signin=/)
    expect(cookie).toMatch(/; Path=\/; HttpOnly; SameSite=Strict; Secure/)
  })

  it('signs an administrator in through the login page and sets a __Host-, HttpOnly, SameSite=Strict, Secure session cookie', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    const events: unknown[] = []
    server.on('admin.audit', (e) => events.push(e))
    const page = await signIn(b)
    expect(page.status).toBe(200)
    expect(page.url).toBe(`${ISSUER}/admin/clients`)
    expect(page.body).toContain('alice-sub')
    expectConsoleHeaders(page)
    expect(b.jar.has(SESSION)).toBe(true)
    expect(events).toContainEqual(expect.objectContaining({ action: 'console.signin', outcome: 'success', actor: { sub: 'alice-sub', clientId: 'grantkit-console' } }))
  })

  it('refuses a person the user source does not call an administrator with a 403 page and no session', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    const page = await signIn(b, 'bob', 'builder')
    expect(page.status).toBe(403)
    expect(page.body).toContain('Not an administrator')
    expectConsoleHeaders(page)
    expect(b.jar.has(SESSION)).toBe(false)
    expect((await b.request('GET', '/admin/clients')).status).toBe(303)
  })

  it('ends the console session of someone who stops being an administrator, at their next request', async () => {
    const admins = new Set(['alice-sub'])
    const { server } = consoleServer({}, consoleUsers(admins))
    const b = new Browser(server)
    await signIn(b)
    admins.delete('alice-sub')
    const res = await b.request('GET', '/admin/clients')
    expect(res.status).toBe(403)
    admins.add('alice-sub')
    // The session is gone, not just refused once.
    expect((await b.request('GET', '/admin/clients')).status).toBe(303)
  })

  it('refuses a callback whose state is not the one this browser was sent off with', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    await b.request('GET', '/admin/signin')
    const res = await b.request('GET', '/admin/callback?code=abc&state=forged&iss=' + encodeURIComponent(ISSUER))
    expect(res.status).toBe(400)
    expect(res.body).toContain('Sign-in failed')
    expect(b.jar.has(SESSION)).toBe(false)
  })

  it('refuses a callback naming another issuer (RFC 9207)', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    const start = await b.request('GET', '/admin/signin')
    const state = new URL(String(start.headers.location)).searchParams.get('state')!
    const res = await b.request('GET', `/admin/callback?code=abc&state=${state}&iss=${encodeURIComponent('https://evil.example')}`)
    expect(res.status).toBe(400)
    expect(b.jar.has(SESSION)).toBe(false)
  })

  it('works with a StaticUserSource whose user has "admin": true', async () => {
    const users = new StaticUserSource([
      { username: 'alice', password: 'wonderland', claims: { sub: 'alice-sub' }, admin: true },
      { username: 'bob', password: 'builder', claims: { sub: 'bob-sub' } },
    ])
    expect(await users.isAdministrator('alice-sub')).toBe(true)
    expect(await users.isAdministrator('bob-sub')).toBe(false)
    expect(() => new StaticUserSource([{ username: 'x', password: 'y', admin: 'yes' as unknown as boolean }])).toThrow(/users\[0\]\.admin: must be a boolean/)
  })
})

describe('admin console: sessions', () => {
  it('expires after the idle timeout without a request', async () => {
    const { server, clock } = consoleServer({ admin: { console: { enabled: true, idleTimeout: 600 } } })
    const b = new Browser(server)
    await signIn(b)
    clock.advance(599)
    expect((await b.request('GET', '/admin/clients')).status).toBe(200)
    clock.advance(599)
    expect((await b.request('GET', '/admin/clients')).status).toBe(200)
    clock.advance(600)
    const res = await b.request('GET', '/admin/clients')
    expect(res.status).toBe(303)
    expect(res.headers.location).toBe('/admin/signin')
  })

  it('expires at the absolute timeout however busy', async () => {
    const { server, clock } = consoleServer({ admin: { console: { enabled: true, idleTimeout: 600, absoluteTimeout: 1800 } } })
    const b = new Browser(server)
    await signIn(b)
    for (let i = 0; i < 3; i++) {
      clock.advance(500)
      expect((await b.request('GET', '/admin/clients')).status).toBe(200)
    }
    clock.advance(300)
    expect((await b.request('GET', '/admin/clients')).status).toBe(303)
  })

  it('refuses a form posted with an expired session (401 page), changing nothing', async () => {
    const { server, clock } = consoleServer()
    const b = new Browser(server)
    await signIn(b)
    const form = await b.go('/admin/clients/new')
    clock.advance(901)
    const res = await b.post('/admin/clients/new', { csrf: fieldOf(form, 'csrf'), client_name: 'Late', grant_types: 'client_credentials', token_endpoint_auth_method: 'client_secret_basic' })
    expect(res.status).toBe(401)
    expectConsoleHeaders(res)
    expect((await server.clients.list()).clients).toHaveLength(0)
  })

  it('signs out: the session cookie is cleared and the old id no longer works', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    const page = await signIn(b)
    const oldCookie = b.cookie
    const out = await b.post(actionOf(page, '/signout'), { csrf: fieldOf(page, 'csrf') })
    expect(out.status).toBe(200)
    expect(String(out.headers['set-cookie'])).toMatch(/Max-Age=0/)
    const replay = await server.handle({ method: 'GET', url: new URL(`${ISSUER}/admin/clients`), headers: { cookie: oldCookie } })
    expect(replay.status).toBe(303)
  })

  it('gives every sign-in a fresh session id (no fixation) and never stores the id itself', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    await signIn(b)
    const first = b.jar.get(SESSION)
    b.jar.delete(SESSION)
    await b.go('/admin/clients')
    expect(b.jar.get(SESSION)).toBeDefined()
    expect(b.jar.get(SESSION)).not.toBe(first)
  })
})

describe('admin console: CSRF and origin', () => {
  async function signedIn() {
    const { server } = consoleServer()
    const b = new Browser(server)
    const page = await signIn(b)
    return { server, b, csrf: fieldOf(page, 'csrf') }
  }
  const body = (csrf?: string) => ({ ...(csrf !== undefined && { csrf }), client_name: 'X', grant_types: 'client_credentials', token_endpoint_auth_method: 'client_secret_basic', scope: '' })

  it('refuses a POST without the CSRF token with a 403 page', async () => {
    const { server, b } = await signedIn()
    const res = await b.post('/admin/clients/new', body())
    expect(res.status).toBe(403)
    expect(res.body).toContain('Request refused')
    expectConsoleHeaders(res)
    expect((await server.clients.list()).clients).toHaveLength(0)
  })

  it('refuses a POST with a wrong CSRF token', async () => {
    const { server, b, csrf } = await signedIn()
    const res = await b.post('/admin/clients/new', body(csrf.slice(0, -2) + (csrf.endsWith('AA') ? 'BB' : 'AA')))
    expect(res.status).toBe(403)
    expect((await server.clients.list()).clients).toHaveLength(0)
  })

  it('refuses another session\'s CSRF token', async () => {
    const { server, b } = await signedIn()
    const other = new Browser(server)
    const otherCsrf = fieldOf(await signIn(other), 'csrf')
    expect((await b.post('/admin/clients/new', body(otherCsrf))).status).toBe(403)
  })

  it('refuses a POST from another origin, or with Sec-Fetch-Site cross-site, or with neither header', async () => {
    const { server, b, csrf } = await signedIn()
    expect((await b.post('/admin/clients/new', body(csrf), { origin: 'https://evil.example' })).status).toBe(403)
    expect((await b.post('/admin/clients/new', body(csrf), { 'sec-fetch-site': 'cross-site' })).status).toBe(403)
    expect((await b.post('/admin/clients/new', body(csrf), { origin: ISSUER, 'sec-fetch-site': 'same-site' })).status).toBe(403)
    expect((await b.post('/admin/clients/new', body(csrf), {})).status).toBe(403)
    expect((await server.clients.list()).clients).toHaveLength(0)
    // Sec-Fetch-Site alone, from a browser that leaves out Origin, is enough with the token.
    expect((await b.post('/admin/clients/new', body(csrf), { 'sec-fetch-site': 'same-origin' })).status).toBe(200)
  })

  it('puts the session\'s CSRF token in every form of every page', async () => {
    const { b, csrf } = await signedIn()
    const { id } = await createClient(b)
    for (const path of ['/admin/clients', '/admin/clients/new', `/admin/clients/${id}`, '/admin/people', '/admin/audit']) {
      const page = await b.go(path)
      expect(page.status, path).toBe(200)
      expectConsoleHeaders(page)
      const forms = (page.body ?? '').split('<form method="post"').slice(1)
      expect(forms.length, path).toBeGreaterThan(0)
      for (const f of forms) expect(f.slice(0, f.indexOf('</form>')), path).toContain(`name="csrf" value="${csrf}"`)
    }
  })
})

describe('admin console: clients', () => {
  it('creates a client, shows its secret once, and never again on any page', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    await signIn(b)
    const log: string[] = []
    server.on('*', (e) => log.push(JSON.stringify(e)))
    const { id, page } = await createClient(b)
    const secret = secretOf(page)
    expect(secret.length).toBeGreaterThanOrEqual(32)
    expect(page.status).toBe(200)
    expectConsoleHeaders(page)
    expect(page.body).toContain('shown this once')
    for (const path of ['/admin/clients', `/admin/clients/${id}`, '/admin/audit', '/admin/people/alice-sub']) {
      const again = await b.go(path)
      expect(again.status, path).toBe(200)
      expect(again.body, path).not.toContain(secret)
    }
    expect(log.join('\n')).not.toContain(secret)
    // And it is a working secret.
    const stored = await server.clients.get(id)
    expect(stored?.hasSecret).toBe(true)
  })

  it('rotates a secret: the new one shown once, the old one kept for the chosen overlap', async () => {
    const { server, clock } = consoleServer()
    const b = new Browser(server)
    await signIn(b)
    const { id, page: created } = await createClient(b)
    const first = secretOf(created)
    const view = await b.go(`/admin/clients/${id}`)
    const rotated = await b.post(actionOf(view, '/secret'), { csrf: fieldOf(view, 'csrf'), overlap: '3600' })
    expect(rotated.status).toBe(200)
    const second = secretOf(rotated)
    expect(second).not.toBe(first)
    const after = await b.go(`/admin/clients/${id}`)
    expect(after.body).not.toContain(second)
    expect(after.body).not.toContain(first)
    expect((await server.clients.get(id))?.previousSecretValidUntil).toBe(Math.floor(clock.now()) + 3600)
    // An overlap the form does not offer is refused.
    const odd = await b.post(actionOf(after, '/secret'), { csrf: fieldOf(after, 'csrf'), overlap: '999999999' })
    expect(odd.status).toBe(400)
  })

  it('edits a client and shows a rule it breaks next to the field, keeping what was typed', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    await signIn(b)
    const { id } = await createClient(b)
    let view = await b.go(`/admin/clients/${id}`)
    const form = { csrf: fieldOf(view, 'csrf'), version: fieldOf(view, 'version'), client_name: 'Shop 2', redirect_uris: 'http://shop.example/cb', grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic', scope: 'openid' }
    const bad = await b.post(actionOf(view, `/clients/${id}`), form)
    expect(bad.status).toBe(400)
    expect(bad.body).toMatch(/<textarea id="redirect_uris"[^>]*aria-invalid="true"[^>]*>http:\/\/shop\.example\/cb<\/textarea>\s*<p class="field-error" id="redirect_uris-error"/)
    expect((await server.clients.get(id))?.metadata.client_name).toBe('Shop')
    view = await b.submit(actionOf(view, `/clients/${id}`), { ...form, redirect_uris: 'https://shop.example/cb2' })
    expect(view.status).toBe(200)
    expect(view.body).toContain('Changes saved.')
    const stored = await server.clients.get(id)
    expect(stored?.metadata.client_name).toBe('Shop 2')
    expect(stored?.metadata.redirect_uris).toEqual(['https://shop.example/cb2'])
    expect(stored?.hasSecret).toBe(true)
  })

  it('refuses an edit of a version someone else changed since (409), showing the client as it is now', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    await signIn(b)
    const { id } = await createClient(b)
    const view = await b.go(`/admin/clients/${id}`)
    await server.clients.update(id, { client_name: 'Changed elsewhere', redirect_uris: ['https://shop.example/cb'], grant_types: ['authorization_code'], scope: 'openid' })
    const res = await b.post(actionOf(view, `/clients/${id}`), {
      csrf: fieldOf(view, 'csrf'),
      version: fieldOf(view, 'version'),
      client_name: 'Mine',
      redirect_uris: 'https://shop.example/cb',
      grant_types: 'authorization_code',
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid',
    })
    expect(res.status).toBe(409)
    expect((await server.clients.get(id))?.metadata.client_name).toBe('Changed elsewhere')
  })

  it('revokes every token of a client and deletes it, each audited with the administrator as actor', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    await signIn(b)
    const events: Array<Record<string, unknown>> = []
    server.on('admin.audit', (e) => events.push(e as unknown as Record<string, unknown>))
    const { id } = await createClient(b)
    let view = await b.go(`/admin/clients/${id}`)
    view = await b.submit(actionOf(view, '/tokens/revoke'), { csrf: fieldOf(view, 'csrf') })
    expect(view.body).toContain('is revoked')
    const list = await b.submit(actionOf(view, '/delete'), { csrf: fieldOf(view, 'csrf') })
    expect(list.url).toContain('/admin/clients?deleted=')
    expect(await server.clients.get(id)).toBeUndefined()
    expect(events.map((e) => [e.action, e.outcome])).toEqual([
      ['client.create', 'success'],
      ['client.tokens.revoke', 'success'],
      ['client.delete', 'success'],
    ])
    for (const e of events) expect(e.actor).toEqual({ sub: 'alice-sub', clientId: 'grantkit-console' })
  })

  it('pages the client list', async () => {
    const { server } = consoleServer()
    for (let i = 0; i < 23; i++) await server.clients.create({ client_id: `c${String(i).padStart(2, '0')}`, grant_types: ['client_credentials'] })
    const b = new Browser(server)
    const first = await signIn(b)
    expect(first.body).toContain('c19')
    expect(first.body).not.toContain('c20')
    const next = /href="([^"]+after=[^"]+)"/.exec(first.body ?? '')![1]!.replace(/&amp;/g, '&')
    const second = await b.go(next)
    expect(second.body).toContain('c22')
    expect(second.body).not.toContain('>c19<')
  })

  it('shows a 404 page for a client that is not stored, and escapes ids in pages', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    await signIn(b)
    const res = await b.go('/admin/clients/%3Cscript%3E')
    expect(res.status).toBe(404)
    expect(res.body).not.toContain('<script>')
  })
})

describe('admin console: people', () => {
  it('lists a person\'s consents and sessions, revokes a consent and ends a session', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    await signIn(b)
    // bob's consent to web and a live session of his, made through the real pages.
    const bob = new Browser(server)
    const url = new URL(`${ISSUER}/authorize`)
    url.search = new URLSearchParams({ response_type: 'code', client_id: 'web', redirect_uri: 'https://app.example/cb', scope: 'openid profile', state: 's', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGjSstw-cM', code_challenge_method: 'S256' }).toString()
    let p = await bob.go(url.toString())
    p = await bob.submit(actionOf(p), { csrf: fieldOf(p, 'csrf'), username: 'bob', password: 'builder' })
    p = await bob.submit(actionOf(p), { csrf: fieldOf(p, 'csrf'), decision: 'allow' })
    expect(p.url).toMatch(/^https:\/\/app\.example\/cb\?code=/)

    let person = await b.go('/admin/people?sub=bob-sub')
    expect(person.url).toBe(`${ISSUER}/admin/people/bob-sub`)
    expect(person.body).toMatch(/<table id="consents">[\s\S]*<code>web<\/code>[\s\S]*openid profile/)
    expect(person.body).toMatch(/<table id="sessions">[\s\S]*<code>web<\/code>/)
    person = await b.submit(actionOf(person, '/consents/web/revoke'), { csrf: fieldOf(person, 'csrf') })
    expect(person.body).toContain('The consent to <code>web</code> is revoked')
    expect(person.body).not.toContain('<table id="consents">')
    person = await b.submit(actionOf(person, '/sessions/'), { csrf: fieldOf(person, 'csrf') })
    expect(person.body).toContain('The session has ended.')
    expect(await server.sessions.list('bob-sub')).toEqual([])
  })
})

describe('admin console: audit log', () => {
  it('shows the storage\'s events when it has an auditEvents store, and says so', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    await signIn(b)
    await createClient(b)
    const page = await b.go('/admin/audit')
    expect(page.body).toContain('from the storage&#39;s audit log')
    expect(page.body).toMatch(/<code>client\.create<\/code>[\s\S]*<code>console\.signin<\/code>/)
  })

  it('without the store, shows what this process saw and says so', async () => {
    const { createMemoryStorage } = await import('../../src/index.js')
    const { auditEvents: _gone, ...storage } = createMemoryStorage()
    const { server } = consoleServer({ storage })
    const b = new Browser(server)
    await signIn(b)
    const page = await b.go('/admin/audit')
    expect(page.body).toContain('Only what this process saw since it started')
    expect(page.body).toContain('<code>console.signin</code>')
  })
})

describe('admin console: languages', () => {
  it('speaks German when the browser asks for it', async () => {
    const { server } = consoleServer()
    const b = new Browser(server)
    await signIn(b)
    const res = await b.request('GET', '/admin/clients', undefined, { 'accept-language': 'de' })
    expect(res.body).toContain('<html lang="de">')
    expect(res.body).toContain('Verwaltungskonsole')
    expect(res.body).toContain('Abmelden')
  })
})
