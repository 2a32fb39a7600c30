import { describe, expect, it } from 'vitest'
import { consentKey, decodeRecord, encodeRecord, RECORD_VERSION, RecordVersionError } from '../../src/storage/codec.js'
import { compareKeys, DEVICE_CODE_GRACE, deviceCodeKeepUntil, isKeyPublished, isLive, isRetiredByRotation, storedKeyDigest } from '../../src/storage/policy.js'
import { hashToken } from '../../src/index.js'

describe('record codec', () => {
  const record = { id: 'j', tokenHash: 'h', clientId: 'c', sub: 's', scope: 'a b', audience: ['x'], issuedAt: 1, expiresAt: 2, claims: { v: 1, $v: 'claim' } }

  it('writes the current record version and reads the record back without it', () => {
    const text = encodeRecord(record)
    expect(JSON.parse(text)).toMatchObject({ $v: RECORD_VERSION })
    expect(decodeRecord('access token', text)).toEqual(record)
    // A jsonb column comes back parsed.
    expect(decodeRecord('access token', JSON.parse(text) as object)).toEqual(record)
  })

  it('reads records written by grantkit 0.1.0 (no version member) as they are', () => {
    expect(decodeRecord('access token', JSON.stringify(record))).toEqual(record)
    expect(decodeRecord('access token', { ...record, $v: 0 })).toEqual(record)
  })

  it('refuses a record of a newer or unknown format, naming its kind and version', () => {
    expect(() => decodeRecord('refresh token', { ...record, $v: RECORD_VERSION + 1 })).toThrow(RecordVersionError)
    expect(() => decodeRecord('refresh token', { ...record, $v: RECORD_VERSION + 1 })).toThrow(/refresh token record has format version 2/)
    expect(() => decodeRecord('refresh token', { ...record, $v: 'x' })).toThrow(RecordVersionError)
    expect(() => decodeRecord('refresh token', '[1]')).toThrow(RecordVersionError)
  })

  it('keeps person and client of a consent apart', () => {
    expect(consentKey('a:b', 'c')).not.toBe(consentKey('a', 'b:c'))
  })
})

describe('storage policy', () => {
  it('keeps a device code an hour past expiry', () => {
    expect(DEVICE_CODE_GRACE).toBe(3600)
    expect(deviceCodeKeepUntil({ expiresAt: 100 })).toBe(3700)
  })

  it('stores client-input keys as their SHA-256, the hash of opaque tokens', () => {
    expect(storedKeyDigest('nul\u0000byte')).toBe(hashToken('nul\u0000byte'))
    expect(storedKeyDigest('x'.repeat(4096))).toHaveLength(43)
  })

  it('treats expiry as exclusive', () => {
    expect(isLive(10, 9)).toBe(true)
    expect(isLive(10, 10)).toBe(false)
  })
})

describe('signing key policy', () => {
  it('publishes a key until publishedUntil, or for good when unset', () => {
    expect(isKeyPublished({}, 5)).toBe(true)
    expect(isKeyPublished({ publishedUntil: null }, 5)).toBe(true)
    expect(isKeyPublished({ publishedUntil: 6 }, 5)).toBe(true)
    expect(isKeyPublished({ publishedUntil: 5 }, 5)).toBe(false)
  })

  it('retires on rotation only keys not already retired by then', () => {
    expect(isRetiredByRotation({}, 10)).toBe(true)
    expect(isRetiredByRotation({ retiredAt: 11 }, 10)).toBe(true)
    expect(isRetiredByRotation({ retiredAt: 10 }, 10)).toBe(false)
  })

  it('lists keys oldest first: activeFrom, then createdAt, then kid', () => {
    const keys = [
      { kid: 'b', activeFrom: 2, createdAt: 1 },
      { kid: 'a', activeFrom: 2, createdAt: 1 },
      { kid: 'c', activeFrom: 1, createdAt: 9 },
      { kid: 'd', activeFrom: 2, createdAt: 0 },
    ]
    expect([...keys].sort(compareKeys).map((k) => k.kid)).toEqual(['c', 'd', 'a', 'b'])
  })
})
