import { OAuthError } from '../errors.js'
import { resolveAssertionGrant } from '../tokens/assertion-grant.js'
import { Scope } from '../tokens/scope.js'
import { verifyTrustedJwt } from './jwt-bearer.js'
import { verifyTrustedSaml } from './saml2-bearer.js'
import type { GrantContext, GrantHandler } from './types.js'

/** The `grant_type` of token exchange (RFC 8693 §2.1). */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'

/** Token type identifiers of RFC 8693 §3 that grantkit reads or issues. */
export const TOKEN_TYPES = Object.freeze({
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  saml2: 'urn:ietf:params:oauth:token-type:saml2',
} as const)

/** A party of an exchange (the subject, or the actor), as the policy sees it. */
export interface TokenExchangeParty {
  /** Who the token names (`sub`). */
  sub: string
  /** The token type it came as (RFC 8693 §3). */
  tokenType: string
  /** The issuer: this server for its own access tokens, the trusted issuer for a JWT, the identity provider's entity ID for a SAML assertion. */
  issuer: string
  /** The client an access token of this server was issued to; absent for a JWT or SAML assertion. */
  clientId?: string
  /** Its scope: the access token's, or for an assertion the scope its issuer may grant (empty when unlimited). */
  scope: string
  /**
   * Every claim of the token: the JWT payload, or the access token's claims. For a
   * SAML assertion: `iss` (the Issuer), `sub` (the NameID), `jti` (the assertion ID),
   * `iat`, and `name_id_format` when the NameID has one.
   */
  claims: Readonly<Record<string, unknown>>
}

/** What the `tokenExchange.policy` hook is asked about, after every built-in check passed. */
export interface TokenExchangeRequest {
  /** The authenticated client asking. */
  clientId: string
  subject: TokenExchangeParty
  actor?: TokenExchangeParty
  /** The resource servers the token will be for (`audience` and `resource`), empty for the server's default audience. */
  audience: readonly string[]
  /** The scope the issued token will carry. */
  scope: string
  /** `requested_token_type`, or the access token type when absent. */
  requestedTokenType: string
}

/**
 * Decides whether an exchange may happen (option `tokenExchange.policy`);
 * false refuses it with `invalid_request` (RFC 8693 §2.2.2: unacceptable
 * based on policy). A thrown error is a server error.
 *
 * @example
 * const policy: TokenExchangePolicy = (r) => r.clientId === 'gateway' && r.actor === undefined
 */
export type TokenExchangePolicy = (request: TokenExchangeRequest) => boolean | Promise<boolean>

/** RFC 8693 §2.2.2: an invalid subject or actor token, or one refused by policy, is invalid_request. */
const refused = (detail: string, description = 'The subject or actor token is invalid or not acceptable.'): OAuthError => new OAuthError('invalid_request', { description, detail })

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A validated subject or actor token: who it names, and what it brings along. */
interface ExchangedToken extends TokenExchangeParty {
  /** The scope ceiling: an access token's scope, or undefined for an assertion (the client's own scope applies). */
  ceiling?: Scope
  /** An assertion issuer's limits on subjects and scopes. */
  limits?: { subjects: ReadonlySet<string> | undefined; scopes: ReadonlySet<string> | undefined }
  /** The grant an access token descends from: the exchanged token dies with it. */
  grantId?: string
}

