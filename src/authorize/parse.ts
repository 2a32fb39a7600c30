import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { OAuthError } from '../errors.js'
import type { GrantkitRequest } from '../http/types.js'
import type { AuthorizationRequest } from '../storage/types.js'
import { resolveScope } from '../tokens/scope.js'
import { matchesRedirectUri } from './redirect-uri.js'
import type { RedirectTarget } from './target.js'
import { RedirectError } from '../endpoints/failure.js'
import { Scope } from '../tokens/scope.js'
import { parseUiLocales } from '../pages/i18n/negotiate.js'
import { readAuthorizationResources } from './resource.js'

/** Response types grantkit answers (RFC 6749 §3.1.1, OAuth 2.0 Multiple Response Types §3). */
export const RESPONSE_TYPES = ['code', 'token', 'id_token', 'id_token token'] as const

// select_account is not offered: grantkit has one account per session (OIDC Core §3.1.2.1 would need account_selection_required).
const PROMPTS = new Set(['none', 'login', 'consent'])
// RFC 7636 §4.1, §4.2: a challenge is 43 to 128 unreserved characters; this is its cap too.
const PKCE_VALUE = /^[A-Za-z0-9._~-]{43,128}$/

/**
 * Caps on what an authorization request may carry. The request is not
 * authenticated, and what it carries is kept in an interaction record while a
 * person signs in (and `state`, `nonce` in the code after): without caps,
 * anyone could make the server store as much as they send. Longer values are
 * answered with `invalid_request` (RFC 6749 §4.1.2.1), never cut short: a
 * truncated `state` or `nonce` would fail the client's own check later, with
 * no hint why. Lengths are in UTF-16 code units, as JavaScript counts them.
 */
export const AUTHORIZATION_LIMITS = Object.freeze({
  /** Any one parameter, including those grantkit does not read. */
  parameter: 4096,
  /** `state` (RFC 6749 §4.1.1): opaque to us, echoed back; room for a signed or encrypted value. */
  state: 1024,
  /** `nonce` (OIDC Core §3.1.2.1): copied into the ID token. */
  nonce: 512,
  /** `login_hint` (OIDC Core §3.1.2.1): an e-mail address or phone number; 256 is past the longest an address may be (RFC 5321 §4.5.3.1). */
  loginHint: 256,
  /** `scope` (RFC 6749 §3.3), as sent. */
  scope: 2048,
  /** Space-separated tokens in `scope`. */
  scopeTokens: 64,
  /** `max_age` (OIDC Core §3.1.2.1), seconds: 2^31 - 1, past which clients' integers overflow. */
  maxAge: 2_147_483_647,
  /** The whole request as kept in an interaction record (UTF-8 bytes of its JSON). */
  storedRequestBytes: 8192,
})
const MAX_PARAM_LENGTH = AUTHORIZATION_LIMITS.parameter

/** Reads the parameters of a GET query or POST form, noting names that repeat. */
function readParams(req: GrantkitRequest, form: Iterable<[string, string]> | undefined): { params: Map<string, string>; repeated: Set<string>; resources: string[] } {
  const params = new Map<string, string>()
  const seen = new Set<string>()
  const repeated = new Set<string>()
  const resources: string[] = []
  const source: Iterable<[string, string]> = form ?? req.url.searchParams
  for (const [k, v] of source) {
    // RFC 8707 §2: resource is the one parameter that may repeat.
    if (k === 'resource') {
      if (v !== '') resources.push(v)
      continue
    }
    if (seen.has(k)) repeated.add(k)
    seen.add(k)
    // RFC 6749 §3.1: parameters sent without a value are treated as omitted.
    if (v !== '' && !repeated.has(k)) params.set(k, v)
  }
  return { params, repeated, resources }
}

function normalizeResponseType(raw: string): string {
  // Multiple Response Types §5: the order of space-separated values does not matter.
  return raw.split(' ').filter(Boolean).sort().join(' ')
}

export interface ParsedAuthorization {
  client: Client
  request: AuthorizationRequest
  target: RedirectTarget
}

/**
 * Validates an authorization request in the order that decides how an error is
 * answered: first client_id and redirect_uri (errors shown as a page), then
 * everything else (errors sent to the now-trusted redirect_uri).
 *
 * @param form the POST body, when the request came as a form (OIDC Core §3.1.2.1)
 */
