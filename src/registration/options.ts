import { createHash } from 'node:crypto'
import type { ClientRegistration } from '../clients/manager.js'
import type { JSONWebKeySet, LocalKeySet } from '../crypto/jose.js'
import type { GrantkitRequest } from '../http/types.js'
import { createTrustRegistry } from '../trust/registry.js'

/** An issuer whose software statements (RFC 7591 §2.3) the registration endpoint accepts. */
export interface SoftwareStatementIssuer {
  /** The `iss` of its statements. */
  issuer: string
  /** Its public keys. */
  jwks: JSONWebKeySet
}

/** Software statements (RFC 7591 §2.3): who may sign them, and whether one is needed. */
export interface SoftwareStatementOptions {
  issuers: SoftwareStatementIssuer[]
  /** When true, a registration without a statement of a listed issuer is refused (`unapproved_software_statement`). Default false. */
  required?: boolean
}

/** What a registration policy is told besides the metadata. */
export interface RegistrationPolicyContext {
  /** `register` for RFC 7591 §3.1, `update` for RFC 7592 §2.2. */
  readonly action: 'register' | 'update'
  /** The client's id at `update`; absent at `register`. */
  readonly clientId?: string
  /** The verified claims of the software statement, when one was presented. */
  readonly softwareStatement?: Readonly<Record<string, unknown>>
  /** True when the request presented a valid initial access token. */
  readonly initialAccessToken: boolean
  /** The request, for its address or headers (never log its Authorization header). */
  readonly request: GrantkitRequest
}

/**
 * Decides what a registration may be: returns the metadata to register
 * (defaults filled in, fields removed) or throws a `RegistrationPolicyError`
 * with an RFC 7591 §3.2.2 code. Runs after the software statement has been
 * applied and before the server's own rules (grant types it supports, redirect
 * URI rules), which still hold whatever the policy returns.
 *
 * @example
 * const policy: RegistrationPolicy = (metadata) => {
 *   if (metadata.grant_types?.includes('password')) throw new RegistrationPolicyError('invalid_client_metadata', 'grant_types: password is not offered')
 *   return { scope: 'openid', ...metadata }
 * }
 */
export type RegistrationPolicy = (metadata: ClientRegistration, ctx: RegistrationPolicyContext) => ClientRegistration | Promise<ClientRegistration>

/** Option `registration` as given. */
export interface RegistrationOptions {
  /** Opens the registration endpoint (RFC 7591) and its management (RFC 7592). Default false. */
  enabled?: boolean
  /** SECURITY: bearer token(s) a registration must present (RFC 7591 §3); absent: open registration. */
  initialAccessToken?: string | readonly string[]
  policy?: RegistrationPolicy
  softwareStatement?: SoftwareStatementOptions
  /** Seconds a registration access token lives; absent: until the next update rotates it. */
  accessTokenTtl?: number
}

/** A trusted software statement issuer with its keys imported once. */
export interface TrustedStatementIssuer {
  readonly issuer: string
  readonly keys: LocalKeySet
}

/** `softwareStatement` after checking. */
export interface ResolvedSoftwareStatement {
  readonly issuers: ReadonlyMap<string, TrustedStatementIssuer>
  readonly required: boolean
}

/** The SHA-256 of a bearer token, compared in constant time with a presented one's (RFC 6750 tokens of ours are never kept in plain). */
export function hashBearer(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

/**
 * Checks `registration.initialAccessToken` and keeps only the hashes.
 *
 * @throws TypeError naming the field
 * @example
 * checkInitialAccessTokens('let-me-register-0123456789', 'registration.initialAccessToken') // [Buffer]
 */
export function checkInitialAccessTokens(value: unknown, path: string): readonly Buffer[] {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0) throw new TypeError(`${path}: must be a string or a non-empty array of strings`)
  return list.map((token, i) => {
    const at = typeof value === 'string' ? path : `${path}[${i}]`
    // RFC 6750 §2.1 b64token: what an Authorization header can carry.
    if (typeof token !== 'string' || !/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) throw new TypeError(`${at}: must be a non-empty token of letters, digits and -._~+/ (RFC 6750 §2.1)`)
    return hashBearer(token)
  })
}

/**
 * Checks `registration.softwareStatement`, importing the issuers' keys now so
 * that a broken key fails at start.
 *
 * @throws TypeError naming the field
 */
export function checkSoftwareStatementOptions(value: unknown, path: string): ResolvedSoftwareStatement {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(`${path}: must be an object { issuers, required? }`)
  const { issuers, required, ...rest } = value as Record<string, unknown>
  const unknown = Object.keys(rest)[0]
  if (unknown !== undefined) throw new TypeError(`${path}.${unknown}: unknown field (known: issuers, required)`)
  if (required !== undefined && typeof required !== 'boolean') throw new TypeError(`${path}.required: must be a boolean`)
  if (!Array.isArray(issuers) || issuers.length === 0) throw new TypeError(`${path}.issuers: must be a non-empty array of { issuer, jwks }`)
  issuers.forEach((entry: unknown, i) => {
    const fields = typeof entry === 'object' && entry !== null ? Object.keys(entry) : []
    const extra = fields.find((f) => f !== 'issuer' && f !== 'jwks')
    if (extra !== undefined) throw new TypeError(`${path}.issuers[${i}].${extra}: unknown field (known: issuer, jwks)`)
  })
  let trusted
  try {
    // The same checks as trusted assertion issuers: public asymmetric keys only.
    trusted = createTrustRegistry({ jwtIssuers: issuers as SoftwareStatementIssuer[] }, path)
  } catch (error) {
    if (!(error instanceof TypeError)) throw error
    throw new TypeError(error.message.replace(`${path}.jwtIssuers[`, `${path}.issuers[`), { cause: error.cause })
  }
  const out = new Map<string, TrustedStatementIssuer>()
  for (const [issuer, t] of trusted.jwtIssuers) out.set(issuer, { issuer, keys: t.keys })
  return { issuers: out, required: required === true }
}
