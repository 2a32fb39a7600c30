import type { AuthenticatedClient } from '../clients/authenticate.js'
import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import type { FormParams } from '../http/form.js'
import type { GrantkitRequest } from '../http/types.js'

/** The successful token response of RFC 6749 §5.1 (and OIDC Core §3.1.3.3). */
export interface TokenResponseBody {
  access_token: string
  token_type: 'Bearer' | 'N_A' | string
  expires_in?: number
  scope?: string
  refresh_token?: string
  id_token?: string
  issued_token_type?: string
  [extension: string]: unknown
}

/** What a grant handler gets: the allow-listed parameters and the authenticated client. */
export interface GrantContext {
  readonly server: ServerContext
  readonly request: GrantkitRequest
  /** Only the parameters on the grant's allow-list, plus `grant_type` and `scope`. */
  readonly params: FormParams
  readonly client: Client
  readonly clientAuthMethod: AuthenticatedClient['method']
}

/**
 * A grant type at the token endpoint. Built-in grants and an embedder's own are
 * registered the same way: `grants: [...defaultGrants, myGrant]`.
 *
 * @example
 * const tokenExchange: GrantHandler = {
 *   grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
 *   parameters: ['subject_token', 'subject_token_type'],
 *   clientAuth: 'required',
 *   async handle(ctx) { return issueTokens(ctx, { sub: '…', scope: '' }) },
 * }
 */
export interface GrantHandler {
  /** The `grant_type` value: a name from RFC 6749 or an absolute URI (RFC 6749 §4.5). */
  readonly grantType: string
  /** Parameters this grant reads besides grant_type, scope and client authentication. Others are dropped. */
  readonly parameters: readonly string[]
  /**
   * `required`: only confidential clients (public ones get unauthorized_client).
   * `optional`: public clients may use it, identifying themselves with client_id.
   */
  readonly clientAuth: 'required' | 'optional'
  /** Checks the request and issues tokens, or throws an OAuthError. */
  handle(ctx: GrantContext): Promise<TokenResponseBody>
}
