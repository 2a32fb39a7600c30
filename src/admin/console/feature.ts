import type { ServerContext } from '../../context.js'
import type { Feature } from '../../features/types.js'
import { FEATURE_STORES } from '../../storage/features.js'
import { adminConsoleEndpoint } from './routes.js'

/**
 * The admin console (docs/admin.md#console): server-rendered pages over the
 * same operations as the admin API, for administrators signed in through
 * this server's own authorization code flow. Off unless
 * `admin.console.enabled`; advertised nowhere.
 */
export const adminConsoleFeature: Feature = {
  name: 'admin-console',
  enabled: (ctx) => (ctx as ServerContext).adminConsole.enabled,
  endpoints: [{ name: 'adminConsole', path: '/admin', prefix: true, methods: ['GET', 'POST'], errors: 'page', handle: adminConsoleEndpoint }],
  stores: [...FEATURE_STORES.authorization, 'clients'],
  options: ['admin.console', 'admin.console.enabled', 'admin.console.path', 'admin.console.idleTimeout', 'admin.console.absoluteTimeout', 'admin.console.auditEvents'],
}
