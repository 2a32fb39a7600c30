import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  type JsonWebKey,
} from 'node:crypto'
import type { AsymmetricAlgorithm } from '../crypto/jose.js'

/**
 * JWS algorithms grantkit signs with (RFC 7518 §3.1, RFC 8037): the ones the
 * node:crypto signer implements, each on the allow-list of `crypto/jose.ts`
 * (`Extract` makes a name that is not on that list a compile error below).
 */
export type SigningAlgorithm = Extract<AsymmetricAlgorithm, 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'PS256' | 'EdDSA'>

export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'EdDSA']

/** A public JWK as published at the JWKS endpoint. */
export interface PublicJwk extends JsonWebKey {
  kid: string
  alg: SigningAlgorithm
  use: 'sig'
}

/**
 * A private signing key, imported once. Everything a signature needs per request
 * (the KeyObject, the digest, the encoded header) is prepared here, so signing
 * does no parsing (DEVELOPERS.md: keep key work off the hot path).
 */
export interface SigningKey {
  readonly kid: string
  readonly alg: SigningAlgorithm
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  readonly publicJwk: PublicJwk
  /** Digest name for node:crypto `sign`, or null for EdDSA. */
  readonly digest: string | null
  /** The base64url JOSE header for a `typ`, computed once per typ. */
  encodedHeader(typ: string): string
}

/** A private JWK as configured by an embedder (RFC 7517). */
export interface PrivateJwk extends JsonWebKey {
  kid?: string
  alg?: string
}

function algorithmFor(jwk: JsonWebKey & { alg?: string }): SigningAlgorithm {
  if (jwk.alg !== undefined) {
    if (!(SIGNING_ALGORITHMS as readonly string[]).includes(jwk.alg)) {
      throw new TypeError(`keys: unsupported alg "${jwk.alg}"; use one of ${SIGNING_ALGORITHMS.join(', ')}`)
    }
    return jwk.alg as SigningAlgorithm
  }
  if (jwk.kty === 'EC') {
    if (jwk.crv === 'P-256') return 'ES256'
    if (jwk.crv === 'P-384') return 'ES384'
    if (jwk.crv === 'P-521') return 'ES512'
  }
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA'
  if (jwk.kty === 'RSA') return 'RS256'
  throw new TypeError(`keys: cannot infer an algorithm for kty "${String(jwk.kty)}" crv "${String(jwk.crv)}"`)
}

const DIGEST: Record<SigningAlgorithm, string | null> = {
  ES256: 'sha256',
  ES384: 'sha384',
  ES512: 'sha512',
  RS256: 'sha256',
  PS256: 'sha256',
  EdDSA: null,
}

/**
 * RFC 7638 JWK thumbprint (SHA-256, base64url): a kid that is stable for the
 * same public key. The default kid of keys without one.
 *
 * @example
 * const kid = jwkThumbprint(key.publicJwk)
 */
export function jwkThumbprint(jwk: JsonWebKey): string {
  let members: Record<string, unknown>
  if (jwk.kty === 'EC') members = { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
  else if (jwk.kty === 'OKP') members = { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
  else if (jwk.kty === 'RSA') members = { e: jwk.e, kty: jwk.kty, n: jwk.n }
  else throw new TypeError(`keys: unsupported kty "${String(jwk.kty)}"`)
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

function checkKeyMatchesAlgorithm(alg: SigningAlgorithm, key: KeyObject): void {
  const type = key.asymmetricKeyType
  const details = key.asymmetricKeyDetails
  const ok =
    (alg === 'ES256' && type === 'ec' && details?.namedCurve === 'prime256v1') ||
    (alg === 'ES384' && type === 'ec' && details?.namedCurve === 'secp384r1') ||
    (alg === 'ES512' && type === 'ec' && details?.namedCurve === 'secp521r1') ||
    ((alg === 'RS256' || alg === 'PS256') && type === 'rsa' && (details?.modulusLength ?? 0) >= 2048) ||
    (alg === 'EdDSA' && type === 'ed25519')
  if (!ok) throw new TypeError(`keys: a ${String(type)} key cannot sign ${alg} (RSA keys need 2048 bits or more)`)
}

function fromKeyObject(privateKey: KeyObject, alg: SigningAlgorithm, kid: string | undefined): SigningKey {
  if (privateKey.type !== 'private') throw new TypeError('keys: a signing key must be a private key')
  checkKeyMatchesAlgorithm(alg, privateKey)
  const publicKey = createPublicKey(privateKey)
  const exported = publicKey.export({ format: 'jwk' })
  const id = kid ?? jwkThumbprint(exported)
  const publicJwk: PublicJwk = { ...exported, kid: id, alg, use: 'sig' }
  const headers = new Map<string, string>()
  return {
    kid: id,
    alg,
    privateKey,
    publicKey,
    publicJwk,
    digest: DIGEST[alg],
    encodedHeader(typ: string): string {
      let h = headers.get(typ)
      if (h === undefined) {
        h = Buffer.from(JSON.stringify({ alg, typ, kid: id })).toString('base64url')
        headers.set(typ, h)
      }
      return h
    },
  }
}

/**
 * Imports a private JWK once. The algorithm comes from `alg` or the key type.
 *
 * @example
 * const key = importSigningKey({ kty: 'EC', crv: 'P-256', x, y, d, kid: 'k1' })
 */
export function importSigningKey(jwk: PrivateJwk): SigningKey {
  if (typeof jwk !== 'object' || jwk === null) throw new TypeError('keys: each key must be a private JWK object')
  if (jwk.d === undefined) throw new TypeError('keys: a signing key must be a private JWK (it has no "d")')
  const alg = algorithmFor(jwk)
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey({ key: jwk, format: 'jwk' })
  } catch (cause) {
    throw new TypeError(`keys: the JWK${jwk.kid ? ` "${jwk.kid}"` : ''} is not a valid private key`, { cause })
  }
  return fromKeyObject(privateKey, alg, jwk.kid)
}

/**
 * Generates a fresh key pair for an algorithm (ES256 by default).
 *
 * @example
 * const key = generateSigningKey('EdDSA')
 */
export function generateSigningKey(alg: SigningAlgorithm = 'ES256'): SigningKey {
  let pair: { privateKey: KeyObject }
  switch (alg) {
    case 'ES256':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      break
    case 'ES384':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-384' })
      break
    case 'ES512':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-521' })
      break
    case 'RS256':
    case 'PS256':
      pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
      break
    case 'EdDSA':
      pair = generateKeyPairSync('ed25519')
      break
    default:
      throw new TypeError(`keys: unsupported algorithm "${String(alg)}"`)
  }
  return fromKeyObject(pair.privateKey, alg, undefined)
}

/**
 * The private JWK of a key, for persisting it (never publish this).
 *
 * @example
 * writeFileSync('keys.json', JSON.stringify({ keys: [exportPrivateJwk(generateSigningKey('ES256'))] }), { mode: 0o600 })
 */
export function exportPrivateJwk(key: SigningKey): PrivateJwk {
  return { ...key.privateKey.export({ format: 'jwk' }), kid: key.kid, alg: key.alg }
}
