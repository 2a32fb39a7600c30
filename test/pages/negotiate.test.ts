import { describe, expect, it } from 'vitest'
import { negotiateLocale, parseAcceptLanguage, parseUiLocales } from '../../src/pages/i18n/negotiate.js'

const EN_DE = { supported: ['en', 'de'], defaultLocale: 'en' }
const pick = (acceptLanguage: string | undefined, uiLocales: string[] = [], choice = EN_DE) => negotiateLocale(choice, uiLocales, acceptLanguage)

describe('Accept-Language (RFC 9110 §12.5.4)', () => {
  it('orders ranges by q-value, keeping the sent order between equal weights', () => {
    expect(parseAcceptLanguage('fr;q=0.5, de-CH, en;q=0.9, it')).toEqual([
      { range: 'de-ch', q: 1 },
      { range: 'it', q: 1 },
      { range: 'en', q: 0.9 },
      { range: 'fr', q: 0.5 },
    ])
  })

  it('skips malformed members instead of failing the page', () => {
    expect(parseAcceptLanguage('de;q=2, <script>, en;q=abc, fr;q=0.300, ;q=1')).toEqual([{ range: 'fr', q: 0.3 }])
  })

  it('chooses the supported language with the highest weight', () => {
    expect(pick('fr, de;q=0.8, en;q=0.7')).toBe('de')
    expect(pick('en;q=0.2, de;q=0.9')).toBe('de')
    expect(pick('de;q=0.5, en')).toBe('en')
  })

  it('matches a more specific range by its prefix: de-CH → de (RFC 4647 §3.4)', () => {
    expect(pick('de-CH')).toBe('de')
    expect(pick('DE-ch;q=0.9')).toBe('de')
  })

  it('matches a shorter range to a regional locale: de → de-AT (RFC 4647 §3.3.1)', () => {
    expect(pick('de', [], { supported: ['en', 'de-AT'], defaultLocale: 'en' })).toBe('de-AT')
  })

  it('answers in the configured spelling of the tag', () => {
    expect(pick('pt-br', [], { supported: ['en', 'pt-BR'], defaultLocale: 'en' })).toBe('pt-BR')
  })

  it('falls back to the default for unsupported languages, an empty or a missing header', () => {
    expect(pick('fr, it;q=0.5')).toBe('en')
    expect(pick('')).toBe('en')
    expect(pick(undefined)).toBe('en')
    expect(pick('fr', [], { supported: ['en', 'de'], defaultLocale: 'de' })).toBe('de')
  })

  it('reads "*" as any language not named, the default first', () => {
    expect(pick('fr, *;q=0.5')).toBe('en')
    // en is named with a lower weight, so "*" stands for de here.
    expect(pick('*, en;q=0.1')).toBe('de')
  })

  it('never chooses a language given q=0, even through "*" or a prefix', () => {
    expect(pick('*, en;q=0')).toBe('de')
    expect(pick('de-CH, de;q=0, en;q=0.1')).toBe('en')
    expect(pick('de, de-AT;q=0', [], { supported: ['de-AT', 'de'], defaultLocale: 'de-AT' })).toBe('de')
  })

  it('reads at most 32 ranges of a long header', () => {
    const header = [...Array.from({ length: 40 }, () => 'fr'), 'de'].join(', ')
    expect(pick(header)).toBe('en')
  })
})

describe('ui_locales (OIDC Core §3.1.2.1)', () => {
  it('is a space-separated list in preference order; malformed tags are dropped', () => {
    expect(parseUiLocales('fr-CA  fr en')).toEqual(['fr-CA', 'fr', 'en'])
    expect(parseUiLocales('de <b> en_US')).toEqual(['de'])
    expect(parseUiLocales(undefined)).toEqual([])
  })

  it('wins over Accept-Language when it names a supported language', () => {
    expect(pick('en', ['de'])).toBe('de')
    expect(pick('de', ['en'])).toBe('en')
    expect(pick('en', ['fr', 'de-CH'])).toBe('de')
  })

  it('is a hint: unsupported tags leave the choice to Accept-Language, then the default', () => {
    expect(pick('de', ['fr', 'it'])).toBe('de')
    expect(pick(undefined, ['fr'])).toBe('en')
  })
})
