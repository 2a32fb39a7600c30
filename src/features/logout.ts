import { endSessionConfirmEndpoint, endSessionEndpoint } from '../endpoints/end-session.js'
import type { Feature } from './types.js'

/**
 * OpenID Connect RP-Initiated Logout 1.0 (the end-session endpoint and its
 * confirmation page) and Back-Channel Logout 1.0 (logout tokens posted to the
 * clients of an ended session). Costs nothing while unused: no client
 * metadata, no deliveries.
 */
export const logoutFeature: Feature = {
  name: 'logout',
  endpoints: [
    { name: 'endSession', path: '/session/end', methods: ['GET', 'POST'], errors: 'page', handle: endSessionEndpoint },
    { name: 'endSessionConfirm', path: '/session/end/confirm', methods: ['POST'], errors: 'page', handle: endSessionConfirmEndpoint },
  ],
  stores: ['sessions'],
  clientMetadata: ['post_logout_redirect_uris', 'backchannel_logout_uri', 'backchannel_logout_session_required'],
  options: ['backchannelLogout', 'backchannelLogout.timeout', 'backchannelLogout.maxAttempts', 'backchannelLogout.retryDelay'],
  discovery: (ctx) => ({
    end_session_endpoint: ctx.endpoints.endSession,
    backchannel_logout_supported: true,
    // Back-Channel Logout §2.1: logout tokens (and ID tokens) carry sid.
    backchannel_logout_session_supported: true,
    frontchannel_logout_supported: false,
  }),
}
