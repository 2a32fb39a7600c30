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
  'console.title',
  'console.nav.clients',
  'console.nav.people',
  'console.nav.audit',
  'console.signedInAs',
  'console.signOut',
  'console.signIn',
  'console.signedOutTitle',
  'console.signedOut',
  'console.forbiddenTitle',
  'console.forbidden',
  'console.csrfTitle',
  'console.csrf',
  'console.expiredTitle',
  'console.expired',
  'console.signinFailedTitle',
  'console.signinFailed',
  'console.notFound',
  'console.conflict',
  'console.form.errors',
  'console.clients.title',
  'console.clients.none',
  'console.clients.new',
  'console.clients.next',
  'console.clients.configuredNote',
  'console.col.clientId',
  'console.col.name',
  'console.col.grantTypes',
  'console.col.updated',
  'console.col.scope',
  'console.col.expires',
  'console.col.session',
  'console.col.signedIn',
  'console.col.clients',
  'console.col.time',
  'console.col.actor',
  'console.col.action',
  'console.col.target',
  'console.col.outcome',
  'console.field.client_name',
  'console.field.redirect_uris',
  'console.field.post_logout_redirect_uris',
  'console.field.grant_types',
  'console.field.token_endpoint_auth_method',
  'console.field.scope',
  'console.create',
  'console.save',
  'console.saved',
  'console.client.title',
  'console.client.notFound',
  'console.client.hasSecret',
  'console.client.noSecret',
  'console.client.previousSecret',
  'console.client.version',
  'console.rotate.title',
  'console.rotate.overlap',
  'console.rotate.overlapNone',
  'console.rotate.overlapHour',
  'console.rotate.overlapDay',
  'console.rotate.overlapWeek',
  'console.rotate.submit',
  'console.secret.title',
  'console.secret.once',
  'console.secret.label',
  'console.secret.done',
  'console.revokeTokens.title',
  'console.revokeTokens.explain',
  'console.revokeTokens.submit',
  'console.revokeTokens.done',
  'console.delete.title',
  'console.delete.explain',
  'console.delete.submit',
  'console.delete.done',
  'console.people.title',
  'console.people.sub',
  'console.people.show',
  'console.person.title',
  'console.person.consents',
  'console.person.noConsents',
  'console.person.sessions',
  'console.person.noSessions',
  'console.revokeConsent',
  'console.endSession',
  'console.consentRevoked',
  'console.sessionEnded',
  'console.audit.title',
  'console.audit.shared',
  'console.audit.local',
  'console.audit.none',
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
