import type { AuthorizationServerOptions } from '../config/options.js'
import type { ClientIdMetadataPolicy } from '../clients/metadata-document.js'
import type { ResourceServerOptions } from '../tokens/resource-indicators.js'
import type { RegistrationOptions } from '../registration/options.js'

/** What {@link mcpProfile} needs to know: the MCP servers and how clients may appear. */
export interface McpProfileOptions {
  /**
   * The MCP servers this authorization server issues tokens for, each by its
   * canonical URI (the URL clients connect to, e.g. `https://mcp.example.com/mcp`),
   * with the scopes its tools understand. Tokens carry it as `aud`; the MCP
   * server's resource protector refuses any other.
   */
  servers: readonly ResourceServerOptions[]
  /**
   * Client ID Metadata Documents, the MCP specification's first way for a
   * client to appear (the authorization server SHOULD support them). On by
   * default; narrow it with `allowedHosts` or a `policy`, or pass `false`.
   */
  clientIdMetadataDocuments?: false | { allowedHosts?: readonly string[]; policy?: ClientIdMetadataPolicy }
  /**
   * Dynamic Client Registration (RFC 7591) for clients older than CIMD. Off by
   * default; `true` opens it to anyone, or pass the `registration` options
   * (an `initialAccessToken`, a `policy`).
   */
  registration?: boolean | Omit<RegistrationOptions, 'enabled'>
}

/** The options {@link mcpProfile} sets: spread them into `createAuthorizationServer`. */
export type McpProfile = Required<Pick<AuthorizationServerOptions, 'pkce' | 'requireResource' | 'resourceServers' | 'clientIdMetadataDocuments' | 'registration'>>

/**
 * Options that make this server an authorization server of the MCP
 * authorization specification (revision 2026-07-28): PKCE with `S256` for
 * every client, a `resource` naming the MCP server in every authorization and
 * token request (one without is `invalid_target`), tokens whose `aud` is that
 * MCP server, Client ID Metadata Documents on and, if asked for, Dynamic
 * Client Registration. Discovery then publishes
 * `code_challenge_methods_supported: ["S256"]`,
 * `client_id_metadata_document_supported: true` and, with registration,
 * `registration_endpoint`.
 *
 * The result is plain options: spread it first and add your own after it
 * (an option given after it replaces the profile's). See docs/mcp.md.
 *
 * @throws TypeError when `servers` is empty (checked again, entry by entry, by `createAuthorizationServer`)
 * @example
 * const server = createAuthorizationServer({
 *   issuer: 'https://auth.example.com',
 *   clients: [],
 *   users,
 *   ...mcpProfile({ servers: [{ resource: 'https://mcp.example.com/mcp', scopes: ['notes:read'] }], registration: true }),
 * })
 */
export function mcpProfile(options: McpProfileOptions): McpProfile {
  if (!Array.isArray(options?.servers) || options.servers.length === 0) {
    throw new TypeError('mcpProfile: servers must list at least one MCP server ({ resource, scopes })')
  }
  const cimd = options.clientIdMetadataDocuments
  const registration = options.registration
  return {
    // MCP authorization §"Authorization Code Protection": PKCE, S256 (OAuth 2.1 §4.1.1), for every client, plain refused.
    pkce: { required: 'all', allowPlain: false },
    // MCP authorization §"Resource Parameter Implementation": clients MUST send resource (RFC 8707) in both requests.
    requireResource: true,
    resourceServers: options.servers,
    clientIdMetadataDocuments: cimd === false ? { enabled: false } : { enabled: true, ...cimd },
    registration: registration === undefined || registration === false ? { enabled: false } : registration === true ? { enabled: true } : { ...registration, enabled: true },
  }
}
