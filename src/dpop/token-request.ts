import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { OAuthError } from '../errors.js'
import type { GrantkitRequest } from '../http/types.js'
import type { ReplayStore } from '../storage/types.js'
import { DpopNonces } from './nonce.js'
import type { DpopResourcePolicy } from './resource.js'
import { DpopProofError, normalizeHtu, verifyDpopProof, type DpopProofPolicy, type VerifiedDpopProof } from './proof.js'

/** The server's DPoP settings, resolved once from the `dpop` option. */
export interface DpopServerPolicy {
  /** How proofs are checked, at the token endpoint and at userinfo. */
  readonly proofs: DpopProofPolicy
  /** Every token request needs a proof (option `dpop.required`). */
  readonly required: boolean
  /** The accepted algorithms, in the order discovery lists them. */
  readonly algorithms: readonly string[]
  /** The same checks for this server's own protected resource (userinfo), with `algs` for its challenges. */
  readonly resource: DpopResourcePolicy
}

/** The resolved `dpop` option. Seconds. */
export interface DpopOptions {
  readonly required: boolean
  readonly requireNonce: boolean
  readonly nonceLifetime: number
  readonly proofMaxAge: number
  readonly proofClockSkew: number
  readonly algorithms: readonly string[]
}

/**
 * The server's proof policy, built once: the nonce keys are derived here, not per request.
 *
 * @param secrets the `cookieSecrets`, from which the nonce key is derived
 */
export function createDpopPolicy(options: DpopOptions, secrets: readonly string[], replay: ReplayStore): DpopServerPolicy {
  const proofs: DpopProofPolicy = {
    algorithms: new Set(options.algorithms),
    maxAge: options.proofMaxAge,
    clockSkew: options.proofClockSkew,
    nonces: options.requireNonce ? new DpopNonces(secrets, options.nonceLifetime) : undefined,
    replay,
  }
  return { proofs, required: options.required, algorithms: options.algorithms, resource: { proofs, algs: options.algorithms.join(' ') } }
}

/** A proof refused by the authorization server, as the RFC 6749 §5.2 error RFC 9449 §5 and §8 name. */
export function dpopOAuthError(err: DpopProofError): OAuthError {
  if (err.code === 'use_dpop_nonce') return new OAuthError('use_dpop_nonce', { detail: err.detail, headers: { 'dpop-nonce': err.nonce ?? '' } })
  return new OAuthError('invalid_dpop_proof', { detail: err.detail })
}

/**
 * Checks the DPoP proof of a request to one of our endpoints (`url` is the
 * endpoint's URL as derived from the issuer, never from the Host header,
 * RFC 9449 §4.3 step 9). Throws the OAuthError to answer with.
 *
 * @example
 * const proof = await checkEndpointProof(ctx.dpop, req, ctx.endpoints.token, ctx.now())
 */
export async function checkEndpointProof(policy: DpopServerPolicy, req: GrantkitRequest, url: string, now: number, accessToken?: string): Promise<VerifiedDpopProof> {
  try {
    return await verifyDpopProof(policy.proofs, { header: req.headers.dpop ?? '', method: req.method, htu: normalizeHtu(url) ?? url, ...(accessToken !== undefined && { accessToken }) }, now)
  } catch (err) {
    if (err instanceof DpopProofError) throw dpopOAuthError(err)
    throw err
  }
}

/**
 * The proof of a token request (RFC 9449 §5), or undefined when the request
 * carries none and none is needed. A client registered with
 * `dpop_bound_access_tokens: true`, or any client under `dpop.required`, must
 * send one (§5.2): without it the request is invalid_request.
 */
export function tokenRequestProof(ctx: ServerContext, req: GrantkitRequest, client: Client): Promise<VerifiedDpopProof> | undefined {
  const policy = ctx.dpop
  if (policy === undefined) return undefined
  if (req.headers.dpop === undefined) {
    // RFC 9449 §5.2: a client that registered dpop_bound_access_tokens gets no token without a proof.
    if (policy.required || client.metadata.dpop_bound_access_tokens === true) {
      throw new OAuthError('invalid_request', { description: 'A DPoP proof is required.', detail: 'token request without a DPoP header' })
    }
    return undefined
  }
  return checkEndpointProof(policy, req, ctx.endpoints.token, ctx.now())
}
