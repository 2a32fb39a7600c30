import type { ServerContext } from '../context.js'
import { deviceAuthorizationEndpoint } from '../endpoints/device-authorization.js'
import { deviceVerificationEndpoint } from '../endpoints/device-verification.js'
import { DEVICE_CODE_GRANT } from '../grants/device-code.js'
import { FEATURE_STORES } from '../storage/features.js'
import type { Feature } from './types.js'

/**
 * The device authorization grant (RFC 8628): the endpoint a device asks for
 * codes (§3.1) and the verification page a person enters the user code on
 * (§3.3). On only when the device_code grant is registered; the grant itself
 * is in `grants/device-code.ts`.
 */
export const deviceFlowFeature: Feature = {
  name: 'device-flow',
  enabled: (ctx) => (ctx as ServerContext).grants.has(DEVICE_CODE_GRANT),
  endpoints: [
    { name: 'deviceAuthorization', path: '/device_authorization', methods: ['POST'], errors: 'json', cors: 'client', handle: deviceAuthorizationEndpoint },
    { name: 'deviceVerification', path: '/device', methods: ['GET', 'POST'], errors: 'page', handle: deviceVerificationEndpoint },
  ],
  stores: FEATURE_STORES.deviceFlow,
  options: ['deviceFlow', 'deviceFlow.addressWindow', 'deviceFlow.attemptWindow', 'deviceFlow.interval', 'deviceFlow.maxAttempts', 'deviceFlow.maxAttemptsPerAddress', 'ttl.deviceCode'],
  // RFC 8628 §4: advertised only when the grant is enabled.
  discovery: (ctx) => ({ device_authorization_endpoint: ctx.endpoints.deviceAuthorization }),
}
