import { prepareClient, type Client } from '../../clients/metadata.js'
import type { ClientRegistry } from '../../clients/registry.js'

/**
 * The client id of the admin console: the server's own internal client,
 * answered by the registry before any configured or stored client.
 */
export const CONSOLE_CLIENT_ID = 'grantkit-console'

/** The console's callback, below its base path: where the authorization endpoint sends the code. */
export const CALLBACK_PATH = '/callback'

/** The scope the console asks for: sign-in only. */
export const CONSOLE_SCOPE = 'openid'

/**
 * The console as a client of its own server: public (it redeems its codes in
 * process, with PKCE S256, RFC 7636 §4.2), the authorization code grant only,
 * one exact redirect URI on the console's own callback (RFC 9700 §2.1).
 *
 * @param callbackUrl the absolute URL of the console's callback
 */
export function consoleClient(callbackUrl: string): Client {
  // The callback shares the issuer's origin: an http one was accepted for the issuer already (loopback, or allowHttpIssuer).
  return prepareClient(
    {
      client_id: CONSOLE_CLIENT_ID,
      client_name: 'grantkit admin console',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [callbackUrl],
      scope: CONSOLE_SCOPE,
    },
    'admin.console',
    { allowHttpRedirectUris: true },
  )
}

/**
 * `registry` with the console's client in front of it. The id is reserved:
 * a configured client of that id is a TypeError, and a stored one is never
 * reached.
 */
export function withConsoleClient(registry: ClientRegistry, client: Client, configured: ClientRegistry = registry): ClientRegistry {
  if (configured.list !== undefined) {
    for (const c of configured.list()) if (c.id === CONSOLE_CLIENT_ID) throw new TypeError(`clients: "${CONSOLE_CLIENT_ID}" is the admin console's own client id; use another`)
  }
  const list = registry.list
  const overlay: ClientRegistry = {
    find: (clientId) => (clientId === CONSOLE_CLIENT_ID ? client : registry.find(clientId)),
    ...(list !== undefined && { list: () => [client, ...list.call(registry)] }),
    ...(registry.reload !== undefined && { reload: (clientId: string) => (clientId === CONSOLE_CLIENT_ID ? undefined : registry.reload!(clientId)) }),
    ...(registry.allowsOrigin !== undefined && { allowsOrigin: (origin: string) => registry.allowsOrigin!(origin) }),
  }
  return overlay
}
