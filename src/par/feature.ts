import type { ServerContext } from '../context.js'
import type { Feature } from '../features/types.js'
import { FEATURE_STORES } from '../storage/features.js'
import { pushedAuthorizationRequestEndpoint } from './endpoint.js'

/**
 * Pushed authorization requests (RFC 9126): the endpoint a client pushes an
 * authorization request to, and the `request_uri` the authorization endpoint
 * then accepts once. On whenever the storage has the
 * `pushedAuthorizationRequests` store (every built-in backend does): a
 * request_uri costs nothing until a client pushes one.
 */
export const pushedAuthorizationFeature: Feature = {
  name: 'pushed-authorization-requests',
  enabled: (ctx) => (ctx as ServerContext).storage.pushedAuthorizationRequests !== undefined,
  endpoints: [{ name: 'pushedAuthorizationRequest', path: '/par', methods: ['POST'], errors: 'json', cors: 'client', handle: pushedAuthorizationRequestEndpoint }],
  stores: FEATURE_STORES.pushedAuthorization,
  clientMetadata: ['require_pushed_authorization_requests'],
  options: ['requirePushedAuthorizationRequests', 'ttl.pushedAuthorizationRequest'],
  discovery: (c) => {
    const ctx = c as ServerContext
    return {
      // RFC 9126 §5.
      pushed_authorization_request_endpoint: ctx.endpoints.pushedAuthorizationRequest,
      require_pushed_authorization_requests: ctx.requirePushedAuthorizationRequests,
    }
  },
}
