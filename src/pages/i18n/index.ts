import { de } from './de.js'
import { en } from './en.js'
import type { Catalogue } from './keys.js'

/** The languages grantkit ships, by BCP 47 tag. Each is a complete `Catalogue`. */
export const BUILT_IN_CATALOGUES: Readonly<Record<string, Catalogue>> = Object.freeze({ en, de })

/**
 * The built-in catalogue for a locale: its own, else that of its language
 * with subtags removed from the end (RFC 4647 §3.4: `de-CH` speaks `de`).
 *
 * @example
 * builtInCatalogue('de-AT') === BUILT_IN_CATALOGUES.de // true
 */
export function builtInCatalogue(locale: string): Catalogue | undefined {
  for (let tag = locale.toLowerCase(); tag !== ''; tag = tag.slice(0, Math.max(0, tag.lastIndexOf('-')))) {
    // Own properties only: a locale named "toString" must not find Object.prototype's.
    if (Object.hasOwn(BUILT_IN_CATALOGUES, tag)) return BUILT_IN_CATALOGUES[tag]
  }
  return undefined
}

export { MESSAGE_KEYS, isMessageKey, placeholdersOf, type Catalogue, type MessageKey } from './keys.js'
