import { describe, expect, it } from 'vitest'
import { createAuthorizationServer, MESSAGE_KEYS, type Catalogue } from '../../src/index.js'
import { en } from '../../src/pages/i18n/en.js'
import { resolvePages } from '../../src/pages/settings.js'

const ISSUER = 'https://as.example'
const resolve = (value: unknown) => resolvePages(value, 'pages', ISSUER)
const refuses = (value: unknown, message: string | RegExp) => expect(() => resolve(value)).toThrow(message)

describe('pages option', () => {
  it('defaults to every built-in language, English first', () => {
    const s = resolve(undefined)
    expect(s.locales).toEqual(['en', 'de'])
    expect(s.defaultLocale).toBe('en')
    expect(s.catalogues.get('de')!['consent.allow']).toBe('Erlauben')
  })

  it('checks locales: a non-empty list of distinct language tags', () => {
    refuses({ locales: [] }, 'pages.locales: must be a non-empty array of language tags')
    refuses({ locales: ['en', 'en_US'] }, 'pages.locales[1]: must be a BCP 47 language tag such as "en" or "de-CH"')
    refuses({ locales: ['en', 'EN'] }, 'pages.locales[1]: "EN" is listed twice')
  })

  it('checks defaultLocale against locales; without en its default is the first locale', () => {
    refuses({ locales: ['en'], defaultLocale: 'de' }, 'pages.defaultLocale: must be one of pages.locales (en)')
    expect(resolve({ locales: ['de'] }).defaultLocale).toBe('de')
    expect(resolve({ locales: ['en', 'de'], defaultLocale: 'de' }).defaultLocale).toBe('de')
  })

  it('overrides a built-in text in one language only', () => {
    const s = resolve({ messages: { en: { 'login.title': 'Welcome back' } } })
    expect(s.catalogues.get('en')!['login.title']).toBe('Welcome back')
    expect(s.catalogues.get('de')!['login.title']).toBe('Anmelden')
  })

  it('refuses unknown message keys with the closest known one, and texts that are not strings', () => {
    refuses({ messages: { en: { 'login.titel': 'x' } } }, 'pages.messages.en.login.titel: unknown message; did you mean pages.messages.en.login.title?')
    refuses({ messages: { en: { 'login.title': '' } } }, 'pages.messages.en.login.title: must be a non-empty string of at most 1000 characters')
    refuses({ messages: { en: 'x' } }, 'pages.messages.en: must be an object of texts by message key')
  })

  it('refuses a text whose placeholders differ from the English ones', () => {
    refuses({ messages: { en: { 'login.continueTo': 'to continue' } } }, 'pages.messages.en.login.continueTo: must use exactly the placeholders {client}')
    refuses({ messages: { en: { 'login.title': 'Hi {user}' } } }, 'pages.messages.en.login.title: must use no placeholders')
  })

  it('refuses texts for a language that is not in locales', () => {
    refuses({ messages: { fr: { 'login.title': 'Connexion' } } }, 'pages.messages.fr: "fr" is not in pages.locales (en, de)')
  })

  it('adds a language grantkit does not ship when every text is given, and names the missing ones otherwise', () => {
    refuses({ locales: ['en', 'fr'], messages: { fr: { 'login.title': 'Connexion' } } }, /pages\.messages\.fr: grantkit has no "fr" texts, so every message is needed; missing: login\.continueTo, login\.username, .*\(\d+ in all\)/)
    refuses({ locales: ['en', 'fr'] }, /pages\.messages\.fr: grantkit has no "fr" texts/)
    const fr = Object.fromEntries(MESSAGE_KEYS.map((k) => [k, `fr:${en[k]}`])) as unknown as Catalogue
    const s = resolve({ locales: ['en', 'fr'], messages: { fr } })
    expect(s.catalogues.get('fr')!['consent.allow']).toBe('fr:Allow')
  })

  it('gives a regional locale the texts of its language, which it may override', () => {
    const s = resolve({ locales: ['en', 'de-CH'], messages: { 'de-CH': { 'device.title': 'Gerät koppeln' } } })
    expect(s.catalogues.get('de-CH')!['consent.allow']).toBe('Erlauben')
    expect(s.catalogues.get('de-CH')!['device.title']).toBe('Gerät koppeln')
  })

  it('finds no built-in texts in Object.prototype', () => {
    refuses({ locales: ['en', 'toString'] }, /pages\.messages\.toString: grantkit has no "toString" texts/)
  })

  it('refuses unknown fields of pages with the closest known name', () => {
    refuses({ locale: ['en'] }, 'pages.locale: unknown option; did you mean pages.locales?')
    refuses([], 'pages: must be an object')
  })

  it('is checked by createAuthorizationServer, naming the field', () => {
    expect(() => createAuthorizationServer({ issuer: ISSUER, clients: [], pages: { theme: { colors: { text: 'red;' } } } })).toThrow(/^pages\.theme\.colors\.text: must be a CSS colour/)
  })
})
