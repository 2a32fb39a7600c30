import { createLocalJWKSet, generateKeyPair, exportJWK, jwtVerify } from 'jose'
import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { signJwt, decodeJwt, verifyOwnJws } from '../../src/crypto/jws.js'
import { exportPrivateJwk, generateSigningKey, importSigningKey, jwkThumbprint, KeyRing, type SigningAlgorithm } from '../../src/index.js'

const NOW = 1_800_000_000

describe('signing keys', () => {
  for (const alg of ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'EdDSA'] as SigningAlgorithm[]) {
    it(`signs ${alg} JWTs that jose verifies with the published key`, async () => {
      const key = generateSigningKey(alg)
      const jwt = signJwt(key, 'at+jwt', { sub: 'x', iat: NOW })
      const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet({ keys: [key.publicJwk] }), { currentDate: new Date(NOW * 1000) })
      expect(payload.sub).toBe('x')
      expect(protectedHeader).toEqual({ alg, typ: 'at+jwt', kid: key.kid })
      expect(verifyOwnJws(decodeJwt(jwt)!, key)).toBe(true)
    })
  }

  it('imports a private JWK and keeps its kid', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    const jwk = { ...(await exportJWK(privateKey)), kid: 'k1' }
    const key = importSigningKey(jwk)
    expect(key.kid).toBe('k1')
    expect(key.alg).toBe('ES256')
    expect(key.publicJwk.d).toBeUndefined()
  })

  it('derives the kid from the RFC 7638 thumbprint when none is given', () => {
    const key = generateSigningKey('EdDSA')
    expect(key.kid).toBe(jwkThumbprint(key.publicJwk))
    const again = importSigningKey({ ...exportPrivateJwk(key), kid: undefined })
    expect(again.kid).toBe(key.kid)
  })

  it('refuses a public JWK, an unknown alg, a mismatched alg and a short RSA key', () => {
    const key = generateSigningKey('ES256')
    expect(() => importSigningKey(key.publicJwk)).toThrow(/private/)
    expect(() => importSigningKey({ ...exportPrivateJwk(key), alg: 'HS256' })).toThrow(/unsupported alg/)
    expect(() => importSigningKey({ ...exportPrivateJwk(key), alg: 'RS256' })).toThrow(/cannot sign RS256/)
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const shortJwk = privateKey.export({ format: 'jwk' })
    expect(() => importSigningKey(shortJwk)).toThrow(/2048/)
  })

  it('verifyOwnJws refuses a header alg that differs from the key, alg none and a tampered payload', () => {
    const key = generateSigningKey('ES256')
    const jwt = signJwt(key, 'at+jwt', { sub: 'x' })
    const [h, p, s] = jwt.split('.')
    const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', kid: key.kid })).toString('base64url')
    expect(verifyOwnJws(decodeJwt(`${noneHeader}.${p}.`)!, key)).toBe(false)
    const hsHeader = Buffer.from(JSON.stringify({ alg: 'HS256', kid: key.kid })).toString('base64url')
    expect(verifyOwnJws(decodeJwt(`${hsHeader}.${p}.${s}`)!, key)).toBe(false)
    const tampered = Buffer.from(JSON.stringify({ sub: 'admin' })).toString('base64url')
    expect(verifyOwnJws(decodeJwt(`${h}.${tampered}.${s}`)!, key)).toBe(false)
    expect(decodeJwt('a.b')).toBeNull()
    expect(decodeJwt('a.b.c.d')).toBeNull()
    expect(decodeJwt('!!!.###.$$$')).toBeNull()
  })
})

describe('KeyRing rotation', () => {
  it('signs with the only key and publishes it', () => {
    const ring = new KeyRing()
    const key = ring.signingKey(NOW)
    expect(ring.publicJwks(NOW).keys.map((k) => k.kid)).toEqual([key.kid])
  })

  it('publishes a new key before it signs, and keeps the retired key until its tokens expire', () => {
    const ring = new KeyRing({ algorithm: 'ES256' })
    const old = ring.signingKey(NOW)
    const next = ring.rotate({ now: NOW, publishLead: 300, maxTokenLifetime: 3600 })
    // Published at once, not yet signing.
    expect(ring.publishedKeys(NOW).map((k) => k.kid)).toEqual([old.kid, next.kid])
    expect(ring.signingKey(NOW + 299).kid).toBe(old.kid)
    // Signs from activeFrom.
    expect(ring.signingKey(NOW + 300).kid).toBe(next.kid)
    // The retired key verifies for the longest token lifetime after it stopped signing.
    expect(ring.findKey(old.kid, NOW + 300 + 3599)?.kid).toBe(old.kid)
    expect(ring.findKey(old.kid, NOW + 300 + 3600)).toBeUndefined()
    expect(ring.publishedKeys(NOW + 300 + 3600).map((k) => k.kid)).toEqual([next.kid])
  })

  it('signs with the last configured key and still publishes the earlier ones', () => {
    const a = exportPrivateJwk(generateSigningKey('ES256'))
    const b = exportPrivateJwk(generateSigningKey('EdDSA'))
    const ring = new KeyRing({ keys: [a, b] })
    expect(ring.signingKey(NOW).kid).toBe(b.kid)
    expect(ring.publishedKeys(NOW).map((k) => k.kid)).toEqual([a.kid, b.kid])
  })

  it('refuses duplicate kids', () => {
    const a = exportPrivateJwk(generateSigningKey('ES256'))
    expect(() => new KeyRing({ keys: [a, a] })).toThrow(/twice/)
  })
})
