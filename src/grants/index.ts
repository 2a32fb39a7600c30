import { authorizationCode } from './authorization-code.js'
import { clientCredentials } from './client-credentials.js'
import { deviceCode } from './device-code.js'
import { jwtBearer } from './jwt-bearer.js'
import { password } from './password.js'
import { refreshToken } from './refresh-token.js'
import { saml2Bearer } from './saml2-bearer.js'
import { tokenExchange } from './token-exchange.js'
import type { GrantHandler } from './types.js'

/**
 * The built-in grants. Pass `grants: [...defaultGrants, myGrant]` to add one of
 * your own; leave one out to disable it.
 */
export const defaultGrants: readonly GrantHandler[] = [authorizationCode, clientCredentials, refreshToken, password, deviceCode, jwtBearer, saml2Bearer, tokenExchange]

export { authorizationCode, clientCredentials, refreshToken, password, deviceCode, jwtBearer, saml2Bearer, tokenExchange }
export type { GrantContext, GrantHandler, TokenResponseBody } from './types.js'
