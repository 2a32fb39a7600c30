import { describe, expect, it } from 'vitest'
import { generateUserCode, normalizeUserCode, USER_CODE_ALPHABET } from '../../src/device/user-code.js'

const FORMAT = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/

describe('user codes (RFC 8628 §6.1)', () => {
  it('are eight consonants formatted XXXX-XXXX, with no vowels and no digits', () => {
    expect(USER_CODE_ALPHABET).toBe('BCDFGHJKLMNPQRSTVWXZ')
    for (let i = 0; i < 200; i++) expect(generateUserCode()).toMatch(FORMAT)
  })

  it('are drawn at random: 200 codes are all different', () => {
    const codes = new Set(Array.from({ length: 200 }, generateUserCode))
    expect(codes.size).toBe(200)
  })

  it('normalize regardless of case, dashes and spaces', () => {
    expect(normalizeUserCode('BCDF-GHJK')).toBe('BCDFGHJK')
    expect(normalizeUserCode('bcdfghjk')).toBe('BCDFGHJK')
    expect(normalizeUserCode(' bcdf ghjk ')).toBe('BCDFGHJK')
    expect(normalizeUserCode('b-c-d-f-g-h-j-k')).toBe('BCDFGHJK')
  })

  it('refuse input that cannot be a user code: wrong length, vowels, digits, overlong input', () => {
    expect(normalizeUserCode('BCDF-GHJ')).toBeUndefined()
    expect(normalizeUserCode('BCDF-GHJKL')).toBeUndefined()
    expect(normalizeUserCode('BCDF-GHJA')).toBeUndefined()
    expect(normalizeUserCode('BCDF-GHJ0')).toBeUndefined()
    expect(normalizeUserCode('')).toBeUndefined()
    expect(normalizeUserCode('BCDFGHJK' + ' '.repeat(30))).toBeUndefined()
  })
})
