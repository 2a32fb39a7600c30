import { clientCredentials } from './client-credentials.js'
import type { GrantHandler } from './types.js'

/**
 * The built-in grants. Pass `grants: [...defaultGrants, myGrant]` to add one of
 * your own; leave one out to disable it.
 */
export const defaultGrants: readonly GrantHandler[] = [clientCredentials]

export { clientCredentials }
export type { GrantContext, GrantHandler, TokenResponseBody } from './types.js'
