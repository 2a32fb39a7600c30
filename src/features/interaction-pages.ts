import type { ServerContext } from '../context.js'
import { interactionPagesEndpoint } from '../endpoints/interaction-pages.js'
import { FEATURE_STORES } from '../storage/features.js'
import type { Feature } from './types.js'

/**
 * The built-in login and consent pages at `{interaction}/{uid}`. Off when the
 * embedder brings its own UI (`interaction.url`), whose languages grantkit
 * does not know: then `ui_locales_supported` is not advertised either.
 */
export const interactionPagesFeature: Feature = {
  name: 'interaction-pages',
  enabled: (ctx) => (ctx as ServerContext).builtInPages,
  endpoints: [{ name: 'interaction', path: '/interaction', prefix: true, methods: ['GET', 'POST'], errors: 'page', handle: interactionPagesEndpoint }],
  stores: [...FEATURE_STORES.authorization, ...FEATURE_STORES.throttling],
  // OIDC Discovery §3: languages the pages can be shown in (the ui_locales values honoured).
  discovery: (ctx) => ({ ui_locales_supported: [...(ctx as ServerContext).pages.locales] }),
}
