/**
 * Shared set-up for the interactive-flow tests (authorization endpoint,
 * interaction API, built-in pages, authorization_code grant): a server with
 * one client per shape of registration, a tiny in-memory user source (no
 * scrypt), a cookie jar standing in for the browser, and helpers that read
 * redirects the way a client would. Everything runs on a fake clock.
 */
import { createHash, randomBytes } from 'node:crypto'
import { expect } from 'vitest'
import {
  createAuthorizationServer,
  type AuthorizationServer,
  type AuthorizationServerOptions,
  type ClientMetadata,
  type GrantkitRequest,
  type GrantkitResponse,
  type InteractionResult,
} from '../../src/index.js'
import { basic, counterIds, fakeClock, ISSUER, json, tokenRequest, plainUsers } from '../helpers.js'

export { ISSUER, basic, json }

export const WEB_CB = 'https://client.example/cb'
export const SPA_CB = 'https://spa.example/cb'
export const IMPLICIT_CB = 'https://implicit.example/cb'
export const MULTI_CBS = ['https://multi.example/one', 'https://multi.example/two']
export const WEB_AUTH = { authorization: basic('web', 'web-secret') }
export const OTHER_AUTH = { authorization: basic('other', 'other-secret') }

/** One client per shape of registration the tests need. */
export const testClients: ClientMetadata[] = [
  // Confidential code client, one redirect URI, may get refresh tokens.
  {
    client_id: 'web',
    client_secret: 'web-secret',
    client_name: 'Web App',
    redirect_uris: [WEB_CB],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: 'openid profile email offline_access api:read api:write',
  },
  // A second confidential client sharing the redirect URI, to steal codes with.
  {
    client_id: 'other',
    client_secret: 'other-secret',
    client_name: 'Other App',
    redirect_uris: [WEB_CB],
    grant_types: ['authorization_code'],
    scope: 'openid api:read',
  },
  // Public code client: PKCE is mandatory.
  {
    client_id: 'spa',
    token_endpoint_auth_method: 'none',
    client_name: 'Single Page App',
    redirect_uris: [SPA_CB],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid api:read',
  },
  // Confidential client with two redirect URIs: redirect_uri may not be omitted.
  {
    client_id: 'multi',
    client_secret: 'multi-secret',
    redirect_uris: MULTI_CBS,
    grant_types: ['authorization_code'],
    scope: 'api:read',
  },
  // Implicit / OIDC implicit client. Also registered for refresh_token, so that
  // "the implicit grant never issues one" is a real check.
  {
    client_id: 'implicit',
    token_endpoint_auth_method: 'none',
    client_name: 'Implicit App',
    redirect_uris: [IMPLICIT_CB],
    grant_types: ['implicit', 'refresh_token'],
    response_types: ['token', 'id_token', 'id_token token'],
    scope: 'openid profile email api:read',
  },
  // A hostile display name, for the escaping tests.
  {
    client_id: 'xss',
    client_secret: 'xss-secret',
    client_name: '<script>alert("pwned")</script>',
    redirect_uris: ['https://xss.example/cb'],
    grant_types: ['authorization_code'],
    scope: 'api:read',
  },
]

/** The people of the tiny user source: username → sub, password, claims. */
export const PEOPLE: Record<string, { sub: string; password: string; claims: Record<string, unknown> }> = {
  alice: { sub: 'sub-alice', password: 'wonderland', claims: { name: 'Alice Liddell', email: 'alice@example.com', email_verified: true } },
  bob: { sub: 'sub-bob', password: 'builder', claims: { name: 'Bob', email: 'bob@example.com' } },
}

/** A user source without scrypt, so that each test can afford its own server. */
export const tinyUsers = plainUsers(PEOPLE)

export interface Harness {
  server: AuthorizationServer
  clock: ReturnType<typeof fakeClock>
}

/** A fresh server on a fake clock with the test clients and the tiny user source. */
export function setup(extra: Partial<AuthorizationServerOptions> = {}): Harness {
  const clock = fakeClock()
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients: testClients,
    users: tinyUsers,
    deps: { now: clock.now, randomId: counterIds() },
    ...extra,
  })
  return { server, clock }
}

type Params = Record<string, string> | [string, string][]

/** The query string of `params`; pairs allow repeating a name. */
export function query(params: Params): string {
  return new URLSearchParams(Array.isArray(params) ? params : Object.entries(params)).toString()
}

/** A GET (or form POST) to the authorization endpoint, as a browser sends it. */
export function authorizeRequest(params: Params, opts: { cookie?: string; method?: 'GET' | 'POST' } = {}): GrantkitRequest {
  const headers: Record<string, string> = {}
  if (opts.cookie !== undefined && opts.cookie !== '') headers.cookie = opts.cookie
  if (opts.method === 'POST') {
    return { method: 'POST', url: new URL(`${ISSUER}/authorize`), headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: query(params) }
  }
  return { method: 'GET', url: new URL(`${ISSUER}/authorize?${query(params)}`), headers }
}

/** The cookies a browser keeps from the responses it receives. */
export class Browser {
  readonly jar = new Map<string, string>()

