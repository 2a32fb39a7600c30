import { timingSafeEqual } from 'node:crypto'
import type { ServerContext } from '../context.js'
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS, HMAC_MIN_KEY_BYTES, type VerificationKey } from '../crypto/jose.js'
import { JwtAssertionError, peekJwtAssertion, verifyJwtAssertion } from '../crypto/jwt-assertion.js'
import { OAuthError } from '../errors.js'
import type { FormParams } from '../http/form.js'
import type { GrantkitRequest } from '../http/types.js'
import { clientVerificationKeys } from './keys.js'
import { hashClientSecret, type Client, type ClientAuthMethod } from './metadata.js'

/** RFC 7523 §2.2 */
export const JWT_BEARER_CLIENT_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** Parameters client authentication reads from a form; endpoints keep them on their allow-list. */
export const CLIENT_AUTH_PARAMETERS = ['client_id', 'client_secret', 'client_assertion', 'client_assertion_type'] as const

/** A client that proved who it is (or a public client that named itself). */
export interface AuthenticatedClient {
  client: Client
  method: ClientAuthMethod
}

// A fixed hash to compare against when the client is unknown, so that an
// unknown client_id costs as much as a wrong secret.
const DUMMY_HASH = hashClientSecret('grantkit-unknown-client')

function authFailure(ctx: ServerContext, req: GrantkitRequest, clientId: string | undefined, method: string | undefined, detail: string): OAuthError {
  ctx.events.emit({ type: 'client.authentication.failed', clientId, method, detail }, req.requestId)
  // RFC 6749 §5.2: 401 with WWW-Authenticate. Required when the client used Basic;
  // allowed for the other methods, and sent for them too so every failure looks alike.
  return new OAuthError('invalid_client', {
    detail,
    headers: { 'www-authenticate': `Basic realm="${ctx.issuer}"` },
  })
}

function decodeBasicPart(part: string): string | undefined {
  // RFC 6749 §2.3.1: id and secret are form-urlencoded before being joined.
  if (part.indexOf('%') === -1 && part.indexOf('+') === -1) return part
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}

function parseBasic(header: string): { id: string; secret: string } | undefined {
  const m = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header)
  if (m === null || m[1] === undefined) return undefined
  const decoded = Buffer.from(m[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) return undefined
  const id = decodeBasicPart(decoded.slice(0, colon))
  const secret = decodeBasicPart(decoded.slice(colon + 1))
  if (id === undefined || secret === undefined || id === '') return undefined
  return { id, secret }
}

/** A registry that answers synchronously costs no await (the static one does). */
function lookup(ctx: ServerContext, clientId: string): Client | undefined | Promise<Client | undefined> {
  return ctx.clients.find(clientId)
}

function secretMatches(client: Client | undefined, secret: string, now: number): boolean {
  const presented = hashClientSecret(secret)
  // SECURITY: every candidate is compared, in constant time and with no early
  // exit, so the time taken tells neither whether the client has a previous
  // secret in its rotation overlap nor which secret matched.
  const current = timingSafeEqual(presented, client?.secretHash ?? DUMMY_HASH)
  const previous = timingSafeEqual(presented, client?.previousSecret?.hash ?? DUMMY_HASH)
  if (client === undefined || client.secretHash === undefined) return false
  // RFC 7591 §3.2.1: past client_secret_expires_at the secret authenticates nothing.
  const currentLive = client.secretExpiresAt === 0 || client.secretExpiresAt > now
  const previousLive = client.previousSecret !== undefined && client.previousSecret.validUntil > now
  return (current && currentLive) || (previous && previousLive)
}

/**
 * After a failure, a registry that caches (stored clients) is asked once for
 * a fresher copy: the secret may have been rotated, or the keys replaced,
 * through another process since this one cached the client. The registry
 * limits how often it reads again, so wrong guesses cannot flood the store.
 */
async function fresher(ctx: ServerContext, clientId: string, had: Client | undefined): Promise<Client | undefined> {
  const reloaded = ctx.clients.reload?.(clientId)
  if (reloaded === undefined) return undefined
  const client = await reloaded
  return client === had ? undefined : client
}

/** Looks the client up and checks its secret, asking once for a fresher copy when that fails. */
async function clientWithSecret(ctx: ServerContext, clientId: string, secret: string): Promise<{ client: Client | undefined; ok: boolean }> {
  const found = lookup(ctx, clientId)
  const client = found instanceof Promise ? await found : found
  if (secretMatches(client, secret, ctx.now())) return { client, ok: true }
  const again = ctx.clients.reload === undefined ? undefined : await fresher(ctx, clientId, client)
  if (again === undefined) return { client, ok: false }
  return { client: again, ok: secretMatches(again, secret, ctx.now()) }
}

