import { createHash } from 'node:crypto'
import { refuseUnknownNames } from '../config/did-you-mean.js'
import { isCssColor } from './css-color.js'
import { DEFAULT_COLORS, stylesheet, type ColorName } from './style.js'

/** A theme for the built-in pages, as given in the options. */
export interface PageThemeOptions {
  /** The product's name: shown above each page and in its title. */
  name?: string
  /** The logo: an https URL, or a path on the issuer's origin (`/assets/logo.svg`). */
  logoUrl?: string
  /** CSS colour values: hex, `rgb()`, `hsl()` or a named colour. */
  colors?: Partial<Record<ColorName, string>>
  /** Extra CSS, added after the built-in rules (it may override them). */
  css?: string
}

/** A checked theme, ready to render: the style element's text and the CSP that admits exactly it. */
export interface PageTheme {
  readonly name: string | undefined
  /** The logo as written into `<img src>`. */
  readonly logoUrl: string | undefined
  /** The text of the pages' one `<style>` element. */
  readonly style: string
  /** The Content-Security-Policy of every page. */
  readonly csp: string
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Largest theme CSS accepted, in characters: it is sent with every page. */
export const MAX_THEME_CSS = 65_536

/**
 * The logo's URL and the CSP source expression that admits it. CSP source
 * expressions (CSP3 §2.3.1) are separated by spaces and directives by `;`:
 * a URL with either, or with `,` or a quote, could add sources of its own, so
 * it is refused rather than encoded.
 */
function checkLogoUrl(value: unknown, path: string, issuer: string): { src: string; source: string | undefined } {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${path}: must be an https URL or a path starting with "/"`)
  if (value.startsWith('/') && !value.startsWith('//')) {
    const url = new URL(value, issuer)
    if (/[\s;,'"\\]/.test(value)) throw new TypeError(`${path}: must not contain spaces, quotes, ";" or "," (it goes into the pages' Content-Security-Policy)`)
    // 'self' in img-src already admits a same-origin path.
    return { src: url.pathname + url.search, source: undefined }
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new TypeError(`${path}: must be an https URL or a path starting with "/"`)
  }
  if (url.protocol !== 'https:') throw new TypeError(`${path}: must be an https URL or a path starting with "/" (a page served over https must not load http content)`)
  if (url.username !== '' || url.password !== '') throw new TypeError(`${path}: must not carry a user name or password`)
  if (url.hash !== '') throw new TypeError(`${path}: must not have a fragment`)
  if (/[\s;,'"\\]/.test(url.href)) throw new TypeError(`${path}: must not contain spaces, quotes, ";" or "," (it goes into the pages' Content-Security-Policy)`)
  // CSP3 §6.7.2.9: a source with a path matches that exact path; the query is not part of a source expression.
  return { src: url.href, source: url.origin + url.pathname }
}

/** URLs a stylesheet may fetch: `@import` and `url()`, quoted or not. */
const IMPORT = /@import\s+(?:url\(\s*)?(["']?)([^"')\s;]*)\1/gi
const URL_FUNCTION = /url\(\s*(["']?)([^"')\s]*)\1\s*\)/gi

/**
 * Refuses theme CSS that could escape its `<style>` element or pull in
 * another origin. SECURITY: the CSP (style-src by hash) is what stops a
 * stylesheet from loading what it should not; these checks give a clear
 * error at construction instead of a page that silently renders differently.
 */
function checkCss(value: unknown, path: string, issuer: string): { css: string; importsSelf: boolean; fetches: boolean } {
  if (typeof value !== 'string') throw new TypeError(`${path}: must be a string of CSS`)
  if (value.length > MAX_THEME_CSS) throw new TypeError(`${path}: must be at most ${MAX_THEME_CSS} characters (it is sent with every page)`)
  // HTML §13.2.5.2: "</style" ends the raw text of a style element wherever it appears; what follows would be read as HTML.
  if (/<\/style/i.test(value)) throw new TypeError(`${path}: must not contain "</style" (it would end the style element and the rest would be read as HTML)`)
  // CSS Syntax §4.3.11: escapes are decoded in at-keywords, so "@\\69mport" is an @import this check could not see.
  if (/@[^\s{;]*\\/.test(value)) throw new TypeError(`${path}: must not escape characters in at-rule names`)
  const origin = new URL(issuer).origin
  let importsSelf = false
  let fetches = false
  const sameOrigin = (ref: string): boolean => {
    if (ref.startsWith('data:')) return true
    try {
      return new URL(ref, issuer).origin === origin
    } catch {
      return false
    }
  }
  const imports = [...value.matchAll(IMPORT)]
  if (imports.length !== (value.match(/@import/gi) ?? []).length) throw new TypeError(`${path}: write each @import as @import "path" or @import url(path), so that where it loads from can be checked`)
  for (const m of imports) {
    // The pages' CSP admits stylesheets from the issuer's origin only: another origin's would be blocked by the browser, and it could restyle the login form at will.
    if (!sameOrigin(m[2]!) || m[2]!.startsWith('data:')) throw new TypeError(`${path}: @import of "${m[2]!.slice(0, 80)}" is refused: the pages' Content-Security-Policy admits stylesheets from the issuer's origin only`)
    importsSelf = true
  }
  for (const m of value.matchAll(URL_FUNCTION)) {
    if (!sameOrigin(m[2]!)) throw new TypeError(`${path}: url() of another origin ("${m[2]!.slice(0, 80)}") is refused: the pages' Content-Security-Policy admits images and fonts from the issuer's origin and data: URLs only`)
    fetches = true
  }
  return { css: value, importsSelf, fetches }
}

function checkColors(value: unknown, path: string): Record<ColorName, string> {
  if (!isRecord(value)) throw new TypeError(`${path}: must be an object of CSS colours`)
  refuseUnknownNames(value, Object.keys(DEFAULT_COLORS), path, 'colour')
  const colors: Record<ColorName, string> = { ...DEFAULT_COLORS }
  for (const [name, color] of Object.entries(value)) {
    if (color === undefined) continue
    if (!isCssColor(color)) throw new TypeError(`${path}.${name}: must be a CSS colour: #rgb, #rrggbb, rgb(…), hsl(…) of numbers, or a colour name`)
    colors[name as ColorName] = color
  }
  return colors
}

/** Field names of a theme, checked as a config file is read. */
export function themeShape(value: unknown, path: string, noun = 'option'): void {
  if (!isRecord(value)) throw new TypeError(`${path}: must be an object`)
  refuseUnknownNames(value, ['name', 'logoUrl', 'colors', 'css'], path, noun)
  if (value.colors !== undefined) {
    if (!isRecord(value.colors)) throw new TypeError(`${path}.colors: must be an object of CSS colours`)
    refuseUnknownNames(value.colors, Object.keys(DEFAULT_COLORS), `${path}.colors`, 'colour')
  }
}

/**
 * Checks a theme and builds what every page uses: the style element's text
 * and a Content-Security-Policy that admits that style by its SHA-256 hash
 * (CSP3 §8.3), never `'unsafe-inline'`, and the logo by its exact URL.
 *
 * @param issuer the server's issuer: "same origin" means its origin
 * @throws TypeError naming the field: `pages.theme.colors.primary: must be a CSS colour …`
 * @example
 * buildTheme({ name: 'Acme', colors: { primary: '#0a7' } }, 'pages.theme', 'https://as.example').csp
 */
export function buildTheme(value: unknown, path: string, issuer: string): PageTheme {
  const given = value === undefined ? {} : value
  themeShape(given, path)
  const theme = given as Record<string, unknown>
  let name: string | undefined
  if (theme.name !== undefined) {
    if (typeof theme.name !== 'string' || theme.name.trim() === '' || theme.name.length > 100) throw new TypeError(`${path}.name: must be a non-empty string of at most 100 characters`)
    name = theme.name
  }
  const logo = theme.logoUrl === undefined ? undefined : checkLogoUrl(theme.logoUrl, `${path}.logoUrl`, issuer)
  const colors = theme.colors === undefined ? { ...DEFAULT_COLORS } : checkColors(theme.colors, `${path}.colors`)
  const css = theme.css === undefined ? { css: '', importsSelf: false, fetches: false } : checkCss(theme.css, `${path}.css`, issuer)
  const style = stylesheet(colors, css.css)
  const hash = createHash('sha256').update(style, 'utf8').digest('base64')
  const styleSrc = [`'sha256-${hash}'`, ...(css.importsSelf ? ["'self'"] : [])].join(' ')
  const imgSrc = ["'self'", 'data:', ...(logo?.source !== undefined ? [logo.source] : [])].join(' ')
  const directives = [`default-src 'none'`, `style-src ${styleSrc}`, `img-src ${imgSrc}`]
  if (css.fetches) directives.push(`font-src 'self' data:`)
  directives.push(`frame-ancestors 'none'`, `base-uri 'none'`)
  return { name, logoUrl: logo?.src, style, csp: directives.join('; ') }
}