async function readToken(ctx: GrantContext, token: string, type: string, role: 'subject' | 'actor'): Promise<ExchangedToken> {
  if (type === TOKEN_TYPES.accessToken) {
    // Live, unexpired, not revoked, its grant not revoked, its client or consent not cut off: what introspection would say active.
    const active = await ctx.tokens.validate(token)
    if (active === null) throw refused(`${role} token is not a live access token of this server`)
    const out: ExchangedToken = {
      sub: active.sub,
      tokenType: type,
      issuer: ctx.config.issuer,
      clientId: active.clientId,
      scope: active.scope,
      claims: active.claims,
      ceiling: Scope.parse(active.scope),
    }
    if (active.grantId !== undefined) out.grantId = active.grantId
    return out
  }
  if (type === TOKEN_TYPES.jwt) {
    // Verified exactly as a JWT bearer assertion (RFC 7523 §3), replay included, but only from
    // the trust registry: a client's own key does not speak for someone else's subject here.
    let trusted
    try {
      trusted = await verifyTrustedJwt(ctx, token, { clientKeys: false })
    } catch (err) {
      if (err instanceof OAuthError) throw refused(`${role} ${err.detail ?? err.error}`)
      throw err
    }
    const { verified, limits } = trusted
    return {
      sub: verified.sub,
      tokenType: type,
      issuer: verified.iss,
      scope: limits.scopes === undefined ? '' : [...limits.scopes].join(' '),
      claims: verified.payload as Record<string, unknown>,
      limits,
    }
  }
  if (type === TOKEN_TYPES.saml2) {
    // RFC 8693 §3: a base64url SAML 2.0 assertion, verified exactly as the SAML bearer grant
    // verifies one (RFC 7522 §3), replay included, from an identity provider of the trust registry.
    let trusted
    try {
      trusted = await verifyTrustedSaml(ctx, token)
    } catch (err) {
      if (err instanceof OAuthError) throw refused(`${role} ${err.detail ?? err.error}`)
      throw err
    }
    const { assertion, idp } = trusted
    const claims: Record<string, unknown> = { iss: assertion.issuer, sub: assertion.nameId, jti: assertion.id, iat: assertion.issueInstant }
    if (assertion.nameIdFormat !== undefined) claims.name_id_format = assertion.nameIdFormat
    return {
      sub: assertion.nameId,
      tokenType: type,
      issuer: assertion.issuer,
      scope: idp.scopes === undefined ? '' : [...idp.scopes].join(' '),
      claims,
      limits: { subjects: idp.subjects, scopes: idp.scopes },
    }
  }
  // RFC 8693 §2.2.2: a token type we do not accept makes the request invalid.
  throw refused(`unsupported ${role}_token_type ${type.slice(0, 100)}`, `The ${role}_token_type is not supported.`)
}

/** The `act` claim of an actor (RFC 8693 §4.1): its subject, and its issuer when not this server. */
function actClaim(ctx: GrantContext, actor: ExchangedToken): Record<string, unknown> {
  const act: Record<string, unknown> = { sub: actor.sub }
  if (actor.issuer !== ctx.config.issuer) act.iss = actor.issuer
  if (actor.clientId !== undefined) act.client_id = actor.clientId
  return act
}

/** RFC 8693 §4.4: when the subject token says who may act for it, the actor must be that party. */
function checkMayAct(subject: ExchangedToken, actor: ExchangedToken): void {
  const mayAct = subject.claims.may_act
  if (mayAct === undefined) return
  if (!isRecord(mayAct)) throw refused('subject token may_act is malformed')
  if (mayAct.sub !== undefined && mayAct.sub !== actor.sub) throw refused('actor is not the party may_act names')
  if (mayAct.iss !== undefined && mayAct.iss !== actor.issuer) throw refused('actor issuer is not the one may_act names')
}

/**
 * OAuth 2.0 Token Exchange (RFC 8693): a confidential client trades a subject
 * token (this server's live access token, or a JWT or SAML 2.0 assertion from
 * the trust registry) for an access token for the same subject, narrower in
 * scope, for the resource
 * servers it names (`audience`, `resource`, mapped through `resourceServers`),
 * optionally acting for an actor (`act` claim, nested per §4.1). No refresh
 * token is issued. Clients must be registered for the grant type.
 *
 * Scope: the asked scope must lie within the subject access token's scope and
 * the client's registered scope; absent, the subject's scope as far as the
 * client may have it. For an assertion subject, the client's scope and the
 * issuer's limits apply, as in the JWT and SAML bearer grants.
 *
 * @example
 * createAuthorizationServer({ grants: defaultGrants, resourceServers: [{ resource: 'https://api.example', scopes: ['api:read'] }], … })
 */
