import { createPublicKey, X509Certificate, type JsonWebKey } from 'node:crypto'
import { localKeySet, type JSONWebKeySet, type LocalKeySet } from '../crypto/jose.js'

/** An issuer whose JWTs may be exchanged with the JWT bearer grant (RFC 7523 §2.1). */
export interface JwtIssuerTrust {
  /** The `iss` of its assertions. */
  issuer: string
  /** Its public keys. */
  jwks: JSONWebKeySet
  /** Subjects it may assert; default any user the user source knows. */
  subjects?: string[]
  /** Scopes it may grant; default any the client may have. */
  scopes?: string[]
}

/** A SAML identity provider whose assertions may be exchanged (RFC 7522). */
export interface SamlIdpTrust {
  /** Its entity ID: the assertion's `Issuer`. */
  entityId: string
  /** PEM certificate whose key signs its assertions. Keys inside the document are never used. */
  certificate: string
  subjects?: string[]
  scopes?: string[]
}

/**
 * Issuers whose assertions the JWT bearer (RFC 7523) and SAML 2.0 bearer
 * (RFC 7522) grants accept: option `trust`.
 */
export interface TrustOptions {
  jwtIssuers?: JwtIssuerTrust[]
  samlIdps?: SamlIdpTrust[]
}

/** A trusted JWT issuer with its keys imported. */
export interface TrustedJwtIssuer {
  readonly issuer: string
  readonly keys: LocalKeySet
  readonly subjects: ReadonlySet<string> | undefined
  readonly scopes: ReadonlySet<string> | undefined
}

/** A trusted SAML identity provider with its certificate checked. */
export interface TrustedSamlIdp {
  readonly entityId: string
  /** The PEM certificate, checked once at start. */
  readonly certificate: string
  readonly subjects: ReadonlySet<string> | undefined
  readonly scopes: ReadonlySet<string> | undefined
}

/** The trust configuration after checking, keyed by `iss` and by SAML entity ID. */
export interface TrustRegistry {
  readonly jwtIssuers: ReadonlyMap<string, TrustedJwtIssuer>
  readonly samlIdps: ReadonlyMap<string, TrustedSamlIdp>
}

function optionalSet(value: unknown, path: string): Set<string> | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) throw new TypeError(`${path}: must be an array of non-empty strings`)
  return new Set(value as string[])
}

/**
 * Checks the trust configuration once, importing keys and certificates up front.
 *
 * @throws TypeError naming the field (`trust.jwtIssuers[0].jwks.keys[1]: …`)
 * @example
 * const trust = createTrustRegistry({ jwtIssuers: [{ issuer: 'https://idp.example', jwks }] })
 */
export function createTrustRegistry(options: TrustOptions | undefined, path = 'trust'): TrustRegistry {
  const jwtIssuers = new Map<string, TrustedJwtIssuer>()
  const samlIdps = new Map<string, TrustedSamlIdp>()
  if (options === undefined) return { jwtIssuers, samlIdps }
  if (typeof options !== 'object' || options === null) throw new TypeError(`${path}: must be an object`)
  const jwt = options.jwtIssuers ?? []
  if (!Array.isArray(jwt)) throw new TypeError(`${path}.jwtIssuers: must be an array`)
  jwt.forEach((t, i) => {
    const at = `${path}.jwtIssuers[${i}]`
    if (typeof t?.issuer !== 'string' || t.issuer === '') throw new TypeError(`${at}.issuer: must be a non-empty string`)
    if (jwtIssuers.has(t.issuer)) throw new TypeError(`${at}.issuer: "${t.issuer}" appears twice`)
    if (typeof t.jwks !== 'object' || t.jwks === null || !Array.isArray(t.jwks.keys)) throw new TypeError(`${at}.jwks: must be a JWK Set: { "keys": [...] }`)
    t.jwks.keys.forEach((k, j) => {
      if (typeof k !== 'object' || k === null || typeof k.kty !== 'string') throw new TypeError(`${at}.jwks.keys[${j}]: must be a JWK with kty`)
      // SECURITY: only public keys; a symmetric key here would let HMAC assertions in.
      if (k.kty === 'oct' || 'd' in k) throw new TypeError(`${at}.jwks.keys[${j}]: must be a public asymmetric key`)
      // jose imports a key only when first used; import it now so a broken key fails at start, named.
      try {
        createPublicKey({ key: k as JsonWebKey, format: 'jwk' })
      } catch (cause) {
        throw new TypeError(`${at}.jwks.keys[${j}]: is not a valid public key`, { cause })
      }
    })
    jwtIssuers.set(t.issuer, {
      issuer: t.issuer,
      keys: localKeySet(t.jwks),
      subjects: optionalSet(t.subjects, `${at}.subjects`),
      scopes: optionalSet(t.scopes, `${at}.scopes`),
    })
  })
  const saml = options.samlIdps ?? []
  if (!Array.isArray(saml)) throw new TypeError(`${path}.samlIdps: must be an array`)
  saml.forEach((t, i) => {
    const at = `${path}.samlIdps[${i}]`
    if (typeof t?.entityId !== 'string' || t.entityId === '') throw new TypeError(`${at}.entityId: must be a non-empty string`)
    if (samlIdps.has(t.entityId)) throw new TypeError(`${at}.entityId: "${t.entityId}" appears twice`)
    if (typeof t.certificate !== 'string') throw new TypeError(`${at}.certificate: must be a PEM certificate`)
    try {
      new X509Certificate(t.certificate)
    } catch (cause) {
      throw new TypeError(`${at}.certificate: is not a valid PEM certificate`, { cause })
    }
    samlIdps.set(t.entityId, {
      entityId: t.entityId,
      certificate: t.certificate,
      subjects: optionalSet(t.subjects, `${at}.subjects`),
      scopes: optionalSet(t.scopes, `${at}.scopes`),
    })
  })
  return { jwtIssuers, samlIdps }
}
