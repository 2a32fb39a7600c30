import { jsonNoStore } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { DpopProofError, normalizeHtu, verifyDpopProof, type DpopProofPolicy } from './proof.js'

/** The error codes a protected resource answers a DPoP request with (RFC 6750 §3.1, RFC 9449 §7.1, §9). */
export type DpopResourceErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'invalid_dpop_proof' | 'use_dpop_nonce'

// RFC 9449 §7.1: the DPoP scheme carries the token as token68, like Bearer (RFC 6750 §2.1).
const DPOP_SCHEME = /^DPoP(?: |$)/i
const DPOP_CREDENTIAL = /^DPoP +([A-Za-z0-9\-._~+/]+=*) *$/i

/**
 * The access token of an `Authorization: DPoP <token>` header (RFC 9449 §7.1):
 * undefined when the header uses another scheme (or is absent), `malformed`
 * when it is the DPoP scheme without exactly one token68.
 *
 * @example
 * const dpop = readDpopAuthorization(req.headers.authorization)
 */
export function readDpopAuthorization(header: string | undefined): { token: string } | 'malformed' | undefined {
  if (header === undefined || !DPOP_SCHEME.test(header)) return undefined
  const m = DPOP_CREDENTIAL.exec(header)
  return m === null || m[1] === undefined ? 'malformed' : { token: m[1] }
}

const quoted = (v: string) => v.replace(/["\\]/g, '')

/**
 * The `DPoP` challenge of RFC 9449 §7.1: realm, the error when there is one,
 * and the accepted algorithms (`algs`).
 */
export function dpopChallenge(realm: string, algs: string, error?: DpopResourceErrorCode, description?: string, scope?: string, resourceMetadata?: string): string {
  let challenge = `DPoP realm="${realm}"`
  if (error !== undefined) challenge += `, error="${error}"`
  if (description !== undefined) challenge += `, error_description="${quoted(description)}"`
  if (scope !== undefined) challenge += `, scope="${scope}"`
  // RFC 9728 §5.1: the DPoP challenge points at the metadata as the Bearer one does (a URL checked at construction).
  if (resourceMetadata !== undefined) challenge += `, resource_metadata="${resourceMetadata}"`
  return `${challenge}, algs="${algs}"`
}

/**
 * A protected resource's answer to a DPoP request that fails (RFC 9449 §7.1):
 * a `WWW-Authenticate: DPoP` challenge, 401 (400 invalid_request, 403
 * insufficient_scope), a JSON body no cache keeps, and the `DPoP-Nonce` to use
 * for `use_dpop_nonce` (§9).
 *
 * @example
 * dpopError('https://api.example', 'ES256 PS256', 'invalid_dpop_proof', 'The DPoP proof is invalid.')
 */
export function dpopError(realm: string, algs: string, error: DpopResourceErrorCode, description: string, options: { scope?: string; nonce?: string; resourceMetadata?: string } = {}): GrantkitResponse {
  const status = error === 'invalid_request' ? 400 : error === 'insufficient_scope' ? 403 : 401
  const headers: Record<string, string> = { 'www-authenticate': dpopChallenge(realm, algs, error, description, options.scope, options.resourceMetadata) }
  if (options.nonce !== undefined) headers['dpop-nonce'] = options.nonce
  return jsonNoStore(status, { error, error_description: description }, headers)
}

/** What a resource checks a DPoP request against, set once. */
export interface DpopResourcePolicy {
  readonly proofs: DpopProofPolicy
  /** The accepted algorithms, space-separated, for `algs`. */
  readonly algs: string
}

/** What a failed binding check is answered with. */
export interface DpopResourceFailure {
  error: 'invalid_dpop_proof' | 'use_dpop_nonce'
  description: string
  /** For logs only. */
  detail: string
  nonce?: string
}

/**
 * The checks of RFC 9449 §7.1 once the access token is known good: a proof
 * for this request (htm, `htu` as the resource knows its own URL, `ath` of
 * this token) by the key the token is bound to (§4.3 step 12). Undefined when
 * they hold; the proof's `jti` is then used up.
 *
 * @param htu the request's URL as this resource publishes it (never built from the Host header alone)
 * @param now seconds since the epoch
 */
export async function checkDpopBinding(policy: DpopResourcePolicy, req: GrantkitRequest, htu: string, token: string, jkt: string, now: number): Promise<DpopResourceFailure | undefined> {
  const header = req.headers.dpop
  if (header === undefined) return { error: 'invalid_dpop_proof', description: 'A DPoP proof is required.', detail: 'DPoP scheme without a DPoP header' }
  const expected = normalizeHtu(htu)
  if (expected === null) return { error: 'invalid_dpop_proof', description: 'The DPoP proof is invalid.', detail: 'resource URL is not http(s)' }
  try {
    await verifyDpopProof(policy.proofs, { header, method: req.method, htu: expected, accessToken: token, jkt }, now)
    return undefined
  } catch (err) {
    if (!(err instanceof DpopProofError)) throw err
    if (err.code === 'use_dpop_nonce') return { error: 'use_dpop_nonce', description: 'Resource server requires nonce in DPoP proof.', detail: err.detail, ...(err.nonce !== undefined && { nonce: err.nonce }) }
    return { error: 'invalid_dpop_proof', description: 'The DPoP proof is invalid.', detail: err.detail }
  }
}
