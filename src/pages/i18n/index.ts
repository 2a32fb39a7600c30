import { de } from './de.js'
import { en } from './en.js'
import type { Catalogue } from './keys.js'

/** The languages grantkit ships, by BCP 47 tag. Each is a complete `Catalogue`. */
export const BUILT_IN_CATALOGUES: Readonly<Record<string, Catalogue>> = Object.freeze({ en, de })

export { MESSAGE_KEYS, isMessageKey, placeholdersOf, type Catalogue, type MessageKey } from './keys.js'