/**
 * Authenticates the client of a token, revocation or introspection request
 * (RFC 6749 §2.3, RFC 7523 §2.2). Exactly one method per request; the method
 * must be the one the client registered. Public clients identify themselves
 * with `client_id` only.
 *
 * @throws OAuthError `invalid_request` for more than one method, `invalid_client` (401) for every failure
 * @example
 * const { client, method } = await authenticateClient(server.context, req, params, server.context.endpoints.token)
 */
export async function authenticateClient(
  ctx: ServerContext,
  req: GrantkitRequest,
  params: FormParams,
  endpointUrl: string,
): Promise<AuthenticatedClient> {
  const found = await identifyClient(ctx, req, params, endpointUrl)
  checkOrigin(ctx, req, found.client)
  return found
}

/**
 * A browser page of another origin may act for a client only from the origins
 * the client allows (`allowed_origins`): otherwise a page anywhere could
 * redeem a code it got hold of, even if it could not read the answer.
 * Servers send no Origin; pages of the issuer's own origin are always allowed.
 *
 * @throws OAuthError `invalid_request` for an origin the client does not allow
 */
export function checkOrigin(ctx: Pick<ServerContext, 'issuer'>, req: GrantkitRequest, client: Client): void {
  const origin = req.headers.origin
  if (origin === undefined || client.allowedOrigins.has(origin) || origin === new URL(ctx.issuer).origin) return
  throw new OAuthError('invalid_request', { description: 'Requests from this origin are not allowed for this client.', detail: `origin ${origin.slice(0, 200)} not allowed for ${client.id}` })
}

async function identifyClient(
  ctx: ServerContext,
  req: GrantkitRequest,
  params: FormParams,
  endpointUrl: string,
): Promise<AuthenticatedClient> {
  const authorization = req.headers.authorization
  const basic = authorization !== undefined && /^basic /i.test(authorization)
  const postSecret = params.get('client_secret')
  const assertion = params.get('client_assertion')
  const assertionType = params.get('client_assertion_type')
  const paramId = params.get('client_id')

  const used = (basic ? 1 : 0) + (postSecret !== undefined ? 1 : 0) + (assertion !== undefined || assertionType !== undefined ? 1 : 0)
  // RFC 6749 §2.3: the client MUST NOT use more than one authentication method in each request.
  if (used > 1) {
    throw new OAuthError('invalid_request', { description: 'More than one client authentication method was used.' })
  }

  if (basic) {
    const creds = parseBasic(authorization)
    if (creds === undefined) throw authFailure(ctx, req, undefined, 'client_secret_basic', 'malformed Basic authorization header')
    if (paramId !== undefined && paramId !== creds.id) {
      throw authFailure(ctx, req, creds.id, 'client_secret_basic', 'client_id parameter differs from the Basic username')
    }
    const { client, ok } = await clientWithSecret(ctx, creds.id, creds.secret)
    if (client === undefined || !ok) throw authFailure(ctx, req, creds.id, 'client_secret_basic', client === undefined ? 'unknown client' : 'wrong or expired secret')
    if (client.authMethod !== 'client_secret_basic') {
      throw authFailure(ctx, req, client.id, 'client_secret_basic', `client is registered for ${client.authMethod}`)
    }
    return { client, method: 'client_secret_basic' }
  }

  if (postSecret !== undefined) {
    if (paramId === undefined) throw authFailure(ctx, req, undefined, 'client_secret_post', 'client_secret without client_id')
    const { client, ok } = await clientWithSecret(ctx, paramId, postSecret)
    if (client === undefined || !ok) throw authFailure(ctx, req, paramId, 'client_secret_post', client === undefined ? 'unknown client' : 'wrong or expired secret')
    if (client.authMethod !== 'client_secret_post') {
      throw authFailure(ctx, req, client.id, 'client_secret_post', `client is registered for ${client.authMethod}`)
    }
    return { client, method: 'client_secret_post' }
  }

  if (assertion !== undefined || assertionType !== undefined) {
    if (assertionType !== JWT_BEARER_CLIENT_ASSERTION || assertion === undefined) {
      throw authFailure(ctx, req, paramId, 'client_assertion', 'unsupported or missing client_assertion_type / client_assertion')
    }
    return verifyClientAssertion(ctx, req, assertion, paramId, endpointUrl)
  }

  if (paramId === undefined) throw authFailure(ctx, req, undefined, undefined, 'no client authentication')
  const found = lookup(ctx, paramId)
  const client = (found instanceof Promise ? await found : found) ?? (await fresher(ctx, paramId, undefined))
  if (client === undefined) throw authFailure(ctx, req, paramId, 'none', 'unknown client')
  if (!client.isPublic) throw authFailure(ctx, req, paramId, 'none', `confidential client sent no credentials (registered for ${client.authMethod})`)
  return { client, method: 'none' }
}

