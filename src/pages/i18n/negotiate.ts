/**
 * Choosing the language of a page: the client's `ui_locales` first (OIDC Core
 * §3.1.2.1), then the browser's `Accept-Language` (RFC 9110 §12.5.4), then
 * the server's default.
 */

/** A well-formed BCP 47 language tag, as far as matching needs: letters, then subtags of letters and digits (RFC 5646 §2.1). */
const TAG = /^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/
/** RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ). */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/
/** More ranges than any browser sends; the rest of a longer header is ignored, so its cost stays bounded. */
const MAX_RANGES = 32
/** More tags than any client sends in ui_locales. */
const MAX_UI_LOCALES = 16

/** Whether `tag` is a language tag grantkit can match (RFC 5646 §2.1 syntax, letters and digits). */
export const isLanguageTag = (tag: string): boolean => tag.length <= 64 && TAG.test(tag)

/** One language range of Accept-Language with its weight. */
export interface LanguageRange {
  /** Lower-cased range: a tag or `*`. */
  range: string
  /** 0 to 1; 0 means "not acceptable" (RFC 9110 §12.4.2). */
  q: number
}

/**
 * The language ranges of an `Accept-Language` value (RFC 9110 §12.5.4), most
 * preferred first; equal weights keep the order sent. Malformed members are
 * skipped rather than failing the page: the header is a preference.
 *
 * @example
 * parseAcceptLanguage('de-CH, de;q=0.9, en;q=0.5') // [{ range: 'de-ch', q: 1 }, { range: 'de', q: 0.9 }, { range: 'en', q: 0.5 }]
 */
export function parseAcceptLanguage(header: string | undefined): LanguageRange[] {
  if (header === undefined) return []
  const ranges: LanguageRange[] = []
  for (const member of header.split(',').slice(0, MAX_RANGES)) {
    const [rawRange, ...params] = member.split(';').map((p) => p.trim())
    if (rawRange === undefined || (rawRange !== '*' && !isLanguageTag(rawRange))) continue
    let q = 1
    let valid = true
    for (const param of params) {
      const eq = param.indexOf('=')
      if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== 'q') continue
      const value = param.slice(eq + 1).trim()
      if (!QVALUE.test(value)) valid = false
      else q = Number(value)
    }
    if (valid) ranges.push({ range: rawRange.toLowerCase(), q })
  }
  // Array.prototype.sort is stable: equal weights keep the sender's order.
  return ranges.sort((a, b) => b.q - a.q)
}

/**
 * The tags of a `ui_locales` value (OIDC Core §3.1.2.1: space-separated,
 * most preferred first). Malformed tags are dropped: the parameter is a hint
 * and an unsupported or odd value must not fail the request.
 *
 * @example
 * parseUiLocales('fr-CA fr en') // ['fr-CA', 'fr', 'en']
 */
export function parseUiLocales(value: string | undefined): string[] {
  if (value === undefined) return []
  return value.split(' ').filter((t) => t !== '' && isLanguageTag(t)).slice(0, MAX_UI_LOCALES)
}

/**
 * The supported locale a tag or range names, or undefined: the exact tag,
 * else the tag with subtags removed from the end (RFC 4647 §3.4 lookup,
 * `de-CH` → `de`), else a supported tag that the range is a prefix of
 * (RFC 4647 §3.3.1 basic filtering, `de` → `de-AT`). Case does not matter.
 */
function matchTag(tag: string, supported: readonly string[], excluded: ReadonlySet<string>): string | undefined {
  const lower = tag.toLowerCase()
  const usable = supported.filter((s) => !excluded.has(s.toLowerCase()))
  for (let candidate = lower; candidate !== ''; candidate = candidate.slice(0, Math.max(0, candidate.lastIndexOf('-')))) {
    const hit = usable.find((s) => s.toLowerCase() === candidate)
    if (hit !== undefined) return hit
  }
  return usable.find((s) => s.toLowerCase().startsWith(`${lower}-`))
}

/** RFC 4647 §3.3.1 basic filtering: the range equals the tag or is a prefix of it ending at a "-". */
function filters(range: string, tag: string): boolean {
  const t = tag.toLowerCase()
  return t === range || t.startsWith(`${range}-`)
}

/** What `negotiateLocale` chooses between. */
export interface LocaleChoice {
  /** Supported locales, as configured (the first spelling wins). */
  readonly supported: readonly string[]
  /** The locale when nothing else matches; one of `supported`. */
  readonly defaultLocale: string
}

/**
 * The language of a page. `ui_locales` wins when one of its tags is
 * supported; then Accept-Language by weight, where `q=0` rules a language out
 * and `*` stands for any language not named (the default first); then the
 * default.
 *
 * @param uiLocales the tags of the request's `ui_locales`, most preferred first
 * @param acceptLanguage the `Accept-Language` header, if any
 * @example
 * negotiateLocale({ supported: ['en', 'de'], defaultLocale: 'en' }, [], 'de-CH;q=0.9, en;q=0.5') // 'de'
 */
export function negotiateLocale(choice: LocaleChoice, uiLocales: readonly string[], acceptLanguage: string | undefined): string {
  const none = new Set<string>()
  for (const tag of uiLocales) {
    const hit = matchTag(tag, choice.supported, none)
    if (hit !== undefined) return hit
  }
  const ranges = parseAcceptLanguage(acceptLanguage)
  // RFC 9110 §12.4.2: a weight of 0 means "not acceptable"; such a language is chosen by no other range.
  const refused = new Set(choice.supported.filter((s) => ranges.some((r) => r.q === 0 && r.range !== '*' && filters(r.range, s))).map((s) => s.toLowerCase()))
  for (const { range, q } of ranges) {
    if (q === 0) continue
    if (range === '*') {
      // RFC 4647 §3.3.1: "*" stands for the languages no other range names; the default is the natural pick among them.
      const any = [choice.defaultLocale, ...choice.supported].find((s) => !refused.has(s.toLowerCase()) && !ranges.some((r) => r.range !== '*' && filters(r.range, s)))
      if (any !== undefined) return any
      continue
    }
    const hit = matchTag(range, choice.supported, refused)
    if (hit !== undefined) return hit
  }
  return choice.defaultLocale
}
