/**
 * Shared set-up for the PAR (RFC 9126) and JAR (RFC 9101) tests: a server on
 * a clock that starts at real time (oauth4webapi stamps its JWTs with the real
 * clock), the interactive test clients plus a client with keys, and
 * oauth4webapi wired to the server in process through its customFetch.
 */
import * as oauth from 'oauth4webapi'
import { createAuthorizationServer, type AuthorizationServerOptions, type ClientMetadata, type GrantkitRequest, type GrantkitResponse } from '../../src/index.js'
import { testClients, tinyUsers, type Harness } from '../authorize/fixtures.js'
import { counterIds, fakeClock, ISSUER } from '../helpers.js'

export const SIGNER_CB = 'https://signer.example/cb'

/** An ES256 key pair for a client, the public half as a JWK. */
export async function clientKeys(): Promise<{ privateKey: CryptoKey; jwk: JsonWebKey & { kid: string } }> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey)
  return { privateKey: pair.privateKey, jwk: { kty, crv, x, y, kid: 'k1', alg: 'ES256', use: 'sig' } as JsonWebKey & { kid: string } }
}

export interface ParHarness extends Harness {
  as: oauth.AuthorizationServer
  /** The private key of `signer` (private_key_jwt, request objects). */
  signerKey: oauth.PrivateKey
  /** oauth4webapi options that reach the server in process. */
  http: { [oauth.customFetch]: typeof fetch }
}

/** The signer client: private_key_jwt, code flow, keys for request objects. */
export function signerClient(jwk: JsonWebKey, extra: Partial<ClientMetadata> = {}): ClientMetadata {
  return {
    client_id: 'signer',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [jwk as never] },
    redirect_uris: [SIGNER_CB],
    grant_types: ['authorization_code'],
    scope: 'openid api:read api:write',
    ...extra,
  }
}

/** Turns a fetch call of oauth4webapi into a call of `server.handle`, and the answer into a Response. */
function inProcessFetch(handle: (req: GrantkitRequest) => Promise<GrantkitResponse>): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const headers: Record<string, string> = {}
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v))
    const body = init?.body === undefined || init.body === null ? undefined : String(init.body)
    const res = await handle({ method: init?.method ?? 'GET', url: new URL(String(input)), headers, ...(body !== undefined && { body }) })
    const out = new Headers()
    for (const [k, v] of Object.entries(res.headers)) for (const one of Array.isArray(v) ? v : [v]) out.append(k, String(one))
    return new Response(res.status === 204 ? null : (res.body ?? null), { status: res.status, headers: out })
  }) as typeof fetch
}

/** A server with the test clients and `signer`, and oauth4webapi's view of it (from its discovery document). */
export async function parSetup(options: { signer?: Partial<ClientMetadata>; clients?: ClientMetadata[]; server?: Partial<AuthorizationServerOptions> } = {}): Promise<ParHarness> {
  const clock = fakeClock(Math.floor(Date.now() / 1000))
  const { privateKey, jwk } = await clientKeys()
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients: [...testClients, signerClient(jwk, options.signer), ...(options.clients ?? [])],
    users: tinyUsers,
    deps: { now: clock.now, randomId: counterIds() },
    ...options.server,
  })
  const http = { [oauth.customFetch]: inProcessFetch((req) => server.handle(req)) }
  const as = await oauth.processDiscoveryResponse(new URL(ISSUER), await oauth.discoveryRequest(new URL(ISSUER), { ...http, algorithm: 'oauth2' }))
  return { server, clock, as, signerKey: { key: privateKey, kid: jwk.kid }, http }
}

/** A form POST to the PAR endpoint. */
export function parRequest(params: Record<string, string> | [string, string][], headers: Record<string, string> = {}): GrantkitRequest {
  const body = new URLSearchParams(Array.isArray(params) ? params : Object.entries(params)).toString()
  return { method: 'POST', url: new URL(`${ISSUER}/par`), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body }
}
