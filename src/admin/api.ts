import { ClientManagementError, type ClientManagementErrorCode, type ClientRegistration, type ManagedClient } from '../clients/manager.js'
import type { ServerContext } from '../context.js'
import type { JSONWebKeySet } from '../crypto/jose.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { sessionsApi } from '../logout/sessions.js'
import { audited, type AuditActor } from './audit.js'
import { authenticateAdmin } from './auth.js'
import { AdminError, adminErrorResponse, adminJson, readJsonObject, matchPattern, refuseUnknownFields } from './http.js'
import { endUserSession, listConsents, listPersonGrants, revokeClientTokens, revokeConsent } from './operations.js'

/** What a route handler gets: the request, the decoded path parameters, the caller. */
interface Call {
  ctx: ServerContext
  req: GrantkitRequest
  params: string[]
  actor: AuditActor
  /** What the audit event names as changed; a handler fills in what the path does not say (a new client's id). */
  target: Record<string, string>
}

interface Route {
  method: string
  /** Path segments below the base; `:` marks a parameter. */
  pattern: readonly string[]
  /** The audited action; absent for reads. */
  action?: string
  handle(call: Call): Promise<GrantkitResponse>
}

const STATUS: Record<ClientManagementErrorCode, number> = {
  invalid_client_metadata: 400,
  invalid_redirect_uri: 400,
  not_found: 404,
  conflict: 409,
  configured_client: 409,
  no_secret: 400,
}

/** How a client is shown: never a secret or its hash (ManagedClient has neither). */
function show(client: ManagedClient): Record<string, unknown> {
  return {
    client_id: client.clientId,
    metadata: client.metadata,
    has_secret: client.hasSecret,
    ...(client.previousSecretValidUntil !== undefined && { previous_secret_valid_until: client.previousSecretValidUntil }),
    created_at: client.createdAt,
    updated_at: client.updatedAt,
    version: client.version,
  }
}

function notFound(what: string): AdminError {
  return new AdminError(404, 'not_found', `No such ${what}.`)
}

function limitOf(req: GrantkitRequest): number | undefined {
  const raw = req.url.searchParams.get('limit')
  if (raw === null) return undefined
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw new AdminError(400, 'invalid_request', 'limit must be a whole number >= 1.')
  return n
}

/** RFC 9110 §13.1.1: If-Match "<version>" makes an update a compare-and-swap on the version read. */
function expectedVersion(req: GrantkitRequest): number | undefined {
  const raw = req.headers['if-match']
  if (raw === undefined) return undefined
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(raw)
  if (m === null) throw new AdminError(400, 'invalid_request', 'If-Match must be the client\'s version.')
  return Number(m[1])
}

const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: ['clients'],
    async handle({ ctx, req }) {
      const after = req.url.searchParams.get('after') ?? undefined
      const limit = limitOf(req)
      const page = await ctx.clientManager.list({ ...(after !== undefined && { after }), ...(limit !== undefined && { limit }) })
      return adminJson(200, { clients: page.clients.map(show), ...(page.next !== undefined && { next: page.next }) })
    },
  },
  {
    method: 'POST',
    pattern: ['clients'],
    action: 'client.create',
    async handle({ ctx, req, target }) {
      const body = readJsonObject(req, ctx.maxBodyBytes)
      if (typeof body.client_id === 'string') target.clientId = body.client_id
      const { client, secret } = await ctx.clientManager.create(body as ClientRegistration)
      target.clientId = client.clientId
      // Shown this once: only its hash is stored.
      return adminJson(201, { ...show(client), ...(secret !== undefined && { client_secret: secret }) })
    },
  },
  {
    method: 'GET',
    pattern: ['clients', ':'],
    async handle({ ctx, params }) {
      const client = await ctx.clientManager.get(params[0]!)
      if (client === undefined) throw notFound('stored client')
      return adminJson(200, show(client))
    },
  },
  {
    method: 'PUT',
    pattern: ['clients', ':'],
    action: 'client.update',
    async handle({ ctx, req, params }) {
      const body = readJsonObject(req, ctx.maxBodyBytes)
      const version = expectedVersion(req)
      const { client, secret } = await ctx.clientManager.update(params[0]!, body as ClientRegistration, version === undefined ? {} : { expectedVersion: version })
      return adminJson(200, { ...show(client), ...(secret !== undefined && { client_secret: secret }) })
    },
  },
  {
    method: 'DELETE',
    pattern: ['clients', ':'],
    action: 'client.delete',
    async handle({ ctx, params }) {
      if (!(await ctx.clientManager.delete(params[0]!))) throw notFound('stored client')
      return { status: 204, headers: { 'cache-control': 'no-store' } }
    },
  },
  {
    method: 'POST',
    pattern: ['clients', ':', 'secret'],
    action: 'client.secret.rotate',
    async handle({ ctx, req, params }) {
      const body = readJsonObject(req, ctx.maxBodyBytes, true)
      refuseUnknownFields(body, ['oldSecretValidUntil'])
      const until = body.oldSecretValidUntil
      if (until !== undefined && (typeof until !== 'number' || !Number.isFinite(until) || until < 0)) {
        throw new AdminError(400, 'invalid_request', 'oldSecretValidUntil must be seconds since the epoch.')
      }
      const { client, secret } = await ctx.clientManager.rotateSecret(params[0]!, until === undefined ? {} : { oldSecretValidUntil: until })
      return adminJson(200, { ...show(client), client_secret: secret })
    },
  },
  {
    method: 'PUT',
    pattern: ['clients', ':', 'jwks'],
    action: 'client.keys.replace',
    async handle({ ctx, req, params }) {
      const body = readJsonObject(req, ctx.maxBodyBytes)
      refuseUnknownFields(body, ['keys'])
      if (!Array.isArray(body.keys)) throw new AdminError(400, 'invalid_request', 'The body must be a JWK Set: { "keys": [...] } (RFC 7517 §5).')
      return adminJson(200, show(await ctx.clientManager.replaceKeys(params[0]!, body as unknown as JSONWebKeySet)))
    },
  },
  {
    method: 'POST',
    pattern: ['clients', ':', 'tokens', 'revoke'],
    action: 'client.tokens.revoke',
    async handle({ ctx, params }) {
      if ((await ctx.clients.find(params[0]!)) === undefined) throw notFound('client')
      await revokeClientTokens(ctx, params[0]!)
      return { status: 204, headers: { 'cache-control': 'no-store' } }
    },
  },
  {
    method: 'GET',
    pattern: ['users', ':', 'sessions'],
    async handle({ ctx, params }) {
      return adminJson(200, { sessions: await sessionsApi(ctx).list(params[0]!) })
    },
  },
  {
    method: 'DELETE',
    pattern: ['users', ':', 'sessions', ':'],
    action: 'session.end',
    async handle({ ctx, params }) {
      if (!(await endUserSession(ctx, params[0]!, params[1]!))) throw notFound('session')
      return { status: 204, headers: { 'cache-control': 'no-store' } }
    },
  },
  {
    method: 'GET',
    pattern: ['users', ':', 'consents'],
    async handle({ ctx, params }) {
      return adminJson(200, { consents: await listConsents(ctx, params[0]!) })
    },
  },
  {
    method: 'GET',
    pattern: ['users', ':', 'grants'],
    async handle({ ctx, params }) {
      const grants = await listPersonGrants(ctx, params[0]!)
      return adminJson(200, {
        grants: grants.map((g) => ({
          client_id: g.clientId,
          ...(g.clientName !== undefined && { client_name: g.clientName }),
          client_exists: g.clientExists,
          scope: g.scope,
          expires_at: g.expiresAt,
        })),
      })
    },
  },
  {
    method: 'DELETE',
    pattern: ['users', ':', 'consents', ':'],
    action: 'consent.revoke',
    async handle({ ctx, params }) {
      if (!(await revokeConsent(ctx, params[0]!, params[1]!))) throw notFound('consent')
      return { status: 204, headers: { 'cache-control': 'no-store' } }
    },
  },
]

