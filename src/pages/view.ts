import type { ServerContext } from '../context.js'
import type { GrantkitRequest } from '../http/types.js'
import { escapeHtml } from './escape.js'
import type { Catalogue, MessageKey } from './i18n/index.js'
import { negotiateLocale, parseUiLocales } from './i18n/negotiate.js'
import type { PageSettings } from './settings.js'
import type { PageTheme } from './theme.js'

/** One page's language and look: what every page function renders with. */
export interface PageView {
  /** The negotiated language, a BCP 47 tag for `<html lang>`. */
  readonly lang: string
  readonly theme: PageTheme
  /**
   * A text as HTML: the catalogue's text escaped, each `{name}` replaced by
   * `html[name]`, which the caller has escaped already.
   */
  t(key: MessageKey, html?: Readonly<Record<string, string>>): string
  /** Headers every page in this language carries (`Vary`). */
  readonly headers: Readonly<Record<string, string>>
}

const PLACEHOLDER = /\{([A-Za-z]+)\}/g

/** A view that renders `catalogue`'s texts. */
function translator(catalogue: Catalogue): PageView['t'] {
  return (key, html = {}) => escapeHtml(catalogue[key]).replace(PLACEHOLDER, (_, name: string) => html[name] ?? '')
}

/**
 * The view of a page for a request: the language from `ui_locales` (when
 * the interaction carried it), else `Accept-Language`, else the default.
 *
 * @param uiLocales the tags of the authorization request's `ui_locales` (OIDC Core §3.1.2.1)
 * @example
 * const view = pageView(ctx.pages, req.headers['accept-language'], details.uiLocales ?? [])
 * view.t('consent.allow') // 'Allow' or 'Erlauben'
 */
export function pageView(settings: PageSettings, acceptLanguage: string | undefined, uiLocales: readonly string[] = []): PageView {
  const lang = negotiateLocale({ supported: settings.locales, defaultLocale: settings.defaultLocale }, uiLocales, acceptLanguage)
  return {
    lang,
    theme: settings.theme,
    t: translator(settings.catalogues.get(lang)!),
    // RFC 9110 §12.5.5: the language depends on Accept-Language whenever there is more than one to choose from.
    headers: settings.locales.length > 1 ? { vary: 'Accept-Language' } : {},
  }
}

/**
 * The view of a page answering `req`. For the authorization endpoint's own
 * error pages, `ui_locales` of the query counts too.
 *
 * @example
 * errorPage(requestView(ctx, req), 'invalid_request', 'error.noSuchPage', 404)
 */
export function requestView(ctx: Pick<ServerContext, 'pages'>, req: Pick<GrantkitRequest, 'headers'>, uiLocales: readonly string[] = []): PageView {
  return pageView(ctx.pages, req.headers['accept-language'], uiLocales)
}

/** `ui_locales` of a request's query, as the authorization endpoint's error pages read it. */
export const queryUiLocales = (req: Pick<GrantkitRequest, 'url'>): string[] => parseUiLocales(req.url.searchParams.get('ui_locales') ?? undefined)
