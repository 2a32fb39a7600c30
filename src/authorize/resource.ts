import { OAuthError } from '../errors.js'
import type { ServerContext } from '../context.js'
import { accessTokenTarget, checkRequestedResources } from '../tokens/resource-indicators.js'
import { Scope } from '../tokens/scope.js'

/**
 * The `resource` values of an authorization request (RFC 8707 §2.1), checked:
 * each an absolute URI without fragment naming a registered resource server.
 * The code flow only records them (the token request picks among them); a
 * response with an access token in it is checked against them now, so that
 * a scope no resource can carry is refused before anyone signs in.
 *
 * @throws OAuthError `invalid_target` (sent to the validated redirect_uri), `invalid_scope`
 * @example
 * const resource = readAuthorizationResources(ctx, ['https://api.example'], 'code', 'openid api:read')
 */
export function readAuthorizationResources(ctx: ServerContext, values: readonly string[], responseType: string, scope: string): string[] {
  const resources = checkRequestedResources(ctx.resourceServers, values)
  // RFC 8707 §2: invalid_target covers a "missing" resource; with requireResource every request must name one.
  if (resources.length === 0 && ctx.requireResource) throw new OAuthError('invalid_target', { description: 'resource is required.' })
  if (resources.length > 0 && responseType.split(' ').includes('token')) accessTokenTarget(ctx.resourceServers, resources, Scope.parse(scope), ctx.accessTokenFormat)
  return resources
}
