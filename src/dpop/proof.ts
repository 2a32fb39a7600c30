import { decodeJwt, verifyJwsWithJwk } from '../crypto/jose.js'
import type { ReplayStore } from '../storage/types.js'
import type { DpopNonces } from './nonce.js'
import { accessTokenHash, isPublicJwk, jwkThumbprint } from './thumbprint.js'

/** The error codes of a proof that is refused (RFC 9449 §5, §7.1, §8). */
export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce'

/**
 * A DPoP proof that was refused. `code` is what the client is told; `detail`
 * is for logs only. For `use_dpop_nonce`, `nonce` is the value to send back
 * in the `DPoP-Nonce` header.
 */
export class DpopProofError extends Error {
  constructor(
    readonly code: DpopErrorCode,
    readonly detail: string,
    readonly nonce?: string,
  ) {
    super(detail)
    this.name = 'DpopProofError'
  }
}

/** How proofs are checked: set once (server options or protector options), shared by every request. Seconds. */
export interface DpopProofPolicy {
  /** Accepted `alg` values: asymmetric only (the caller's list is checked at construction). */
  readonly algorithms: ReadonlySet<string>
  /** Seconds a proof is accepted after its `iat`. */
  readonly maxAge: number
  /** Seconds a proof's `iat` may be ahead of our clock. */
  readonly clockSkew: number
  /** Server-provided nonces; when present, every proof must carry a fresh one (RFC 9449 §8). */
  readonly nonces?: DpopNonces | undefined
  /** Where `jti`s are remembered so a proof is used once; absent: not checked (documented trade-off of the caller). */
  readonly replay?: ReplayStore | undefined
}

/** One request's proof and what it must match. */
export interface DpopProofInput {
  /** The `DPoP` header as the adapter gave it (repeated headers joined by commas). */
  header: string
  /** The request's method (`htm`). */
  method: string
  /** The request's URL as this server knows itself (not from a Host header), already through {@link normalizeHtu}. */
  htu: string
  /** The access token presented with the proof, at a protected resource: the proof must carry its hash (`ath`). */
  accessToken?: string
  /** The thumbprint of the key that access token is bound to: the proof must be by that key (§4.3 step 12). */
  jkt?: string
}

/** A proof that passed every check. */
export interface VerifiedDpopProof {
  /** RFC 7638 thumbprint of the proof's key: what tokens are bound to (`cnf.jkt`). */
  jkt: string
  /** Seconds since the epoch. */
  iat: number
  /** A fresher nonce to hand the client (`DPoP-Nonce`), when nonces are on and its one is from the previous window. */
  nextNonce?: string
}

const JTI_MAX = 256
const MAX_PROOF_LENGTH = 8192

/**
 * The URL a proof's `htu` is compared as (RFC 9449 §4.3 step 9): no query,
 * no fragment, no userinfo, and the syntax- and scheme-based normalisation of
 * RFC 3986 §6.2.2 and §6.2.3 (case of scheme and host, default port, dot
 * segments, case of percent-encodings). Null when it is no http(s) URL.
 *
 * @example
 * normalizeHtu('HTTPS://AS.example:443/token?x=1') // 'https://as.example/token'
 */
export function normalizeHtu(value: string): string | null {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return null
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null
  return url.origin + url.pathname.replace(/%[0-9a-f]{2}/gi, (s) => s.toUpperCase())
}

/**
 * Checks a DPoP proof per RFC 9449 §4.3 and, when it holds, marks its `jti`
 * used. The checks run in the RFC's order; the one-time mark is the last step,
 * so a refused proof burns nothing. Throws a {@link DpopProofError}; never
 * anything else for hostile input (a storage failure propagates as itself).
 *
 * @param now seconds since the epoch
 * @example
 * const { jkt } = await verifyDpopProof(policy, { header, method: 'POST', htu: tokenUrl }, now)
 */
