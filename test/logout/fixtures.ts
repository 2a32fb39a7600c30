/**
 * Shared set-up of the logout tests: a server whose clients register logout
 * metadata, and helpers that sign a person in through the interaction API and
 * redeem the code the way a relying party would, keeping the browser's cookies.
 */
import { expect } from 'vitest'
import type { AuthorizationServerOptions, ClientMetadata, GrantkitRequest, GrantkitResponse } from '../../src/index.js'
import { authorizeAs, Browser, ISSUER, json, redirect, redeem, setup as baseSetup, tinyUsers, WEB_CB, type Harness } from '../authorize/fixtures.js'
import { basic } from '../helpers.js'

export { Browser, ISSUER, redirect, type Harness }

export const WEB_BYE = 'https://client.example/signed-out'
export const OTHER_BYE = 'https://other.example/bye'

/** Two confidential clients that sign people in with OpenID Connect and register where to go after logout. */
export function logoutClients(extra: { web?: Partial<ClientMetadata>; other?: Partial<ClientMetadata> } = {}): ClientMetadata[] {
  return [
    {
      client_id: 'web',
      client_secret: 'web-secret',
      client_name: 'Web App',
      redirect_uris: [WEB_CB],
      post_logout_redirect_uris: [WEB_BYE, 'https://client.example/other-bye?keep=1'],
      grant_types: ['authorization_code', 'refresh_token'],
      scope: 'openid profile offline_access',
      ...extra.web,
    },
    {
      client_id: 'other',
      client_secret: 'other-secret',
      client_name: 'Other App',
      redirect_uris: [WEB_CB],
      post_logout_redirect_uris: [OTHER_BYE],
      grant_types: ['authorization_code'],
      scope: 'openid',
      ...extra.other,
    },
  ]
}

/** A server on a fake clock with the logout clients. */
export function setup(extra: Partial<AuthorizationServerOptions> = {}): Harness {
  return baseSetup({ clients: logoutClients(), users: tinyUsers, ...extra })
}

const SECRETS: Record<string, string> = { web: 'web-secret', other: 'other-secret' }

/**
 * Signs `sub` in (or reuses the browser's session) for `clientId` and returns
 * the ID token the client gets for the code.
 */
export async function signIn(h: Harness, browser: Browser, clientId = 'web', sub = 'sub-alice'): Promise<string> {
  const params = { response_type: 'code', client_id: clientId, redirect_uri: WEB_CB, scope: 'openid', state: 's', nonce: 'n-1' }
  // With a session in the browser, only consent is asked (single sign-on); otherwise the person signs in.
  const result = browser.jar.has('__Host-grantkit_session') ? { consent: {} } : { login: { sub }, consent: {} }
  const res = await authorizeAs(h, browser, params, result)
  const code = redirect(res).query.get('code')
  expect(code, res.headers.location as string).toBeTypeOf('string')
  const tokens = await redeem(h, { code: code!, redirect_uri: WEB_CB }, { authorization: basic(clientId, SECRETS[clientId]!) })
  expect(tokens.status, tokens.body).toBe(200)
  return json(tokens).id_token as string
}

/** The payload of a JWT, unverified (the tests verify signatures where it matters). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** A request to the end-session endpoint: GET with a query, or POST with a form. */
export function endSessionRequest(browser: Browser, params: Record<string, string> | [string, string][], method: 'GET' | 'POST' = 'GET'): GrantkitRequest {
  const query = new URLSearchParams(Array.isArray(params) ? params : Object.entries(params)).toString()
  const headers: Record<string, string> = browser.cookie === '' ? {} : { cookie: browser.cookie }
  if (method === 'POST') return { method, url: new URL(`${ISSUER}/session/end`), headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: query }
  return { method, url: new URL(`${ISSUER}/session/end${query === '' ? '' : `?${query}`}`), headers }
}

/** Posts the confirmation form of a confirmation page as the browser would (its hidden fields, then `extra`). */
export function confirmRequest(browser: Browser, page: GrantkitResponse, extra: Record<string, string> = {}): GrantkitRequest {
  const action = /<form method="post" action="([^"]+)"/.exec(page.body ?? '')?.[1]
  expect(action).toBe(`${ISSUER}/session/end/confirm`)
  const form = new URLSearchParams()
  for (const m of (page.body ?? '').matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(m[1]!, unescape(m[2]!))
  for (const [k, v] of Object.entries(extra)) form.set(k, v)
  return { method: 'POST', url: new URL(action!), headers: { cookie: browser.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() }
}

const unescape = (s: string): string => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')

/** Whether the browser's next authorization for `web` needs a login again (its single sign-on is gone). */
export async function needsLogin(h: Harness, browser: Browser): Promise<boolean> {
  const res = browser.absorb(await h.server.authorize({
    method: 'GET',
    url: new URL(`${ISSUER}/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'web', redirect_uri: WEB_CB, scope: 'openid', state: 's' })}`),
    headers: browser.cookie === '' ? {} : { cookie: browser.cookie },
  }))
  if (res.status !== 303) throw new Error(`authorize answered ${res.status}`)
  const location = new URL(res.headers.location as string)
  if (location.searchParams.get('code') !== null) return false
  const uid = location.pathname.split('/').pop()!
  const details = await h.server.interactions.details(browser.request(), uid)
  return details?.prompt === 'login'
}
