import { once } from 'node:events'
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect } from 'vitest'
import { toNodeListener } from '../../adapters/node.js'
import { createAuthorizationServer, type AuthorizationServer, type AuthorizationServerOptions, type GrantkitRequest, type GrantkitResponse } from '../../src/index.js'
import { basic, counterIds, fakeClock, ISSUER, json, tokenRequest } from '../helpers.js'

export const RS_AUTH = basic('rs', 'rs-secret')

export const resourceClients = [
  { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read api:write' },
  // A resource server: it introspects tokens issued to anyone.
  { client_id: 'rs', client_secret: 'rs-secret', grant_types: ['client_credentials'], introspection_allowed: true },
]

export type Clock = ReturnType<typeof fakeClock>

/** An authorization server on a fake clock, issuing tokens to `svc`. */
export function makeAs(extra: Partial<AuthorizationServerOptions> = {}, issuer = ISSUER): { server: AuthorizationServer; clock: Clock } {
  const clock = fakeClock()
  const server = createAuthorizationServer({
    issuer,
    clients: resourceClients,
    deps: { now: clock.now, randomId: counterIds() },
    ...extra,
  })
  return { server, clock }
}

/** A client_credentials access token for `svc`. */
export async function issue(server: AuthorizationServer, scope = 'api:read'): Promise<string> {
  const res = await server.handle(tokenRequest({ grant_type: 'client_credentials', scope }, { authorization: basic('svc', 'svc-secret') }))
  expect(res.status, res.body).toBe(200)
  return json(res).access_token as string
}

/** Revokes a token at the server's revocation endpoint (RFC 7009), as its client. */
export async function revoke(server: AuthorizationServer, token: string): Promise<void> {
  const res = await server.handle(tokenRequest({ token }, { authorization: basic('svc', 'svc-secret') }, '/revoke'))
  expect(res.status, res.body).toBe(200)
}

export const API = 'https://api.example/orders'

/** A request to the protected API with the token in the Authorization header. */
export function withHeader(token: string | undefined, extra: Partial<GrantkitRequest> = {}): GrantkitRequest {
  return { method: 'GET', url: new URL(API), headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, ...extra }
}

/** A POST form request to the protected API. */
export function withForm(form: Record<string, string>, headers: Record<string, string> = {}): GrantkitRequest {
  return {
    method: 'POST',
    url: new URL(API),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  }
}

export function challenge(res: GrantkitResponse): string {
  return res.headers['www-authenticate'] as string
}

/** Starts a node:http server on 127.0.0.1 with an ephemeral port. */
export async function listen(listener?: RequestListener): Promise<{ http: Server; origin: string; close: () => Promise<void> }> {
  const http = createServer(listener)
  http.listen(0, '127.0.0.1')
  await once(http, 'listening')
  const origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  const close = () =>
    new Promise<void>((resolve, reject) => {
      http.close((err) => (err ? reject(err) : resolve()))
      http.closeAllConnections()
    })
  return { http, origin, close }
}

/** A grantkit authorization server served over real HTTP by the node adapter; its issuer is the origin. */
export async function serveAs(extra: Partial<AuthorizationServerOptions> = {}): Promise<{ server: AuthorizationServer; clock: Clock; origin: string; close: () => Promise<void> }> {
  const running = await listen()
  const { server, clock } = makeAs({ issuer: running.origin, ...extra }, running.origin)
  running.http.on('request', toNodeListener(server))
  return { server, clock, origin: running.origin, close: running.close }
}

/** A fetch that counts calls and passes them on to the real one (or to `impl`). */
export function fetchSpy(impl: typeof fetch = (input, init) => globalThis.fetch(input, init)): typeof fetch & { calls: { url: string; init: RequestInit | undefined }[] } {
  const calls: { url: string; init: RequestInit | undefined }[] = []
  const spy = ((input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    calls.push({ url: typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, init })
    return impl(input, init)
  }) as typeof fetch & { calls: typeof calls }
  spy.calls = calls
  return spy
}
