/**
 * Every text of the built-in pages, by key. A catalogue is a `Catalogue`: a
 * language that misses a key, or has one too many, does not compile, and the
 * catalogue test fails too.
 *
 * Texts are plain text: the pages escape them. `{name}` is a placeholder the
 * page fills in (the client's name, an error code); a translation may move it
 * but must keep exactly the placeholders of the English text.
 *
 * @example
 * const fr = Object.fromEntries(MESSAGE_KEYS.map((key) => [key, translate(key)])) as Catalogue
 */
export const MESSAGE_KEYS = [
  'login.title',
  'login.continueTo',
  'login.username',
  'login.password',
  'login.submit',
  'login.missing',
  'login.wrong',
  'login.throttled',
  'login.busy',
  'consent.title',
  'consent.asks',
  'consent.asksAccount',
  'consent.host',
  'consent.nothing',
  'consent.allow',
  'consent.deny',
  'scope.openid',
  'scope.profile',
  'scope.email',
  'scope.address',
  'scope.phone',
  'scope.offline_access',
  'device.title',
  'device.intro',
  'device.code',
  'device.submit',
  'device.invalidCode',
  'device.formExpired',
  'device.formExpiredReload',
  'device.throttled',
  'device.connectedTitle',
  'device.connected',
  'device.deniedTitle',
  'device.denied',
  'device.codeUsed',
  'error.title',
  'error.heading',
  'error.generic',
  'error.code',
  'error.back',
  'error.expired',
  'error.formExpired',
  'error.noSuchPage',
  'error.formTooLarge',
  'error.notAForm',
  'error.formUnreadable',
  'error.clientGone',
  'error.unavailable',
  'error.server',
  'logout.title',
  'logout.asks',
  'logout.signedInAs',
  'logout.submit',
  'logout.notYou',
  'logout.doneTitle',
  'logout.doneBody',
] as const

/** The name of one text of the pages. */
export type MessageKey = (typeof MESSAGE_KEYS)[number]

/** Every text of the pages in one language. */
export type Catalogue = { readonly [K in MessageKey]: string }

const KEY_SET: ReadonlySet<string> = new Set(MESSAGE_KEYS)

/** Whether `name` is a key of the catalogue. */
export const isMessageKey = (name: string): name is MessageKey => KEY_SET.has(name)

const PLACEHOLDER = /\{([A-Za-z]+)\}/g

/**
 * The placeholders a text uses, sorted: `{client} asks…` → `['client']`.
 *
 * @example
 * placeholdersOf('{client} asks for access ({account})') // ['account', 'client']
 */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!))].sort()
}
