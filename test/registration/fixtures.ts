import { generateKeyPairSync } from 'node:crypto'
import { SignJWT, importJWK, type JWK } from 'jose'
import { createAuthorizationServer, createMemoryStorage, type AuthorizationServer, type AuthorizationServerOptions, type GrantkitRequest, type GrantkitResponse } from '../../src/index.js'
import { counterIds, fakeClock, ISSUER } from '../helpers.js'
import { defaultUsers } from '../users/fixtures.js'

export const UI = 'https://as.example/ui/login'

/** A server with registration on, memory storage and a frozen clock. */
export function registrationServer(registration: AuthorizationServerOptions['registration'] = { enabled: true }, extra: Partial<AuthorizationServerOptions> = {}) {
  const clock = fakeClock()
  const storage = createMemoryStorage({ now: clock.now })
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients: [{ client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' }],
    storage,
    scopes: ['api:read', 'api:write', 'openid', 'profile'],
    users: defaultUsers(),
    interaction: { url: (uid) => `${UI}/${uid}` },
    deps: { now: clock.now, randomId: counterIds('client') },
    registration,
    ...extra,
  })
  return { server, clock, storage }
}

/** An RFC 7591 §3.1 request: JSON metadata POSTed to the registration endpoint. */
export function registerRequest(metadata: unknown, headers: Record<string, string> = {}): GrantkitRequest {
  return {
    method: 'POST',
    url: new URL(ISSUER + '/register'),
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof metadata === 'string' ? metadata : JSON.stringify(metadata),
  }
}

/** A request to a registration_client_uri (RFC 7592 §2). */
export function manageRequest(method: string, uri: string, token: string | undefined, metadata?: unknown): GrantkitRequest {
  return {
    method,
    url: new URL(uri),
    headers: { ...(token !== undefined && { authorization: `Bearer ${token}` }), ...(metadata !== undefined && { 'content-type': 'application/json' }) },
    ...(metadata !== undefined && { body: JSON.stringify(metadata) }),
  }
}

export function body(res: GrantkitResponse): Record<string, any> {
  return JSON.parse(res.body ?? 'null') as Record<string, any>
}

/** A software statement issuer: its public JWKS and a signer. */
export function statementIssuer(issuer = 'https://statements.example') {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'st1', alg: 'ES256' }
  const privateJwk = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: 'st1', alg: 'ES256' }
  return {
    issuer,
    jwks: { keys: [jwk] },
    async sign(claims: Record<string, unknown>, iss = issuer): Promise<string> {
      const key = await importJWK(privateJwk, 'ES256')
      return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'st1' }).setIssuer(iss).setIssuedAt(1_800_000_000).sign(key)
    },
  }
}

export type { AuthorizationServer }
