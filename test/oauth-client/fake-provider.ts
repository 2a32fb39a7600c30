/**
 * A tiny provider over HTTP whose every answer a test chooses: discovery,
 * JWKS, and the token, device and revocation endpoints. It plays the hostile
 * or broken provider that real servers never are.
 */
import { importJWK, SignJWT, UnsecuredJWT, type JWK } from 'jose'
import { keyPair, listen } from './harness.js'

export interface FakeAnswer {
  status?: number
  /** JSON body; a string is sent as-is. */
  body?: unknown
  headers?: Record<string, string>
}

export interface FakeProvider {
  issuer: string
  privateJwk: JWK
  publicJwk: JWK
  /** Merged over the default discovery document. */
  metadata: Record<string, unknown>
  /** Answers the token endpoint; default a 500. */
  token: (params: URLSearchParams, headers: Record<string, string | string[] | undefined>) => FakeAnswer | Promise<FakeAnswer>
  device: (params: URLSearchParams) => FakeAnswer
  /** Answers the userinfo endpoint; default a 500. */
  userinfo: (headers: Record<string, string | string[] | undefined>) => FakeAnswer
  /** Form bodies received, by path. */
  requests: Array<{ path: string; params: URLSearchParams }>
  /** Every request received, any method, discovery and JWKS included. */
  hits: Array<{ method: string; path: string }>
  /** An ID token signed with the provider's key unless `key`/`alg` say otherwise; claims default to a valid token for `app`. `typ` sets the header's typ. */
  idToken(claims?: Record<string, unknown>, options?: { key?: JWK; alg?: string; kid?: string; none?: boolean; hmacSecret?: Uint8Array; typ?: string }): Promise<string>
  close(): Promise<void>
}

export async function startFakeProvider(): Promise<FakeProvider> {
  const http = await listen()
  const { privateJwk, publicJwk } = await keyPair('ES256', 'fake-key')
  const fake: FakeProvider = {
    issuer: http.url,
    privateJwk,
    publicJwk,
    metadata: {},
    token: () => ({ status: 500, body: 'no answer configured' }),
    device: () => ({ status: 500, body: 'no answer configured' }),
    userinfo: () => ({ status: 500, body: 'no answer configured' }),
    requests: [],
    hits: [],
    async idToken(claims = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000)
      const payload = { iss: http.url, sub: 'alice', aud: 'app', iat: now, exp: now + 300, ...claims }
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete (payload as Record<string, unknown>)[k]
      if (options.none === true) return new UnsecuredJWT(payload).encode()
      if (options.hmacSecret !== undefined) return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: 'fake-key' }).sign(options.hmacSecret)
      const jwk = options.key ?? privateJwk
      const alg = options.alg ?? 'ES256'
      return new SignJWT(payload).setProtectedHeader({ alg, kid: options.kid ?? 'fake-key', ...(options.typ !== undefined && { typ: options.typ }) }).sign(await importJWK(jwk, alg))
    },
    close: http.close,
  }
  const send = (res: import('node:http').ServerResponse, a: FakeAnswer) => {
    const body = typeof a.body === 'string' ? a.body : JSON.stringify(a.body ?? {})
    res.writeHead(a.status ?? 200, { 'content-type': typeof a.body === 'string' ? 'text/html' : 'application/json', ...a.headers })
    res.end(body)
  }
  http.setHandler((req, res) => {
    let raw = ''
    req.on('data', (c: Buffer) => (raw += c.toString()))
    req.on('end', () => {
      void (async () => {
        const path = new URL(req.url ?? '/', http.url).pathname
        const params = new URLSearchParams(raw)
        fake.hits.push({ method: req.method ?? '?', path })
        if (req.method === 'POST') fake.requests.push({ path, params })
        if (path === '/.well-known/openid-configuration') {
          return send(res, {
            body: {
              issuer: http.url,
              authorization_endpoint: `${http.url}/authorize`,
              token_endpoint: `${http.url}/token`,
              jwks_uri: `${http.url}/jwks`,
              revocation_endpoint: `${http.url}/revoke`,
              device_authorization_endpoint: `${http.url}/device`,
              userinfo_endpoint: `${http.url}/userinfo`,
              authorization_response_iss_parameter_supported: true,
              id_token_signing_alg_values_supported: ['ES256', 'RS256', 'HS256', 'none'],
              ...fake.metadata,
            },
          })
        }
        if (path === '/jwks') return send(res, { body: { keys: [publicJwk] } })
        if (path === '/token') return send(res, await fake.token(params, req.headers))
        if (path === '/device') return send(res, fake.device(params))
        if (path === '/userinfo') return send(res, fake.userinfo(req.headers))
        if (path === '/revoke') return send(res, { status: 200, body: '' })
        send(res, { status: 404, body: 'not found' })
      })()
    })
  })
  return fake
}
