import { exportJWK, generateKeyPair, type JWK } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { createAuthorizationServer, createTrustRegistry, type TrustOptions } from '../../src/index.js'
import { ISSUER } from '../helpers.js'

/** A self-signed P-256 certificate for CN=saml.example (public material only). */
const CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIUE++DE1qTMsGJ7SruDFvq81OlOZ4wCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMc2FtbC5leGFtcGxlMCAXDTI2MTEyMjAzNDMxNFoYDzIxMjYx
MDI5MDM0MzE0WjAXMRUwEwYDVQQDDAxzYW1sLmV4YW1wbGUwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAAR1NbFRD1rrkGL+i6h6s+fHFb4tT1S4NsBYmTtzwB8lYAEv
naz+R5tiNut+Xwlr6cSC7T0Z54WbeyYT6Z9yZUnjo1MwUTAdBgNVHQ4EFgQUNrq1
7MMQNfMmtOZswdW3ZBzzDzgwHwYDVR0jBBgwFoAUNrq17MMQNfMmtOZswdW3ZBzz
DzgwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiB9c9J3TOePZSCE
5irsy7esS9sT5CH8N9L5MbOUCP9+OwIhAOAA+WrrGYWTPn5JQootaPQkorPD3Eza
iFCRUwhkldnG
-----END CERTIFICATE-----`

let ec: { publicJwk: JWK; privateJwk: JWK }
let rsa: { publicJwk: JWK; privateJwk: JWK }
beforeAll(async () => {
  const e = await generateKeyPair('ES256', { extractable: true })
  ec = { publicJwk: { ...(await exportJWK(e.publicKey)), kid: 'ec-1' }, privateJwk: { ...(await exportJWK(e.privateKey)), kid: 'ec-1' } }
  const r = await generateKeyPair('RS256', { extractable: true })
  rsa = { publicJwk: { ...(await exportJWK(r.publicKey)), kid: 'rsa-1' }, privateJwk: { ...(await exportJWK(r.privateKey)), kid: 'rsa-1' } }
})

/** The TypeError message `createTrustRegistry` throws for `options`. */
function errorOf(options: unknown): string {
  try {
    createTrustRegistry(options as TrustOptions)
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    return (error as TypeError).message
  }
  throw new Error('expected a TypeError')
}

describe('trust registry (RFC 7523 §2.1, RFC 7522 issuers)', () => {
  it('accepts public keys and a PEM certificate, with subject and scope limits', () => {
    const trust = createTrustRegistry({
      jwtIssuers: [
        { issuer: 'https://idp.example', jwks: { keys: [ec.publicJwk, rsa.publicJwk] }, subjects: ['alice'], scopes: ['api:read'] },
        { issuer: 'https://other.example', jwks: { keys: [ec.publicJwk] } },
      ],
      samlIdps: [{ entityId: 'https://saml.example', certificate: CERTIFICATE, scopes: ['api:read'] }],
    })
    expect([...trust.jwtIssuers.keys()]).toEqual(['https://idp.example', 'https://other.example'])
    expect(trust.jwtIssuers.get('https://idp.example')!.subjects).toEqual(new Set(['alice']))
    expect(trust.jwtIssuers.get('https://idp.example')!.scopes).toEqual(new Set(['api:read']))
    expect(trust.jwtIssuers.get('https://other.example')!.subjects).toBeUndefined()
    expect(trust.samlIdps.get('https://saml.example')!.certificate).toBe(CERTIFICATE)
  })

  it('is empty without options', () => {
    const trust = createTrustRegistry(undefined)
    expect(trust.jwtIssuers.size).toBe(0)
    expect(trust.samlIdps.size).toBe(0)
  })

  describe('refuses bad configuration with a TypeError naming the field', () => {
    it('a symmetric key in jwks', () => {
      const oct = { kty: 'oct', k: Buffer.from('a shared secret of thirty-two bytes').toString('base64url') }
      expect(errorOf({ jwtIssuers: [{ issuer: 'https://idp.example', jwks: { keys: [ec.publicJwk, oct] } }] })).toBe(
        'trust.jwtIssuers[0].jwks.keys[1]: must be a public asymmetric key',
      )
    })

    it('a private key in jwks (EC or RSA)', () => {
      expect(errorOf({ jwtIssuers: [{ issuer: 'https://idp.example', jwks: { keys: [ec.privateJwk] } }] })).toBe(
        'trust.jwtIssuers[0].jwks.keys[0]: must be a public asymmetric key',
      )
      expect(errorOf({ jwtIssuers: [{ issuer: 'a', jwks: { keys: [] } }, { issuer: 'b', jwks: { keys: [rsa.privateJwk] } }] })).toBe(
        'trust.jwtIssuers[1].jwks.keys[0]: must be a public asymmetric key',
      )
    })

    it('a public key that cannot be imported (an EC point that is not one), at construction rather than at the first assertion', () => {
      expect(errorOf({ jwtIssuers: [{ issuer: 'https://idp.example', jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] } }] })).toMatch(
        /^trust\.jwtIssuers\[0\]\.jwks\.keys\[0\]: /,
      )
    })

    it('a duplicate issuer or entity ID', () => {
      const jwks = { keys: [ec.publicJwk] }
      expect(errorOf({ jwtIssuers: [{ issuer: 'https://idp.example', jwks }, { issuer: 'https://idp.example', jwks }] })).toBe(
        'trust.jwtIssuers[1].issuer: "https://idp.example" appears twice',
      )
      const idp = { entityId: 'https://saml.example', certificate: CERTIFICATE }
      expect(errorOf({ samlIdps: [idp, idp] })).toBe('trust.samlIdps[1].entityId: "https://saml.example" appears twice')
    })

    it('a certificate that is not a valid PEM certificate', () => {
      const bad = ['not a certificate', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----', CERTIFICATE.replace('MIIBhTCC', 'MIIBhTCD')]
      for (const certificate of bad) {
        expect(errorOf({ samlIdps: [{ entityId: 'https://saml.example', certificate }] })).toBe('trust.samlIdps[0].certificate: is not a valid PEM certificate')
      }
      expect(errorOf({ samlIdps: [{ entityId: 'https://saml.example', certificate: 42 }] })).toBe('trust.samlIdps[0].certificate: must be a PEM certificate')
    })

    it('a missing issuer, a jwks that is not a JWK Set, a key without kty', () => {
      expect(errorOf({ jwtIssuers: [{ jwks: { keys: [] } }] })).toBe('trust.jwtIssuers[0].issuer: must be a non-empty string')
      expect(errorOf({ jwtIssuers: [{ issuer: '', jwks: { keys: [] } }] })).toBe('trust.jwtIssuers[0].issuer: must be a non-empty string')
      expect(errorOf({ jwtIssuers: [{ issuer: 'i', jwks: [ec.publicJwk] }] })).toBe('trust.jwtIssuers[0].jwks: must be a JWK Set: { "keys": [...] }')
      expect(errorOf({ jwtIssuers: [{ issuer: 'i', jwks: { keys: [{ crv: 'P-256' }] } }] })).toBe('trust.jwtIssuers[0].jwks.keys[0]: must be a JWK with kty')
      expect(errorOf({ jwtIssuers: {} })).toBe('trust.jwtIssuers: must be an array')
      expect(errorOf({ samlIdps: [{ certificate: CERTIFICATE }] })).toBe('trust.samlIdps[0].entityId: must be a non-empty string')
    })

    it('subjects or scopes that are not arrays of non-empty strings', () => {
      const jwks = { keys: [ec.publicJwk] }
      expect(errorOf({ jwtIssuers: [{ issuer: 'i', jwks, subjects: 'alice' }] })).toBe('trust.jwtIssuers[0].subjects: must be an array of non-empty strings')
      expect(errorOf({ jwtIssuers: [{ issuer: 'i', jwks, scopes: ['api:read', ''] }] })).toBe('trust.jwtIssuers[0].scopes: must be an array of non-empty strings')
      expect(errorOf({ samlIdps: [{ entityId: 'e', certificate: CERTIFICATE, subjects: [1] }] })).toBe('trust.samlIdps[0].subjects: must be an array of non-empty strings')
    })

    it('at server construction, not at the first request', () => {
      expect(() =>
        createAuthorizationServer({
          issuer: ISSUER,
          clients: [],
          trust: { jwtIssuers: [{ issuer: 'https://idp.example', jwks: { keys: [ec.privateJwk] } }] },
        }),
      ).toThrow(new TypeError('trust.jwtIssuers[0].jwks.keys[0]: must be a public asymmetric key'))
    })
  })
})