export async function verifyDpopProof(policy: DpopProofPolicy, input: DpopProofInput, now: number): Promise<VerifiedDpopProof> {
  const { header } = input
  // §4.3 step 1: exactly one DPoP header. A repeat reaches us joined with commas, which no compact JWS contains.
  if (header.includes(',')) throw new DpopProofError('invalid_dpop_proof', 'more than one DPoP header')
  // §4.3 step 2: a well-formed JWT (compact JWS, three parts).
  const decoded = header.length <= MAX_PROOF_LENGTH ? decodeJwt(header.trim()) : null
  if (decoded === null) throw new DpopProofError('invalid_dpop_proof', 'not a compact JWS')
  const { header: h, payload: p } = decoded
  // §4.3 step 4: typ dpop+jwt (explicit typing, RFC 8725 §3.11).
  if (h.typ !== 'dpop+jwt') throw new DpopProofError('invalid_dpop_proof', `typ ${String(h.typ)}`)
  // §4.3 step 5: an asymmetric algorithm we support; never none, never HMAC (the list holds neither).
  if (typeof h.alg !== 'string' || !policy.algorithms.has(h.alg)) throw new DpopProofError('invalid_dpop_proof', `alg ${String(h.alg)} not accepted`)
  // §4.3 step 7: the jwk header is a public key: no private members.
  if (!isPublicJwk(h.jwk)) throw new DpopProofError('invalid_dpop_proof', 'jwk missing, malformed or private')
  // §4.3 step 6: the signature verifies with that key, of the type the alg needs.
  if (!verifyJwsWithJwk(decoded, h.alg, h.jwk)) throw new DpopProofError('invalid_dpop_proof', 'signature does not verify with the jwk header')
  // §4.3 step 3 / §4.2: the required claims.
  if (typeof p.jti !== 'string' || p.jti === '' || p.jti.length > JTI_MAX) throw new DpopProofError('invalid_dpop_proof', 'jti missing or malformed')
  if (typeof p.iat !== 'number' || !Number.isFinite(p.iat)) throw new DpopProofError('invalid_dpop_proof', 'iat missing')
  if (typeof p.htm !== 'string' || typeof p.htu !== 'string') throw new DpopProofError('invalid_dpop_proof', 'htm or htu missing')
  // §4.3 step 8: htm is the request's method.
  if (p.htm !== input.method) throw new DpopProofError('invalid_dpop_proof', `htm ${p.htm.slice(0, 20)} for a ${input.method} request`)
  // §4.3 step 9: htu is this request's URI, query and fragment ignored, both normalised.
  if (normalizeHtu(p.htu) !== input.htu) throw new DpopProofError('invalid_dpop_proof', 'htu does not match the request URI')
  // §4.3 step 12 / §7: at a resource, ath is the hash of the access token presented with it.
  if (input.accessToken !== undefined && p.ath !== accessTokenHash(input.accessToken)) throw new DpopProofError('invalid_dpop_proof', 'ath missing or not the hash of the access token')
  // §4.3 step 11: created recently (§11.1: limits the time a stolen proof is of use).
  if (now - p.iat > policy.maxAge) throw new DpopProofError('invalid_dpop_proof', 'iat too old')
  if (p.iat - now > policy.clockSkew) throw new DpopProofError('invalid_dpop_proof', 'iat in the future')
  const jkt = jwkThumbprint(h.jwk)
  // §4.3 step 12: at a resource, the proof's key is the one the access token is bound to.
  if (input.jkt !== undefined && input.jkt !== jkt) throw new DpopProofError('invalid_dpop_proof', 'proof key is not the key the token is bound to')
  let nextNonce: string | undefined
  if (policy.nonces !== undefined) {
    // §4.3 step 10 / §8: the nonce we handed out; missing or stale, the client is told the current one.
    const current = policy.nonces.current(now)
    if (!policy.nonces.accepts(p.nonce, now)) throw new DpopProofError('use_dpop_nonce', p.nonce === undefined ? 'nonce missing' : 'nonce unknown or expired', current)
    if (p.nonce !== current) nextNonce = current
  }
  // §11.1: a proof is used once. Keyed by key and jti, kept as long as its iat is accepted.
  if (policy.replay !== undefined && !(await policy.replay.markUsed(`dpop:${jkt}:${p.jti}`, Math.ceil(p.iat + policy.maxAge + 1)))) {
    throw new DpopProofError('invalid_dpop_proof', 'jti replayed')
  }
  return nextNonce === undefined ? { jkt, iat: p.iat } : { jkt, iat: p.iat, nextNonce }
}
