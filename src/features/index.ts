import { authorizationFeature } from '../endpoints/authorization.js'
import { discoveryFeature } from '../endpoints/discovery.js'
import { introspectionFeature } from '../endpoints/introspection.js'
import { jwksFeature } from '../endpoints/jwks.js'
import { revocationFeature } from '../endpoints/revocation.js'
import { tokenFeature } from '../endpoints/token.js'
import { userinfoFeature } from '../endpoints/userinfo.js'
import { deviceFlowFeature } from './device-flow.js'
import { interactionPagesFeature } from './interaction-pages.js'
import { logoutFeature } from './logout.js'
import { adminFeature } from './admin.js'
import { adminConsoleFeature } from '../admin/console/feature.js'
import { registrationFeature } from '../registration/feature.js'
import { clientIdMetadataFeature } from './client-id-metadata.js'
import { pushedAuthorizationFeature } from '../par/feature.js'
import { requestObjectFeature } from '../jar/feature.js'
import { dpopFeature } from '../dpop/feature.js'
import type { Feature } from './types.js'

/**
 * The built-in features, in the order their fields appear in discovery. Pass
 * `features: [...defaultFeatures, mine]` to add an endpoint of your own; leave
 * one out to switch it off.
 */
export const defaultFeatures: readonly Feature[] = [
  authorizationFeature,
  pushedAuthorizationFeature,
  requestObjectFeature,
  tokenFeature,
  dpopFeature,
  userinfoFeature,
  jwksFeature,
  revocationFeature,
  introspectionFeature,
  deviceFlowFeature,
  interactionPagesFeature,
  logoutFeature,
  adminFeature,
  adminConsoleFeature,
  registrationFeature,
  clientIdMetadataFeature,
  discoveryFeature,
]

export {
  authorizationFeature,
  pushedAuthorizationFeature,
  requestObjectFeature,
  tokenFeature,
  dpopFeature,
  userinfoFeature,
  jwksFeature,
  revocationFeature,
  introspectionFeature,
  deviceFlowFeature,
  interactionPagesFeature,
  logoutFeature,
  adminFeature,
  adminConsoleFeature,
  registrationFeature,
  clientIdMetadataFeature,
  discoveryFeature,
}
export type { Feature, Endpoint, ErrorStyle } from './types.js'
export type { EndpointContext } from './context.js'
