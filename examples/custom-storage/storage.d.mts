import type { Storage } from '../../src/index.js'

/** The example's storage: every store in one Map of JSON text. */
export function createJsonStorage(options?: {
  /** Clock in seconds since the epoch. Default: the system clock. */
  now?: () => number
}): Storage & { readonly size: number }
