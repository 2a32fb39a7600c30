import { createAuthorizationServer, type AuthorizationServer, type AuthorizationServerOptions, type GrantkitRequest, type GrantkitResponse, type UserSource } from '../src/index.js'

export const ISSUER = 'https://as.example'

/** A clock the test moves by hand (seconds). */
export function fakeClock(start = 1_800_000_000): { now: () => number; advance: (s: number) => void; set: (s: number) => void } {
  let t = start
  return { now: () => t, advance: (s) => void (t += s), set: (s) => void (t = s) }
}

/**
 * A response without its `x-request-id`, which differs on every request: for
 * tests that two failures answer alike.
 */
export function sansRequestId(res: GrantkitResponse): GrantkitResponse {
  const { 'x-request-id': _id, ...headers } = res.headers
  return { ...res, headers }
}

/** Deterministic ids: id-1, id-2, … */
export function counterIds(prefix = 'id'): () => string {
  let n = 0
  return () => `${prefix}-${++n}`
}

export const clients = [
  { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read api:write' },
  { client_id: 'post', client_secret: 'post-secret', token_endpoint_auth_method: 'client_secret_post' as const, grant_types: ['client_credentials'], scope: 'api:read' },
  { client_id: 'pub', token_endpoint_auth_method: 'none' as const, grant_types: ['client_credentials'], scope: 'api:read' },
]

export function makeServer(extra: Partial<AuthorizationServerOptions> = {}): { server: AuthorizationServer; clock: ReturnType<typeof fakeClock> } {
  const clock = fakeClock()
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients,
    deps: { now: clock.now, randomId: counterIds() },
    ...extra,
  })
  return { server, clock }
}

export function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+')
  return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')
}

export function tokenRequest(body: string | Record<string, string>, headers: Record<string, string> = {}, path = '/token'): GrantkitRequest {
  return {
    method: 'POST',
    url: new URL(ISSUER + path),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof body === 'string' ? body : new URLSearchParams(body).toString(),
  }
}

export function json(res: GrantkitResponse): Record<string, unknown> {
  return JSON.parse(res.body ?? 'null') as Record<string, unknown>
}

/** A person of `plainUsers`: subject, password in plain text, claims. */
export interface PlainUser {
  sub: string
  password: string
  claims?: Record<string, unknown>
}

/**
 * A user source that compares passwords in plain text, so a test can build a
 * server without scrypt's cost. Tests only: the real ones hash.
 */
export function plainUsers(people: Record<string, PlainUser>): UserSource {
  const bySub = new Map(Object.values(people).map((p) => [p.sub, p]))
  return {
    async findByUsername(username) {
      const p = Object.hasOwn(people, username) ? people[username] : undefined
      return p === undefined ? undefined : { sub: p.sub, username }
    },
    async verifyPassword(account, password) {
      return account !== undefined && Object.hasOwn(people, account.username) && people[account.username]!.password === password
    },
    async claims(sub) {
      const p = bySub.get(sub)
      return p === undefined ? undefined : { ...p.claims, sub }
    },
  }
}

/** alice / wonderland, subject `alice-sub`. */
export const alice = (claims: Record<string, unknown> = { name: 'Alice' }): Record<string, PlainUser> => ({
  alice: { sub: 'alice-sub', password: 'wonderland', claims },
})