export async function parseAuthorizationRequest(
  ctx: ServerContext,
  req: GrantkitRequest,
  form?: Iterable<[string, string]>,
): Promise<ParsedAuthorization> {
  const { params, repeated, resources } = readParams(req, form)
  // Until client and redirect_uri are trusted, an error is a page, never a
  // redirect (RFC 6749 §4.1.2.1, RFC 9700 §4.11: no open redirector).
  const page = (description: string): never => {
    throw new OAuthError('invalid_request', { description })
  }

  if (repeated.has('client_id')) page('The client_id parameter is repeated.')
  const clientId = params.get('client_id')
  if (clientId === undefined) page('The request has no client_id.')
  const found = ctx.clients.find(clientId!)
  const client = found instanceof Promise ? await found : found
  if (client === undefined) page('The client is not registered with this server.')

  // RFC 6749 §3.1.2.3 and RFC 9700 §4.1.3: exact string comparison, nothing looser.
  if (repeated.has('redirect_uri')) page('The redirect_uri parameter is repeated.')
  const sentUri = params.get('redirect_uri')
  let redirectUri: string
  if (sentUri !== undefined) {
    if (!matchesRedirectUri(client!.redirectUris, sentUri)) page('The redirect_uri is not registered for this client.')
    redirectUri = sentUri
  } else {
    // RFC 6749 §3.1.2.3: may be omitted only when exactly one is registered.
    if (client!.redirectUris.length !== 1) page('The request has no redirect_uri and the client has more than one registered.')
    redirectUri = client!.redirectUris[0]!
  }

  const rawType = params.get('response_type')
  const responseType = rawType === undefined ? undefined : normalizeResponseType(rawType)
  const implicit = responseType !== undefined && responseType !== 'code' && (RESPONSE_TYPES as readonly string[]).includes(responseType)
  const state = params.get('state')
  const target: RedirectTarget = { redirectUri, responseMode: implicit ? 'fragment' : 'query' }
  // A state over its cap is not echoed in the error redirect: that would
  // reflect whatever an attacker sent, at any size, through our server.
  if (state !== undefined && !repeated.has('state') && state.length <= AUTHORIZATION_LIMITS.state) target.state = state

  const tooLong = (name: string, max: number): void => {
    const v = params.get(name)
    if (v !== undefined && v.length > max) throw new OAuthError('invalid_request', { description: `${name} is longer than ${max} characters.` })
  }

  try {
    if (repeated.size > 0) {
      throw new OAuthError('invalid_request', { description: `The parameter "${[...repeated][0]!.slice(0, 64)}" is repeated.` })
    }
    for (const [k, v] of params) {
      if (v.length > MAX_PARAM_LENGTH) throw new OAuthError('invalid_request', { description: `The parameter "${k.slice(0, 64)}" is too long.` })
    }
    tooLong('state', AUTHORIZATION_LIMITS.state)
    tooLong('nonce', AUTHORIZATION_LIMITS.nonce)
    tooLong('login_hint', AUTHORIZATION_LIMITS.loginHint)
    tooLong('scope', AUTHORIZATION_LIMITS.scope)
    const rawScope = params.get('scope')
    if (rawScope !== undefined && rawScope.split(' ').filter(Boolean).length > AUTHORIZATION_LIMITS.scopeTokens) {
      throw new OAuthError('invalid_request', { description: `scope has more than ${AUTHORIZATION_LIMITS.scopeTokens} values.` })
    }
    // Pushed (RFC 9126) and signed (RFC 9101) requests were resolved before
    // this (authorize/request-source.ts); what is left is not supported here.
    if (params.has('request')) throw new OAuthError('request_not_supported')
    if (params.has('request_uri')) throw new OAuthError('request_uri_not_supported')
    if (params.has('registration')) throw new OAuthError('registration_not_supported')

    if (responseType === undefined) throw new OAuthError('invalid_request', { description: 'response_type is required.' })
    if (!(RESPONSE_TYPES as readonly string[]).includes(responseType)) throw new OAuthError('unsupported_response_type')
    if (![...client!.responseTypes].some((t) => normalizeResponseType(t) === responseType)) {
      throw new OAuthError('unauthorized_client', { description: `The client is not registered for response_type "${responseType}".` })
    }

    const mode = params.get('response_mode')
    if (mode !== undefined) {
      if (mode !== 'query' && mode !== 'fragment') throw new OAuthError('invalid_request', { description: 'response_mode must be query or fragment.' })
      // Multiple Response Types §3.0: tokens must never travel in the query.
      if (mode === 'query' && implicit) throw new OAuthError('invalid_request', { description: 'response_mode=query is not allowed for this response_type.' })
      target.responseMode = mode
    }

    const scope = resolveScope(ctx.scopes, client!, params.get('scope'))
    const openid = Scope.parse(scope).has('openid')
    if (responseType.includes('id_token') && !openid) {
      throw new OAuthError('invalid_scope', { description: 'An id_token response needs the openid scope.' })
    }
    // OIDC Core §3.1.2.1: redirect_uri is REQUIRED for OpenID requests.
    if (openid && sentUri === undefined) throw new OAuthError('invalid_request', { description: 'redirect_uri is required with the openid scope.' })

    const nonce = params.get('nonce')
    // OIDC Core §3.2.2.1: nonce is REQUIRED when an id_token comes from the authorization endpoint.
    if (responseType.includes('id_token') && nonce === undefined) throw new OAuthError('invalid_request', { description: 'nonce is required for this response_type.' })

    const request: AuthorizationRequest = {
      clientId: client!.id,
      redirectUri,
      redirectUriSent: sentUri !== undefined,
      responseType,
      responseMode: target.responseMode,
      scope,
      prompt: [],
    }
    if (target.state !== undefined) request.state = target.state
    if (nonce !== undefined) request.nonce = nonce

    if (responseType === 'code') {
      const challenge = params.get('code_challenge')
      const method = params.get('code_challenge_method')
      if (challenge === undefined) {
        if (method !== undefined) throw new OAuthError('invalid_request', { description: 'code_challenge_method without code_challenge.' })
        // RFC 7636 §4.4.1 and RFC 9700 §2.1.1: PKCE is required of public clients, and of all when configured.
        if (client!.isPublic || ctx.pkce.required === 'all') {
          throw new OAuthError('invalid_request', { description: 'code_challenge is required (PKCE, RFC 7636).' })
        }
      } else {
        // RFC 7636 §4.3: the method defaults to plain, which is refused unless enabled.
        const m = method ?? 'plain'
        if (m !== 'S256' && !(m === 'plain' && ctx.pkce.allowPlain)) {
          throw new OAuthError('invalid_request', { description: 'code_challenge_method must be S256.' })
        }
        if (!PKCE_VALUE.test(challenge) || (m === 'S256' && challenge.length !== 43)) {
          throw new OAuthError('invalid_request', { description: 'code_challenge is malformed.' })
        }
        request.codeChallenge = challenge
        request.codeChallengeMethod = m as 'S256' | 'plain'
      }
      // RFC 9449 §10: dpop_jkt binds the code to a DPoP key: an RFC 7638 SHA-256 thumbprint, 43 base64url characters.
      const jkt = ctx.dpop === undefined ? undefined : params.get('dpop_jkt')
      if (jkt !== undefined && !/^[A-Za-z0-9_-]{43}$/.test(jkt)) throw new OAuthError('invalid_request', { description: 'dpop_jkt is malformed.' })
      if (jkt !== undefined) request.dpopJkt = jkt
    }

    const prompt = params.get('prompt')
    if (prompt !== undefined) {
      const values = prompt.split(' ').filter(Boolean)
      if (values.some((v) => !PROMPTS.has(v))) throw new OAuthError('invalid_request', { description: 'prompt has an unknown value.' })
      // OIDC Core §3.1.2.1: none must not be combined with other values.
      if (values.includes('none') && values.length > 1) throw new OAuthError('invalid_request', { description: 'prompt=none cannot be combined.' })
      request.prompt = values
    }
    const maxAge = params.get('max_age')
    if (maxAge !== undefined) {
      if (!/^\d{1,10}$/.test(maxAge)) throw new OAuthError('invalid_request', { description: 'max_age must be a whole number of seconds.' })
      if (Number(maxAge) > AUTHORIZATION_LIMITS.maxAge) throw new OAuthError('invalid_request', { description: `max_age must be at most ${AUTHORIZATION_LIMITS.maxAge}.` })
      request.maxAge = Number(maxAge)
    }
    const loginHint = params.get('login_hint')
    if (loginHint !== undefined) request.loginHint = loginHint
    // OIDC Core §3.1.2.1: ui_locales is a preference; unsupported or malformed tags are not an error.
    const uiLocales = parseUiLocales(params.get('ui_locales'))
    if (uiLocales.length > 0) request.uiLocales = uiLocales
    const resource = readAuthorizationResources(ctx, resources, responseType, scope)
    if (resource.length > 0) request.resource = resource
    // Each value is capped above; this bounds their sum (and the multi-byte
    // characters among them), as the interaction record will hold it.
    if (Buffer.byteLength(JSON.stringify(request)) > AUTHORIZATION_LIMITS.storedRequestBytes) {
      throw new OAuthError('invalid_request', { description: 'The request is too large.' })
    }

    return { client: client!, request, target }
  } catch (err) {
    if (err instanceof OAuthError) throw new RedirectError(target, err, client!.id)
    throw err
  }
}