/** The target of an audited change, named by the path parameters. */
function targetOf(route: Route, params: string[]): Record<string, string> {
  if (route.pattern[0] === 'clients') return params[0] === undefined ? {} : { clientId: params[0] }
  const target: Record<string, string> = { sub: params[0]! }
  if (route.pattern[2] === 'sessions' && params[1] !== undefined) target.sid = params[1]
  if (route.pattern[2] === 'consents' && params[1] !== undefined) target.clientId = params[1]
  return target
}

/** The route for the segments, and its decoded parameters; which methods the path has, for 405. */
function match(method: string, segments: string[]): { route?: Route; params: string[]; allow: string[] } {
  const allow: string[] = []
  let found: { route: Route; params: string[] } | undefined
  for (const route of ROUTES) {
    const params = matchPattern(route.pattern, segments)
    if (params === undefined) continue
    allow.push(route.method)
    if (route.method === method || (method === 'HEAD' && route.method === 'GET')) found ??= { route, params }
  }
  return { ...found, params: found?.params ?? [], allow }
}

function decodeSegments(rest: string): string[] {
  try {
    return rest.split('/').map((s) => decodeURIComponent(s))
  } catch {
    throw new AdminError(400, 'invalid_request', 'The path is not validly percent-encoded.')
  }
}

/**
 * The admin API: one prefix endpoint routing below its base. The caller is
 * checked first (RFC 6750), then the route; every change emits an
 * `admin.audit` event, refused ones included.
 */
export async function adminApiEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const auth = await authenticateAdmin(ctx, req)
  if ('response' in auth) return auth.response
  const base = ctx.routes.adminApi!
  const rest = req.url.pathname.slice(base.length).replace(/^\//, '')
  try {
    const { route, params, allow } = match(req.method, decodeSegments(rest))
    if (route === undefined) {
      if (allow.length === 0) throw new AdminError(404, 'not_found', 'No such admin API route.')
      return adminJson(405, { error: 'invalid_request', error_description: `Method not allowed; use ${allow.join(', ')}.` })
    }
    const target = targetOf(route, params)
    const call: Call = { ctx, req, params, actor: auth.actor, target }
    if (route.action === undefined) return await route.handle(call)
    return await audited(ctx, auth.actor, route.action, target, req.requestId, () => route.handle(call))
  } catch (err) {
    if (err instanceof AdminError) return adminErrorResponse(err)
    if (err instanceof ClientManagementError) {
      return adminJson(STATUS[err.code], { error: err.code, error_description: err.message, ...(err.field !== undefined && { field: err.field }) })
    }
    // A storage outage (503) or a bug (bare server_error) goes to the server's one failure path.
    throw err
  }
}
