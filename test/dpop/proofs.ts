import { createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'

/** A DPoP key pair for tests: the private key and its public JWK. */
export interface TestDpopKey {
  privateKey: KeyObject
  jwk: Record<string, string>
  alg: 'ES256' | 'RS256' | 'EdDSA'
}

export function dpopKey(alg: TestDpopKey['alg'] = 'ES256', bits = 2048): TestDpopKey {
  const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: bits }) : generateKeyPairSync('ed25519')
  return { privateKey: pair.privateKey, jwk: pair.publicKey.export({ format: 'jwk' }) as Record<string, string>, alg }
}

/** RFC 7638 thumbprint, computed independently of src/ (for an EC, RSA or OKP key). */
export function thumbprint(jwk: Record<string, string>): string {
  const members = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

export function ath(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

/**
 * A DPoP proof, signed by `key`, with every field overridable: `header` and
 * `claims` are merged over the well-formed defaults (undefined removes one).
 */
export function proof(key: TestDpopKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const h: Record<string, unknown> = { typ: 'dpop+jwt', alg: key.alg, jwk: key.jwk, ...header }
  const p: Record<string, unknown> = { jti: randomUUID(), ...claims }
  for (const o of [h, p]) for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k]
  const input = `${b64(h)}.${b64(p)}`
  const digest = key.alg === 'EdDSA' ? null : 'sha256'
  const sig = sign(digest, Buffer.from(input), key.alg === 'ES256' ? { key: key.privateKey, dsaEncoding: 'ieee-p1363' } : key.privateKey)
  return `${input}.${sig.toString('base64url')}`
}
