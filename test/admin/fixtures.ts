/**
 * Shared set-up of the admin API tests: a server with the admin API on, an
 * operator client that gets admin tokens by client credentials, and helpers
 * that call the API through server.handle.
 */
import type { AuthorizationServerOptions, ClientMetadata, GrantkitEvent, GrantkitRequest, GrantkitResponse } from '../../src/index.js'
import { ISSUER, setup as baseSetup, testClients, type Harness } from '../authorize/fixtures.js'
import { basic, json, tokenRequest } from '../helpers.js'

export { ISSUER, json, type Harness }

export const OPS: ClientMetadata = { client_id: 'ops', client_secret: 'ops-secret', grant_types: ['client_credentials'], scope: 'grantkit:admin api:read' }

/** A server on a fake clock with the admin API on, the authorize fixtures' clients and the operator. */
export function setup(extra: Partial<AuthorizationServerOptions> = {}): Harness & { events: GrantkitEvent[] } {
  const h = baseSetup({ clients: [...testClients, OPS], admin: { enabled: true }, ...extra })
  const events: GrantkitEvent[] = []
  h.server.on('*', (e) => events.push(e))
  return { ...h, events }
}

/** An access token of the operator client with `scope`. */
export async function tokenOf(h: Harness, scope = 'grantkit:admin', clientId = 'ops', secret = 'ops-secret'): Promise<string> {
  const res = await h.server.handle(tokenRequest({ grant_type: 'client_credentials', scope }, { authorization: basic(clientId, secret) }))
  if (res.status !== 200) throw new Error(`token request failed: ${res.body}`)
  return json(res).access_token as string
}

/** A call of the admin API; a body object is sent as JSON. */
export function adminRequest(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): GrantkitRequest {
  const headers: Record<string, string> = { ...(opts.token !== undefined && { authorization: `Bearer ${opts.token}` }) }
  const req: GrantkitRequest = { method, url: new URL(`${ISSUER}/admin/api${path}`), headers }
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json'
    req.body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body)
  }
  Object.assign(headers, opts.headers)
  return req
}

export async function call(h: Harness, method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<GrantkitResponse> {
  return h.server.handle(adminRequest(method, path, opts))
}

export function audits(events: GrantkitEvent[]): Array<Extract<GrantkitEvent, { type: 'admin.audit' }>> {
  return events.filter((e): e is Extract<GrantkitEvent, { type: 'admin.audit' }> => e.type === 'admin.audit')
}
