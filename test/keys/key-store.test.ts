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
    expect(key.alg).toBe('ES256')
    // OIDC Core §3.1.3.7: an RS256 key for ID tokens is kept beside it.
    const idKey = ring.signingKeyFor('RS256', NOW)!
    expect(idKey.alg).toBe('RS256')
    expect(ring.publicJwks(NOW).keys.map((k) => k.kid)).toEqual([key.kid, idKey.kid])
  })

  it('rotates the RS256 ID-token key with the access-token key, and keeps the retired one published as long', () => {
    const ring = new KeyRing()
    const oldAt = ring.signingKey(NOW)
    const oldId = ring.signingKeyFor('RS256', NOW)!
    const next = ring.rotate({ now: NOW, publishLead: 300, maxTokenLifetime: 3600 })
    expect(next.alg).toBe('ES256')
    const published = ring.publishedKeys(NOW)
    expect(published).toHaveLength(4)
    const nextId = published.find((k) => k.alg === 'RS256' && k.kid !== oldId.kid)!
    expect(ring.signingKeyFor('RS256', NOW + 299)?.kid).toBe(oldId.kid)
    expect(ring.signingKeyFor('RS256', NOW + 300)?.kid).toBe(nextId.kid)
    expect(ring.signingKey(NOW + 300).kid).toBe(next.kid)
    expect(ring.findKey(oldId.kid, NOW + 300 + 3599)?.kid).toBe(oldId.kid)
    expect(ring.findKey(oldId.kid, NOW + 300 + 3600)).toBeUndefined()
    expect(ring.findKey(oldAt.kid, NOW + 300 + 3600)).toBeUndefined()
    // Rotating with a given key rotates that key's algorithm only.
    const given = generateSigningKey('ES256')
    ring.rotate({ now: NOW + 400, publishLead: 0, maxTokenLifetime: 3600, key: given })
    expect(ring.signingKey(NOW + 400).kid).toBe(given.kid)
    expect(ring.signingKeyFor('RS256', NOW + 400)?.kid).toBe(nextId.kid)
  })

  it('uses an RS256 key of the configured keys for ID tokens instead of generating one', () => {
    const es = exportPrivateJwk(generateSigningKey('ES256'))
    const rs = exportPrivateJwk(generateSigningKey('RS256'))
    const ring = new KeyRing({ keys: [rs, es] })
    expect(ring.signingKey(NOW).kid).toBe(es.kid)
    expect(ring.signingKeyFor('RS256', NOW)?.kid).toBe(rs.kid)
    expect(ring.publishedKeys(NOW)).toHaveLength(2)
    expect(ring.signingKeyFor('EdDSA', NOW)).toBeUndefined()
  })

  it('publishes a new key before it signs, and keeps the retired key until its tokens expire', () => {
    const ring = new KeyRing({ algorithm: 'ES256' })
    const old = ring.signingKey(NOW)
    const next = ring.rotate({ now: NOW, publishLead: 300, maxTokenLifetime: 3600 })
    // Published at once, not yet signing.
    const es = (now: number): string[] => ring.publishedKeys(now).filter((k) => k.alg === 'ES256').map((k) => k.kid)
    expect(es(NOW)).toEqual([old.kid, next.kid])
    expect(ring.signingKey(NOW + 299).kid).toBe(old.kid)
    // Signs from activeFrom.
    expect(ring.signingKey(NOW + 300).kid).toBe(next.kid)
    // The retired key verifies for the longest token lifetime after it stopped signing.
    expect(ring.findKey(old.kid, NOW + 300 + 3599)?.kid).toBe(old.kid)
    expect(ring.findKey(old.kid, NOW + 300 + 3600)).toBeUndefined()
    expect(es(NOW + 300 + 3600)).toEqual([next.kid])
  })

  it('signs with the last configured key and still publishes the earlier ones', () => {
    const a = exportPrivateJwk(generateSigningKey('ES256'))
    const b = exportPrivateJwk(generateSigningKey('EdDSA'))
    const ring = new KeyRing({ keys: [a, b] })
    expect(ring.signingKey(NOW).kid).toBe(b.kid)
    expect(ring.publishedKeys(NOW).filter((k) => k.alg !== 'RS256').map((k) => k.kid)).toEqual([a.kid, b.kid])
  })

  it('refuses duplicate kids', () => {
    const a = exportPrivateJwk(generateSigningKey('ES256'))
    expect(() => new KeyRing({ keys: [a, a] })).toThrow(/twice/)
  })
})
