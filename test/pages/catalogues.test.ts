import { describe, expect, it } from 'vitest'
import { BUILT_IN_CATALOGUES, MESSAGE_KEYS, placeholdersOf, type Catalogue } from '../../src/pages/i18n/index.js'
import { en } from '../../src/pages/i18n/en.js'

describe('built-in catalogues', () => {
  it('ship English and German', () => {
    expect(Object.keys(BUILT_IN_CATALOGUES).sort()).toEqual(['de', 'en'])
  })

  for (const [locale, catalogue] of Object.entries(BUILT_IN_CATALOGUES)) {
    it(`${locale}: has every message key and no other`, () => {
      expect(Object.keys(catalogue).sort()).toEqual([...MESSAGE_KEYS].sort())
      for (const key of MESSAGE_KEYS) expect(catalogue[key].trim(), key).not.toBe('')
    })

    it(`${locale}: keeps exactly the placeholders of the English text`, () => {
      for (const key of MESSAGE_KEYS) expect(placeholdersOf(catalogue[key]), key).toEqual(placeholdersOf(en[key]))
    })
  }

  it('keep the English button texts outside tools click by (contract)', () => {
    expect(en['consent.allow']).toBe('Allow')
    expect(en['consent.deny']).toBe('Deny')
    expect(en['login.submit']).toBe('Sign in')
  })

  it('translate the German texts rather than copy the English ones', () => {
    const de = BUILT_IN_CATALOGUES.de!
    // Words that are the same in both languages.
    const same = new Set(['device.code'])
    for (const key of MESSAGE_KEYS) if (!same.has(key)) expect(de[key], key).not.toBe(en[key])
  })

  it('make a missing key a type error (checked by tsc)', () => {
    const { 'consent.deny': _dropped, ...missing } = en
    // @ts-expect-error a catalogue without 'consent.deny' does not compile
    const broken: Catalogue = missing
    expect(Object.keys(broken)).not.toContain('consent.deny')
  })
})
