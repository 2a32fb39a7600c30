import { adminApiEndpoint } from '../admin/api.js'
import type { ServerContext } from '../context.js'
import type { Feature } from './types.js'

/**
 * The admin API (docs/admin.md): clients, a person's sessions and consents,
 * bulk revocation, for callers with an access token of this server carrying
 * the admin scope. Off unless `admin.enabled`; advertised nowhere.
 */
export const adminFeature: Feature = {
  name: 'admin',
  enabled: (ctx) => (ctx as ServerContext).admin.enabled,
  endpoints: [{ name: 'adminApi', path: '/admin/api', prefix: true, methods: ['GET', 'POST', 'PUT', 'DELETE'], errors: 'json', handle: adminApiEndpoint }],
  stores: ['clients', 'sessions', 'consents'],
  options: ['admin', 'admin.enabled', 'admin.scope', 'admin.path'],
}