  /** Applies every Set-Cookie of a response (Max-Age=0 deletes). */
  absorb(res: GrantkitResponse): GrantkitResponse {
    const raw = res.headers['set-cookie']
    const all = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
    for (const c of all) {
      const [pair] = c.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      if (/;\s*Max-Age=0(;|$)/i.test(c) || value === '') this.jar.delete(name)
      else this.jar.set(name, value)
    }
    return res
  }

  get cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  /** A request from this browser, for the interaction API. */
  request(url = `${ISSUER}/interaction`, method = 'POST'): GrantkitRequest {
    return { method, url: new URL(url), headers: this.cookie === '' ? {} : { cookie: this.cookie } }
  }
}

/** Set-Cookie values of a response as an array. */
export function setCookies(res: GrantkitResponse): string[] {
  const raw = res.headers['set-cookie']
  return raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
}

/** The redirect a response makes, split the way a client reads it. */
export function redirect(res: GrantkitResponse): { url: URL; query: URLSearchParams; fragment: URLSearchParams } {
  expect(res.status, res.body).toBe(303)
  const location = res.headers.location
  expect(typeof location).toBe('string')
  const url = new URL(location as string)
  return { url, query: url.searchParams, fragment: new URLSearchParams(url.hash.slice(1)) }
}

/** The redirect's target without query and fragment. */
export function base(url: URL): string {
  return url.origin + url.pathname
}

/** Asserts an error page: HTML, status 400 (or `status`), no redirect anywhere. */
export function expectErrorPage(res: GrantkitResponse, status = 400): void {
  expect(res.status).toBe(status)
  expect(res.headers['content-type']).toMatch(/^text\/html/)
  expect(res.headers.location).toBeUndefined()
}

/** Asserts an error redirect to `target` in the given mode, and returns its parameters. */
export function expectErrorRedirect(res: GrantkitResponse, target: string, error: string, mode: 'query' | 'fragment' = 'query'): URLSearchParams {
  const r = redirect(res)
  expect(base(r.url)).toBe(target)
  const params = mode === 'query' ? r.query : r.fragment
  const other = mode === 'query' ? r.fragment : r.query
  expect(params.get('error')).toBe(error)
  expect(other.get('error')).toBeNull()
  return params
}

/** The uid from a redirect to the built-in interaction pages. */
export function uidOf(res: GrantkitResponse): string {
  const r = redirect(res)
  expect(r.url.href.startsWith(`${ISSUER}/interaction/`)).toBe(true)
  return r.url.pathname.split('/').pop()!
}

/** A PKCE verifier and its S256 challenge (RFC 7636 §4.1, §4.2). */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** Code request defaults for `web`. */
export function webParams(extra: Record<string, string> = {}): Record<string, string> {
  return { response_type: 'code', client_id: 'web', redirect_uri: WEB_CB, scope: 'api:read', state: 'st-1', ...extra }
}

/**
 * Runs an authorization through the interaction API: authorize, then log in
 * and consent in one finish. Returns the response that goes back to the client.
 */
export async function authorizeAs(h: Harness, browser: Browser, params: Params, result: InteractionResult = { login: { sub: 'sub-alice' }, consent: {} }): Promise<GrantkitResponse> {
  const start = browser.absorb(await h.server.authorize(authorizeRequest(params, { cookie: browser.cookie })))
  if (start.headers.location?.toString().startsWith(`${ISSUER}/interaction/`) !== true) return start
  const uid = uidOf(start)
  return browser.absorb(await h.server.interactions.finish(browser.request(), uid, result))
}

/** A fresh code for `params` (default: web, scope api:read). */
export async function codeFor(h: Harness, params: Record<string, string> = webParams(), browser = new Browser()): Promise<string> {
  const res = await authorizeAs(h, browser, params)
  const code = redirect(res).query.get('code')
  expect(code).toBeTypeOf('string')
  return code!
}

/** Redeems a code at the token endpoint. */
export function redeem(h: Harness, params: Record<string, string>, headers: Record<string, string> = WEB_AUTH): Promise<GrantkitResponse> {
  return h.server.token(tokenRequest({ grant_type: 'authorization_code', ...params }, headers))
}

/** Asserts a token-endpoint error. */
export function expectTokenError(res: GrantkitResponse, error: string): void {
  expect(res.status, res.body).toBe(error === 'invalid_client' ? 401 : 400)
  expect(json(res).error).toBe(error)
  expect(json(res).access_token).toBeUndefined()
}

/** A call to the userinfo endpoint with a bearer token. */
export function userinfo(h: Harness, token: string): Promise<GrantkitResponse> {
  return h.server.userinfo({ method: 'GET', url: new URL(`${ISSUER}/userinfo`), headers: { authorization: `Bearer ${token}` } })
}

/** at_hash / c_hash for ES256: the left half of SHA-256, base64url (OIDC Core §3.1.3.6). */
export function leftHalfSha256(value: string): string {
  return createHash('sha256').update(value, 'ascii').digest().subarray(0, 16).toString('base64url')
}

/** The server's JWKS, as a relying party fetches it. */
export async function jwksOf(h: Harness): Promise<{ keys: object[] }> {
  const res = h.server.jwks({ method: 'GET', url: new URL(`${ISSUER}/jwks`), headers: {} })
  return JSON.parse(res.body!) as { keys: object[] }
}
