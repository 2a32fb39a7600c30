import type { ServerContext } from '../context.js'
import type { Feature } from '../features/types.js'
import { FEATURE_STORES } from '../storage/features.js'
import { registrationEndpoint } from './endpoint.js'

/**
 * Dynamic Client Registration (RFC 7591) and its management (RFC 7592). Off
 * unless `registration.enabled`: then it serves nothing (404) and
 * `registration_endpoint` is not in discovery.
 */
export const registrationFeature: Feature = {
  name: 'registration',
  enabled: (ctx) => (ctx as ServerContext).registration.enabled,
  endpoints: [
    {
      name: 'registration',
      path: '/register',
      // `/register/<client_id>` is each client's registration_client_uri (RFC 7592 §3).
      prefix: true,
      methods: ['POST', 'GET', 'PUT', 'DELETE'],
      errors: 'json',
      handle: (ctx, req) => registrationEndpoint(ctx as ServerContext, req),
    },
  ],
  stores: FEATURE_STORES.storedClients,
  options: ['registration', 'registration.enabled', 'registration.initialAccessToken', 'registration.policy', 'registration.softwareStatement', 'registration.accessTokenTtl'],
  // RFC 8414 §2: registration_endpoint only where registration is open.
  discovery: (ctx) => ({ registration_endpoint: ctx.endpoints.registration }),
}
