import { refuseUnknownNames } from '../config/did-you-mean.js'
import { BUILT_IN_CATALOGUES, builtInCatalogue, MESSAGE_KEYS, placeholdersOf, type Catalogue, type MessageKey } from './i18n/index.js'
import { en } from './i18n/en.js'
import { isLanguageTag } from './i18n/negotiate.js'
import { buildTheme, themeShape, type PageTheme, type PageThemeOptions } from './theme.js'

/** The `pages` option: the look and the languages of the built-in pages. */
export interface PagesOptions {
  /** Name, logo, colours and extra CSS. */
  theme?: PageThemeOptions
  /** Languages the pages speak, as BCP 47 tags; a regional tag (`de-CH`) starts from its language's texts. Default: every built-in language (`en`, `de`). */
  locales?: readonly string[]
  /** The language when neither `ui_locales` nor `Accept-Language` names a supported one. Default `en`. */
  defaultLocale?: string
  /** Texts by language: overrides of built-in texts, or every text of a language grantkit does not ship. */
  messages?: Readonly<Record<string, Partial<Catalogue>>>
}

/** The resolved `pages` option. */
export interface PageSettings {
  readonly theme: PageTheme
  /** Supported locales, in the configured order and spelling. */
  readonly locales: readonly string[]
  readonly defaultLocale: string
  /** The complete catalogue of every supported locale. */
  readonly catalogues: ReadonlyMap<string, Catalogue>
}

/** The built-in languages, the default of `pages.locales`. */
export const DEFAULT_LOCALES: readonly string[] = Object.freeze(Object.keys(BUILT_IN_CATALOGUES))
/** The default of `pages.defaultLocale`. */
export const DEFAULT_LOCALE = 'en'
/** Longest text a catalogue entry may have. */
const MAX_TEXT = 1000

const PAGES_FIELDS = ['theme', 'locales', 'defaultLocale', 'messages']

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Field names of the `pages` option, nested ones included, for a config file
 * read before anything is built.
 *
 * @throws TypeError `pages.theme.colours: unknown field (did you mean "colors"?)`
 */
export function pagesShape(value: unknown, path: string, noun = 'option'): void {
  if (!isRecord(value)) throw new TypeError(`${path}: must be an object`)
  refuseUnknownNames(value, PAGES_FIELDS, path, noun)
  if (value.theme !== undefined) themeShape(value.theme, `${path}.theme`, noun)
  if (value.messages !== undefined) {
    if (!isRecord(value.messages)) throw new TypeError(`${path}.messages: must be an object of texts by language`)
    for (const [locale, texts] of Object.entries(value.messages)) {
      if (!isRecord(texts)) throw new TypeError(`${path}.messages.${locale}: must be an object of texts by message key`)
      refuseUnknownNames(texts, MESSAGE_KEYS, `${path}.messages.${locale}`, 'message')
    }
  }
}

function checkLocales(value: unknown, path: string): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new TypeError(`${path}: must be a non-empty array of language tags`)
  const seen = new Set<string>()
  return value.map((tag, i) => {
    if (typeof tag !== 'string' || !isLanguageTag(tag)) throw new TypeError(`${path}[${i}]: must be a BCP 47 language tag such as "en" or "de-CH"`)
    if (seen.has(tag.toLowerCase())) throw new TypeError(`${path}[${i}]: "${tag}" is listed twice`)
    seen.add(tag.toLowerCase())
    return tag
  })
}

/** One language's overrides: known keys, strings, the placeholders of the English text. */
function checkTexts(value: Record<string, unknown>, path: string): Partial<Catalogue> {
  refuseUnknownNames(value, MESSAGE_KEYS, path, 'message')
  const out: Partial<Record<MessageKey, string>> = {}
  for (const [key, text] of Object.entries(value) as Array<[MessageKey, unknown]>) {
    if (text === undefined) continue
    if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_TEXT) throw new TypeError(`${path}.${key}: must be a non-empty string of at most ${MAX_TEXT} characters`)
    const expected = placeholdersOf(en[key])
    const used = placeholdersOf(text)
    if (used.join() !== expected.join()) {
      const want = expected.length === 0 ? 'no placeholders' : `exactly the placeholders ${expected.map((p) => `{${p}}`).join(', ')}`
      throw new TypeError(`${path}.${key}: must use ${want}`)
    }
    out[key] = text
  }
  return out
}

/**
 * Checks the `pages` option and builds what the pages render with: the theme
 * (style and CSP) and one complete catalogue per supported language.
 *
 * @param issuer the server's issuer, for the theme's same-origin rules
 * @throws TypeError naming the field, e.g. `pages.defaultLocale: "fr" is not in pages.locales`
 * @example
 * resolvePages({ locales: ['en', 'de'], messages: { en: { 'login.title': 'Welcome back' } } }, 'pages', 'https://as.example')
 */
export function resolvePages(value: unknown, path: string, issuer: string): PageSettings {
  const given = value === undefined ? {} : value
  if (!isRecord(given)) throw new TypeError(`${path}: must be an object`)
  refuseUnknownNames(given, PAGES_FIELDS, path, 'option')
  const theme = buildTheme(given.theme, `${path}.theme`, issuer)
  const locales = given.locales === undefined ? [...DEFAULT_LOCALES] : checkLocales(given.locales, `${path}.locales`)
  let defaultLocale: string
  if (given.defaultLocale === undefined) defaultLocale = locales.includes(DEFAULT_LOCALE) ? DEFAULT_LOCALE : locales[0]!
  else if (typeof given.defaultLocale !== 'string' || !locales.includes(given.defaultLocale)) {
    throw new TypeError(`${path}.defaultLocale: must be one of pages.locales (${locales.join(', ')})`)
  } else defaultLocale = given.defaultLocale

  const messages = given.messages ?? {}
  if (!isRecord(messages)) throw new TypeError(`${path}.messages: must be an object of texts by language`)
  const catalogues = new Map<string, Catalogue>()
  for (const [locale, texts] of Object.entries(messages)) {
    if (!locales.includes(locale)) throw new TypeError(`${path}.messages.${locale}: "${locale}" is not in ${path}.locales (${locales.join(', ')})`)
    if (!isRecord(texts)) throw new TypeError(`${path}.messages.${locale}: must be an object of texts by message key`)
  }
  for (const locale of locales) {
    const builtIn = builtInCatalogue(locale)
    const own = Object.hasOwn(messages, locale) ? messages[locale] : undefined
    const texts = isRecord(own) ? checkTexts(own, `${path}.messages.${locale}`) : {}
    if (builtIn === undefined) {
      // A language grantkit does not ship needs every text: a page half in another language is worse than a clear error now.
      const missing = MESSAGE_KEYS.filter((k) => texts[k] === undefined)
      if (missing.length > 0) {
        const listed = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, … (${missing.length} in all)` : '')
        throw new TypeError(`${path}.messages.${locale}: grantkit has no "${locale}" texts, so every message is needed; missing: ${listed}`)
      }
    }
    catalogues.set(locale, Object.freeze({ ...builtIn, ...texts }) as Catalogue)
  }
  return { theme, locales: Object.freeze(locales), defaultLocale, catalogues }
}
