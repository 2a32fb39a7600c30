import type { AuthenticatedClient } from '../clients/authenticate.js'
import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import type { FormParams, FormValues } from '../http/form.js'
import type { GrantkitRequest } from '../http/types.js'
import { issueTokenSet, prepareTokenSet } from '../tokens/issue.js'
import { createRefreshToken, rotateRefreshToken, shouldIssueRefreshToken } from '../tokens/refresh-token.js'
import { resolveScope, Scope } from '../tokens/scope.js'
import { validateAccessToken } from '../tokens/validate.js'
import { loginWithPassword } from '../users/login.js'
import type { GrantConfig, GrantContext } from './types.js'

/** The request-specific part of a grant's context. */
export interface GrantRequest {
  request: GrantkitRequest
  grantType: string
  params: FormParams
  values: FormValues
  client: Client
  clientAuthMethod: AuthenticatedClient['method']
}

const NONE: readonly string[] = Object.freeze([])

/**
 * Builds, once per server, what every grant request shares, and returns the
 * function that makes one request's `GrantContext` from it: the capabilities
 * are bound to the server here, not per request, so the hot path allocates
 * one small object.
 */
export function grantContextFactory(server: ServerContext): (r: GrantRequest) => GrantContext {
  const config: GrantConfig = {
    issuer: server.issuer,
    get tokenEndpoint() {
      return server.endpoints.token
    },
    ttl: server.ttl,
    clockSkew: server.clockSkew,
    maxAssertionLifetime: server.maxAssertionLifetime,
  }
  return (r) => {
    const { client } = r
    return {
      request: r.request,
      grantType: r.grantType,
      params: r.params,
      values: (name) => (r.params.has(name) ? (r.values.get(name)?.filter((v) => v !== '') ?? NONE) : NONE),
      client,
      clientAuthMethod: r.clientAuthMethod,
      now: server.now,
      randomId: server.randomId,
      config,
      tokens: {
        issue: (issue) => issueTokenSet(server, client, r.grantType, issue),
        prepare: (issue) => prepareTokenSet(server, client, r.grantType, issue),
        validate: (token) => validateAccessToken(server, token),
      },
      refreshTokens: {
        shouldIssue: (scope) => shouldIssueRefreshToken(client, String(scope)),
        async issue(input) {
          const absoluteExpiresAt = input.absoluteExpiresAt ?? Math.floor(server.now()) + server.ttl.refreshTokenAbsolute
          const created = createRefreshToken(server, { ...input, clientId: client.id, absoluteExpiresAt })
          await server.storage.refreshTokens.save(created.record)
          return created.token
        },
        create: (input) => createRefreshToken(server, { ...input, clientId: client.id }),
        rotate: (presented, next, tokens) => rotateRefreshToken(server.storage, presented, next, tokens.accessTokenRecord),
      },
      scopes: { resolve: (requested) => Scope.parse(resolveScope(server.scopes, client, requested)) },
      once: (namespace, key, until) => {
        // A namespace without ":" keeps "a:b" + "c" apart from "a" + "b:c".
        if (namespace.includes(':')) throw new TypeError(`once: namespace "${namespace}" must not contain ":"`)
        return server.storage.replay.markUsed(`${namespace}:${key}`, until)
      },
      async login(username, password) {
        // No browser here, so no known-device cookie (RFC 6749 §4.3): per account and per address only.
        const result = await loginWithPassword(server, username, password, client.id, { remoteAddress: r.request.remoteAddress })
        return 'account' in result ? result.account : undefined
      },
      users: server.users,
      trust: server.trust,
      storage: server.storage,
      events: server.events,
    }
  }
}
