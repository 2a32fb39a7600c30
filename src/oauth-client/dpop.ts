import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto'
import { importPrivateJwk, signJwtWithJose, type JosePrivateKey, type JWK } from '../crypto/jose.js'
import { parseWwwAuthenticate } from './http.js'

/** DPoP (RFC 9449) for this client: the key its proofs are signed with. */
export interface DpopClientOptions {
  /**
   * The private key (EC P-256, ES256) proofs are signed with, as a JWK. Default:
   * a key generated when the client is created, which lives as long as the
   * process: give one when tokens outlive the process or are shared through a
   * store by several processes, since a DPoP-bound token (and a public
   * client's refresh token) works only with its key.
   */
  privateJwk?: JWK
}

/** Most nonces remembered, one per origin (RFC 9449 §8: a nonce is per server). */
const MAX_NONCES = 1000

/**
 * Signs DPoP proofs (RFC 9449 §4) with one key, and keeps the nonce each
 * server last handed out (§8) by origin. The key is imported once.
 */
export class DpopSigner {
  readonly #key: Promise<JosePrivateKey>
  readonly #jwk: JWK
  readonly #nonces = new Map<string, string>()
  readonly #now: () => number

  /** @param now seconds since the epoch */
  constructor(options: DpopClientOptions, now: () => number) {
    let priv = options.privateJwk
    if (priv === undefined) {
      priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as JWK
    } else if (typeof priv !== 'object' || priv === null || priv.kty !== 'EC' || priv.crv !== 'P-256' || typeof priv.d !== 'string' || typeof priv.x !== 'string' || typeof priv.y !== 'string') {
      throw new TypeError('dpop.privateJwk: must be a private EC P-256 JWK (ES256)')
    }
    // RFC 9449 §4.2: the proof carries the public key only.
    this.#jwk = { kty: 'EC', crv: 'P-256', x: priv.x, y: priv.y }
    this.#key = importPrivateJwk(priv, 'ES256')
    // An unhandled rejection here would surface only at the first proof; keep it for then.
    this.#key.catch(() => undefined)
    this.#now = now
  }

  /**
   * A proof for one request: `htm`, `htu` (the URL without query and
   * fragment), `iat`, a fresh `jti`, the server's last nonce, and `ath` when an
   * access token goes with it.
   */
  async proof(method: string, url: string, accessToken?: string): Promise<string> {
    const u = new URL(url)
    const claims: Record<string, unknown> = { htm: method.toUpperCase(), htu: u.origin + u.pathname, iat: Math.floor(this.#now()), jti: randomBytes(16).toString('base64url') }
    const nonce = this.#nonces.get(u.origin)
    if (nonce !== undefined) claims.nonce = nonce
    if (accessToken !== undefined) claims.ath = createHash('sha256').update(accessToken, 'ascii').digest('base64url')
    return signJwtWithJose(await this.#key, { typ: 'dpop+jwt', alg: 'ES256', jwk: this.#jwk }, claims)
  }

  /**
   * Keeps the `DPoP-Nonce` a server sent (§8), for its next proofs. True when
   * the response carried a nonce different from the one we had.
   */
  remember(url: string, res: Response): boolean {
    const nonce = res.headers.get('dpop-nonce')
    // §8.1: a nonce is an opaque string of unreserved characters; anything else is ignored.
    if (nonce === null || nonce.length > 512 || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(nonce)) return false
    const origin = new URL(url).origin
    const changed = this.#nonces.get(origin) !== nonce
    if (this.#nonces.size >= MAX_NONCES && !this.#nonces.has(origin)) this.#nonces.delete(this.#nonces.keys().next().value!)
    this.#nonces.set(origin, nonce)
    return changed
  }
}

/**
 * RFC 9449 §9: a protected resource asking for a nonce: 401 with a DPoP
 * challenge whose error is `use_dpop_nonce`.
 */
export function isResourceNonceChallenge(res: Response): boolean {
  if (res.status !== 401) return false
  const header = res.headers.get('www-authenticate')
  return header !== null && parseWwwAuthenticate(header).some((c) => c.scheme === 'dpop' && c.params.error === 'use_dpop_nonce')
}

/**
 * RFC 9449 §7.1: a 401 whose DPoP challenge says `invalid_token`; the DPoP
 * counterpart of `isBearerInvalidToken`.
 */
export function isDpopInvalidToken(res: Response): boolean {
  if (res.status !== 401) return false
  const header = res.headers.get('www-authenticate')
  return header !== null && parseWwwAuthenticate(header).some((c) => c.scheme === 'dpop' && c.params.error === 'invalid_token')
}