async function verifyClientAssertion(
  ctx: ServerContext,
  req: GrantkitRequest,
  assertion: string,
  paramId: string | undefined,
  endpointUrl: string,
): Promise<AuthenticatedClient> {
  const claimed = peekJwtAssertion(assertion)
  if (claimed === undefined) throw authFailure(ctx, req, paramId, 'client_assertion', 'client_assertion is not a JWT')
  // RFC 7523 §3: iss and sub are the client_id.
  const claimedId = claimed.sub
  if (claimedId === undefined || claimedId === '') throw authFailure(ctx, req, paramId, 'client_assertion', 'assertion has no sub')
  if (paramId !== undefined && paramId !== claimedId) throw authFailure(ctx, req, paramId, 'client_assertion', 'client_id differs from the assertion sub')
  const found = lookup(ctx, claimedId)
  const client = (found instanceof Promise ? await found : found) ?? (await fresher(ctx, claimedId, undefined))
  if (client === undefined) throw authFailure(ctx, req, claimedId, 'client_assertion', 'unknown client')
  let failure = await verifyAssertionOf(ctx, client, assertion, endpointUrl)
  if (failure === undefined) return { client, method: client.authMethod }
  // The keys may have been replaced through another process since this one cached the client.
  const again = await fresher(ctx, client.id, client)
  if (again !== undefined) {
    failure = await verifyAssertionOf(ctx, again, assertion, endpointUrl)
    if (failure === undefined) return { client: again, method: again.authMethod }
  }
  throw authFailure(ctx, req, client.id, failure.method, failure.detail)
}

/** Verifies a client's assertion: undefined when it holds, else why not (reported once, by the caller). */
async function verifyAssertionOf(ctx: ServerContext, client: Client, assertion: string, endpointUrl: string): Promise<{ method: string; detail: string } | undefined> {
  const method = client.authMethod
  // The algorithms come from the registration, never from the token's header:
  // an HMAC over a public key cannot pass for private_key_jwt.
  let algorithms: readonly string[]
  let keys: VerificationKey | undefined
  if (method === 'private_key_jwt' && (keys = clientVerificationKeys(ctx, client)) !== undefined) {
    algorithms = ASYMMETRIC_ALGORITHMS
  } else if (method === 'client_secret_jwt' && client.hmacSecret !== undefined) {
    // RFC 7591 §3.2.1: past client_secret_expires_at the secret authenticates nothing, whatever the method.
    if (client.secretExpiresAt !== 0 && client.secretExpiresAt <= ctx.now()) return { method, detail: 'client secret expired' }
    // RFC 7518 §3.2: only the algorithms whose hash the secret is at least as long as.
    const secretBytes = client.hmacSecret.byteLength
    algorithms = HMAC_ALGORITHMS.filter((a) => secretBytes >= HMAC_MIN_KEY_BYTES[a])
    keys = client.hmacSecret
  }
  else return { method: 'client_assertion', detail: `client is registered for ${method}` }
  const pinned = client.metadata.token_endpoint_auth_signing_alg
  if (typeof pinned === 'string') algorithms = algorithms.filter((a) => a === pinned)

  try {
    await verifyJwtAssertion(assertion, {
      keys,
      algorithms,
      issuer: client.id,
      subject: client.id,
      // RFC 7523 §3, OIDC Core §9: aud is the issuer, the token endpoint, or the endpoint the assertion was sent to.
      audience: [...new Set([endpointUrl, ctx.endpoints.token, ctx.issuer])],
      now: ctx.now(),
      clockSkew: ctx.clockSkew,
      maxLifetime: ctx.maxAssertionLifetime,
      // One replay record per issuer and jti, shared with the JWT bearer grant (RFC 7523 §3 item 7).
      replay: ctx.storage.replay,
    })
  } catch (cause) {
    if (cause instanceof JwtAssertionError) return { method, detail: `client_assertion ${cause.detail}` }
    throw cause
  }
  return undefined
}