export const tokenExchange: GrantHandler = {
  grantType: TOKEN_EXCHANGE_GRANT,
  parameters: ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience', 'resource'],
  // RFC 8693 §2.1: resource and audience may each be given more than once.
  repeatable: ['audience', 'resource'],
  // SECURITY: exchanging someone's token is the act of a service with credentials, not of a public client.
  clientAuth: 'required',
  async handle(ctx) {
    const { params, client } = ctx
    const subjectToken = params.get('subject_token')
    const subjectType = params.get('subject_token_type')
    // RFC 8693 §2.1: subject_token and subject_token_type are REQUIRED.
    if (subjectToken === undefined || subjectType === undefined) throw new OAuthError('invalid_request', { description: 'subject_token and subject_token_type are required.' })
    const actorToken = params.get('actor_token')
    const actorType = params.get('actor_token_type')
    // RFC 8693 §2.1: actor_token_type is REQUIRED with actor_token and MUST NOT be sent without it.
    if ((actorToken === undefined) !== (actorType === undefined)) throw new OAuthError('invalid_request', { description: 'actor_token and actor_token_type go together.' })
    const requestedType = params.get('requested_token_type') ?? TOKEN_TYPES.accessToken
    // We issue access tokens only, as a JWT when asked (RFC 8693 §2.2.2: anything else makes the request invalid).
    if (requestedType !== TOKEN_TYPES.accessToken && requestedType !== TOKEN_TYPES.jwt) {
      throw new OAuthError('invalid_request', { description: 'requested_token_type must be the access_token or jwt token type.', detail: `requested_token_type ${requestedType.slice(0, 100)}` })
    }
    // RFC 8693 §2.1: audience and resource name where the token will be used; both map to registered resource servers.
    const targets = [...ctx.resources.requested('audience'), ...ctx.resources.requested('resource')].filter((r, i, all) => all.indexOf(r) === i)

    const subject = await readToken(ctx, subjectToken, subjectType, 'subject')
    const actor = actorToken === undefined ? undefined : await readToken(ctx, actorToken, actorType!, 'actor')
    if (actor !== undefined) checkMayAct(subject, actor)

    const requestedScope = params.get('scope')
    let scope: Scope
    if (subject.ceiling !== undefined) {
      const ceiling = subject.ceiling
      if (requestedScope === undefined) {
        // The subject's scope, as far as this client may hold it.
        scope = ceiling.filter((s) => client.scopes.has(s))
      } else {
        scope = ctx.scopes.resolve(requestedScope)
        // RFC 8693 §2.1 and RFC 6749 §3.3: never more than the subject token carries.
        if (!scope.isSubsetOf(ceiling)) throw new OAuthError('invalid_scope', { description: 'The scope exceeds the subject token\'s scope.' })
      }
    } else {
      // An assertion subject: its issuer's limits and the client's scope, as in the assertion grants.
      try {
        scope = (await resolveAssertionGrant(ctx, subject.sub, requestedScope, subject.limits!)).scope
      } catch (err) {
        if (err instanceof OAuthError && err.error === 'invalid_grant') throw refused(`subject ${err.detail ?? ''}`)
        throw err
      }
    }

    const target = ctx.resources.target(targets, scope)
    if (requestedType === TOKEN_TYPES.jwt && target.accessTokenFormat === 'opaque') {
      // RFC 8693 §2.2.2: unable to issue such a token for the target service.
      throw new OAuthError('invalid_target', { description: 'The requested resource takes opaque access tokens, not JWTs.' })
    }

    // RFC 8693 §4.1: the current actor on top, the actors before it nested inside.
    // Without an actor token, a delegated subject token stays delegated: its act goes along.
    const priorAct = isRecord(subject.claims.act) ? subject.claims.act : undefined
    const act = actor === undefined ? priorAct : { ...actClaim(ctx, actor), ...(priorAct !== undefined && { act: priorAct }) }

    const policy = ctx.config.tokenExchange.policy
    if (policy !== undefined) {
      const request: TokenExchangeRequest = {
        clientId: client.id,
        subject: party(subject),
        audience: target.audience ?? [],
        scope: String(target.scope),
        requestedTokenType: requestedType,
      }
      if (actor !== undefined) request.actor = party(actor)
      if ((await policy(request)) !== true) throw refused('refused by the tokenExchange policy')
    }

    const body = await ctx.tokens.issue({
      sub: subject.sub,
      ...target,
      // The exchanged token dies with the grant of the token it came from.
      ...(subject.grantId !== undefined && { grantId: subject.grantId }),
      ...(act !== undefined && { claims: { act } }),
      ...(requestedType === TOKEN_TYPES.jwt && { accessTokenFormat: 'jwt' as const }),
    })
    // RFC 8693 §2.2.1: issued_token_type is REQUIRED; no refresh token (the client can exchange again).
    return { ...body, issued_token_type: requestedType }
  },
}

function party(t: ExchangedToken): TokenExchangeParty {
  const out: TokenExchangeParty = { sub: t.sub, tokenType: t.tokenType, issuer: t.issuer, scope: t.scope, claims: t.claims }
  if (t.clientId !== undefined) out.clientId = t.clientId
  return out
}
