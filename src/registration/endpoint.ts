import { timingSafeEqual } from 'node:crypto'
import type { ClientRegistration, ManagedClient } from '../clients/manager.js'
import { hashClientSecret } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { OAuthError } from '../errors.js'
import { jsonNoStore } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { requireStore } from '../storage/features.js'
import type { StoredClientRecord } from '../storage/types.js'
import { invalidRegistrationToken, registrationError } from './errors.js'
import { registrableMetadata } from './fields.js'
import { readJsonObject } from './json-body.js'
import type { RegistrationPolicyContext } from './options.js'
import { applySoftwareStatement } from './software-statement.js'
import { checkInitialAccessToken, newRegistrationToken, requireRegistrationToken } from './tokens.js'

/**
 * The client registration endpoint (RFC 7591 §3) at its path, and the client
 * configuration endpoint (RFC 7592 §2) at `<path>/<client_id>`, the
 * `registration_client_uri` of each registered client.
 */
export async function registrationEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const route = ctx.routes.registration!
  if (req.url.pathname === route) {
    if (req.method !== 'POST') throw methodNotAllowed('POST')
    return register(ctx, req)
  }
  if (req.method === 'POST') throw methodNotAllowed('GET, PUT, DELETE')
  let clientId: string
  try {
    clientId = decodeURIComponent(req.url.pathname.slice(route.length + 1))
  } catch {
    throw invalidRegistrationToken()
  }
  return manage(ctx, req, clientId)
}

/** RFC 7591 §3.1 → §3.2.1: registers the client and answers 201 with its metadata, secret and registration access token. */
async function register(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  // RFC 7591 §3: the initial access token is checked before anything of the request is looked at.
  const initialAccessToken = checkInitialAccessToken(ctx, req)
  const body = readJsonObject(ctx, req)
  const { metadata, claims } = await applySoftwareStatement(ctx, body)
  const decided = await decide(ctx, registrableMetadata(metadata), { action: 'register', initialAccessToken, request: req, ...(claims !== undefined && { softwareStatement: claims }) })
  const { token, stored } = newRegistrationToken(ctx)
  const { client, secret } = await ctx.clientManager.create(decided, { registrationToken: stored }).catch((e: unknown) => Promise.reject(registrationError(e)))
  return jsonNoStore(201, clientInformation(ctx, client, token, secret))
}

/** RFC 7592 §2.1 read, §2.2 update, §2.3 delete, each with the client's registration access token. */
async function manage(ctx: ServerContext, req: GrantkitRequest, clientId: string): Promise<GrantkitResponse> {
  const store = requireStore(ctx.storage, 'clients', 'dynamic client registration')
  const record = await store.get(clientId)
  // RFC 7592 §2.1: an unknown client and a wrong token alike are 401.
  const token = requireRegistrationToken(ctx, req, record)
  const current = record!
  if (req.method === 'GET' || req.method === 'HEAD') {
    const client = await ctx.clientManager.get(clientId)
    if (client === undefined) throw invalidRegistrationToken()
    // RFC 7592 §3: the token stays as it is on a read; the secret is kept only as a hash and cannot be shown again.
    return jsonNoStore(200, clientInformation(ctx, client, token))
  }
  if (req.method === 'DELETE') {
    await ctx.clientManager.delete(clientId)
    // RFC 7592 §2.3: 204, and the client id, its secret and this token are dead from now on.
    return { status: 204, headers: { 'cache-control': 'no-store', pragma: 'no-cache' } }
  }
  return update(ctx, req, current)
}

/** RFC 7592 §2.2: replaces the metadata whole, rotating the registration access token. */
async function update(ctx: ServerContext, req: GrantkitRequest, current: StoredClientRecord): Promise<GrantkitResponse> {
  const clientId = current.clientId
  const body = readJsonObject(ctx, req)
  // RFC 7592 §2.2: the request carries the client_id, which must be this client's.
  if (body.client_id !== clientId) throw new OAuthError('invalid_client_metadata', { description: 'client_id must be present and be this client\'s.' })
  // RFC 7592 §2.2: a client_secret sent must be the current one.
  if (body.client_secret !== undefined && !secretMatches(current, body.client_secret)) {
    throw new OAuthError('invalid_client_metadata', { description: 'client_secret does not match the current secret.' })
  }
  const { metadata, claims } = await applySoftwareStatement(ctx, body)
  const decided = await decide(ctx, registrableMetadata(metadata), {
    action: 'update',
    clientId,
    initialAccessToken: false,
    request: req,
    ...(claims !== undefined && { softwareStatement: claims }),
  })
  const { token, stored } = newRegistrationToken(ctx)
  // The version read with the token: a concurrent update (which rotated it) makes this one fail, not overwrite.
  const { client, secret } = await ctx.clientManager
    .update(clientId, decided, { expectedVersion: current.version, registrationToken: stored })
    .catch((e: unknown) => Promise.reject(registrationError(e)))
  return jsonNoStore(200, clientInformation(ctx, client, token, secret))
}

/** Runs the deployment's policy, if any, on the understood metadata. */
async function decide(ctx: ServerContext, metadata: Record<string, unknown>, policyCtx: RegistrationPolicyContext): Promise<ClientRegistration> {
  const policy = ctx.registration.policy
  if (policy === undefined) return metadata as ClientRegistration
  let decided: unknown
  try {
    decided = await policy(structuredClone(metadata) as ClientRegistration, policyCtx)
  } catch (error) {
    throw registrationError(error)
  }
  if (typeof decided !== 'object' || decided === null || Array.isArray(decided)) throw new TypeError('registration.policy: must return the metadata object to register')
  return decided as ClientRegistration
}

/** The client information response (RFC 7591 §3.2.1, RFC 7592 §3). */
function clientInformation(ctx: ServerContext, client: ManagedClient, token: string, secret?: string): Record<string, unknown> {
  return {
    ...client.metadata,
    ...(secret !== undefined && { client_secret: secret }),
    registration_access_token: token,
    registration_client_uri: `${ctx.endpoints.registration}/${encodeURIComponent(client.clientId)}`,
  }
}

function secretMatches(record: StoredClientRecord, secret: unknown): boolean {
  if (typeof secret !== 'string' || record.secretHash === undefined) return false
  const expected = Buffer.from(record.secretHash.slice('sha256:'.length), 'base64url')
  const presented = hashClientSecret(secret)
  return expected.length === presented.length && timingSafeEqual(expected, presented)
}

function methodNotAllowed(allow: string): OAuthError {
  return new OAuthError('invalid_request', { status: 405, description: `Method not allowed; use ${allow}.`, headers: { allow } })
}
