import type { OAuthError, OAuthErrorCode } from '../errors.js'
import type { GrantkitResponse } from '../http/types.js'
import { escapeHtml } from './escape.js'
import type { MessageKey } from './i18n/index.js'
import { PageError } from './page-error.js'
import type { PageView } from './view.js'

export { escapeHtml } from './escape.js'

/**
 * Headers of every page a person sees: no framing (clickjacking, RFC 9700
 * §4.16), no scripts, no caching of pages that carry CSRF values, no referrer
 * leaking the interaction URL. The Content-Security-Policy comes with the
 * theme: it admits the pages' one style element by its hash.
 */
const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  pragma: 'no-cache',
}

/** The theme's name and logo above the page, when it has either. */
function brand(view: PageView): string {
  const { name, logoUrl } = view.theme
  if (name === undefined && logoUrl === undefined) return ''
  // The logo sits next to the name, so it is decorative (empty alt, WCAG H67): the name is read once.
  const logo = logoUrl === undefined ? '' : `<img src="${escapeHtml(logoUrl)}" alt="">`
  const label = name === undefined ? '' : `<span>${escapeHtml(name)}</span>`
  return `<header class="brand">${logo}${label}</header>\n`
}

/**
 * A complete page around already-escaped HTML, in the view's language and theme.
 *
 * @param titleHtml the page's title, escaped (usually `view.t(…)`)
 * @example
 * page(view, view.t('login.title'), `<h1>${view.t('login.title')}</h1>`)
 */
export function page(view: PageView, titleHtml: string, bodyHtml: string, status = 200, extraHeaders: Record<string, string | string[]> = {}): GrantkitResponse {
  const name = view.theme.name === undefined ? '' : ` · ${escapeHtml(view.theme.name)}`
  const body = `<!doctype html>
<html lang="${escapeHtml(view.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${titleHtml}${name}</title>
<style>${view.theme.style}</style>
</head>
<body>
<main>
${brand(view)}${bodyHtml}
</main>
</body>
</html>
`
  return { status, headers: { ...PAGE_HEADERS, 'content-security-policy': view.theme.csp, ...view.headers, ...extraHeaders }, body }
}

/** The error page's frame around a message that is already HTML. */
function errorFrame(view: PageView, error: OAuthErrorCode, messageHtml: string, status: number, extraHeaders: Record<string, string>): GrantkitResponse {
  return page(
    view,
    view.t('error.title'),
    `<h1>${view.t('error.heading')}</h1>
<p class="error" role="alert">${messageHtml}</p>
<p>${view.t('error.code', { code: `<code>${escapeHtml(error)}</code>` })}</p>
<p>${view.t('error.back')}</p>`,
    status,
    extraHeaders,
  )
}

/**
 * The page shown instead of redirecting when the client or redirect_uri cannot
 * be trusted, or when a step of the pages fails, with a text of the catalogue.
 *
 * @example
 * errorPage(view, 'invalid_request', 'error.expired')
 */
export function errorPage(view: PageView, error: OAuthErrorCode, message: MessageKey, status = 400, extraHeaders: Record<string, string> = {}): GrantkitResponse {
  return errorFrame(view, error, view.t(message), status, extraHeaders)
}

/**
 * The error page of a thrown `OAuthError`: a `PageError`'s text in the
 * page's language; any other error's description as it was written, in
 * English, marked so (HTML §3.2.6.2) on a page in another language.
 *
 * @example
 * oauthErrorPage(view, new OAuthError('invalid_request', { description: 'The request has no client_id.' }))
 */
export function oauthErrorPage(view: PageView, err: OAuthError): GrantkitResponse {
  const headers = err.headers ?? {}
  if (err instanceof PageError) return errorFrame(view, err.error, view.t(err.messageKey), err.status, headers)
  if (err.description === undefined) return errorFrame(view, err.error, view.t('error.generic'), err.status, headers)
  const english = view.lang.toLowerCase() === 'en' || view.lang.toLowerCase().startsWith('en-')
  const text = escapeHtml(err.description)
  return errorFrame(view, err.error, english ? text : `<span lang="en">${text}</span>`, err.status, headers)
}
