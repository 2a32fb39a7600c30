import { expect } from 'vitest'
import { createAuthorizationServer, type AuthorizationServer, type AuthorizationServerOptions, type GrantkitResponse, type UserSource } from '../../src/index.js'
import { fakeClock, plainUsers } from '../helpers.js'

export const ISSUER = 'https://as.example'

/** alice is an administrator, bob is not; both sign in with plain-text passwords. */
export function consoleUsers(admins = new Set(['alice-sub'])): UserSource {
  const base = plainUsers({ alice: { sub: 'alice-sub', password: 'wonderland' }, bob: { sub: 'bob-sub', password: 'builder' } })
  return { ...base, isAdministrator: async (sub) => admins.has(sub) }
}

export function consoleServer(extra: Partial<AuthorizationServerOptions> = {}, users: UserSource = consoleUsers()) {
  const clock = fakeClock()
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients: [{ client_id: 'web', client_secret: 'web-secret', redirect_uris: ['https://app.example/cb'], grant_types: ['authorization_code'], scope: 'openid profile' }],
    users,
    admin: { console: { enabled: true } },
    deps: { now: clock.now },
    ...extra,
  })
  return { server, clock }
}

/** A cookie jar and a same-origin navigator over `server.handle`, as a browser on the console's pages. */
export class Browser {
  readonly jar = new Map<string, string>()
  constructor(readonly server: AuthorizationServer) {}

  get cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  absorb(res: GrantkitResponse): GrantkitResponse {
    const set = res.headers['set-cookie']
    for (const line of set === undefined ? [] : Array.isArray(set) ? set : [set]) {
      const [pair] = line.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq)
      if (/Max-Age=0\b/.test(line)) this.jar.delete(name)
      else this.jar.set(name, pair!.slice(eq + 1))
    }
    return res
  }

  async request(method: string, url: string, body?: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<GrantkitResponse> {
    const h: Record<string, string> = { ...headers }
    if (this.jar.size > 0) h.cookie = this.cookie
    let text: string | undefined
    if (body !== undefined) {
      const form = new URLSearchParams()
      for (const [k, v] of Object.entries(body)) for (const one of Array.isArray(v) ? v : [v]) form.append(k, one)
      text = form.toString()
      h['content-type'] ??= 'application/x-www-form-urlencoded'
    }
    return this.absorb(await this.server.handle({ method, url: new URL(url, ISSUER), headers: h, ...(text !== undefined && { body: text }), remoteAddress: '192.0.2.1' }))
  }

  /** GET, following same-origin redirects. */
  async go(url: string): Promise<GrantkitResponse & { url: string }> {
    let at = new URL(url, ISSUER).toString()
    for (let i = 0; i < 10; i++) {
      const res = await this.request('GET', at)
      if (res.status < 300 || res.status >= 400) return { ...res, url: at }
      at = new URL(String(res.headers.location), at).toString()
      if (!at.startsWith(ISSUER)) return { ...res, url: at }
    }
    throw new Error('too many redirects')
  }

  /** A form POST the console's own page would send: same origin, its CSRF token unless given. */
  async post(url: string, form: Record<string, string | string[]>, headers: Record<string, string> = { origin: ISSUER, 'sec-fetch-site': 'same-origin' }): Promise<GrantkitResponse> {
    return this.request('POST', url, form, headers)
  }

  /** POST, then follow the redirect like a browser (303 → GET). */
  async submit(url: string, form: Record<string, string | string[]>): Promise<GrantkitResponse & { url: string }> {
    const res = await this.post(url, form)
    if (res.status >= 300 && res.status < 400) return this.go(new URL(String(res.headers.location), new URL(url, ISSUER)).toString())
    return { ...res, url }
  }
}

/** The value of a hidden field or the action of the first form on a page. */
export function fieldOf(res: GrantkitResponse, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(res.body ?? '')
  expect(m, `field ${name}`).not.toBeNull()
  return m![1]!.replace(/&amp;/g, '&')
}

export function actionOf(res: GrantkitResponse, contains = ''): string {
  for (const m of (res.body ?? '').matchAll(/<form method="post" action="([^"]+)"/g)) {
    const action = m[1]!.replace(/&amp;/g, '&')
    if (action.includes(contains)) return action
  }
  throw new Error(`no form posting to …${contains}`)
}

/**
 * Signs `username` in to the console through the real pages: the console
 * sends the browser to the authorization endpoint, the login page, the
 * consent page the first time, then back to the console's callback.
 */
export async function signIn(browser: Browser, username = 'alice', password = 'wonderland'): Promise<GrantkitResponse & { url: string }> {
  let page = await browser.go('/admin/clients')
  expect(page.url).toMatch(/\/interaction\//)
  page = await browser.submit(actionOf(page), { csrf: fieldOf(page, 'csrf'), username, password })
  if (page.url.includes('/interaction/')) page = await browser.submit(actionOf(page), { csrf: fieldOf(page, 'csrf'), decision: 'allow' })
  return page
}
