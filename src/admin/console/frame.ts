import { createHash } from 'node:crypto'
import type { ServerContext } from '../../context.js'
import type { GrantkitRequest, GrantkitResponse } from '../../http/types.js'
import { escapeHtml, page } from '../../pages/html.js'
import type { MessageKey } from '../../pages/i18n/index.js'
import type { PageTheme } from '../../pages/theme.js'
import { requestView, type PageView } from '../../pages/view.js'

/**
 * The console's own rules, after the theme's: a wider card, navigation, and
 * tables that become stacked rows at phone width, so the main content never
 * scrolls sideways (long ids and URIs wrap anywhere).
 */
const CONSOLE_CSS = `
main{max-width:64rem;margin:2rem auto}
nav.console{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center;margin:0 0 1rem;padding:0 0 .75rem;border-bottom:1px solid var(--gk-border)}
nav.console a{color:var(--gk-primary);font-weight:600}
nav.console .who{margin-left:auto;font-size:.9rem;overflow-wrap:anywhere}
nav.console form{display:inline}
nav.console button{margin:0;min-height:2.25rem;padding:.3rem .8rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
a{color:var(--gk-primary)}
p,li,td,th,dd,code{overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse;margin:.5rem 0}
th,td{text-align:left;vertical-align:top;padding:.45rem .4rem;border-bottom:1px solid var(--gk-border)}
td form{display:inline}
td button{margin:0}
textarea,select,input[type=number]{width:100%;min-height:2.75rem;padding:.65rem;font:inherit;border:1px solid var(--gk-border);border-radius:.4rem}
textarea{min-height:5rem}
fieldset{border:1px solid var(--gk-border);border-radius:.4rem;margin:.75rem 0;padding:.5rem .75rem}
fieldset label{display:flex;gap:.5rem;align-items:center;font-weight:400;margin:.25rem 0;overflow-wrap:anywhere}
.field-error{color:#8a1c12;margin:.25rem 0;font-size:.95rem}
.notice{background:#e8f3ec;color:#14532d;padding:.6rem .8rem;border-radius:.4rem}
.secret{display:block;font:1rem/1.4 ui-monospace,monospace;background:#eef0f3;padding:.75rem;border-radius:.4rem;overflow-wrap:anywhere;user-select:all}
.danger button{background:#b42318;border-color:#b42318}
section.action{border-top:1px solid var(--gk-border);margin-top:1.5rem}
.muted{color:#5b6270;font-size:.9rem}
@media (max-width:40rem){
main{margin:0;padding:1rem}
table,thead,tbody,tr,th,td{display:block}
thead{display:none}
tr{border-bottom:1px solid var(--gk-border);padding:.4rem 0}
td{border:0;padding:.15rem 0}
td[data-label]::before{content:attr(data-label) ": ";font-weight:600}
}
`

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64')

const themes = new WeakMap<PageTheme, PageTheme>()

/**
 * The theme with the console's rules in the same style element, and the
 * theme's Content-Security-Policy admitting that element by its hash
 * instead. SECURITY: no script-src at all (default-src 'none'), forms may
 * post only to this origin (form-action 'self'), no framing. Built once per theme.
 */
function consoleTheme(theme: PageTheme): PageTheme {
  let out = themes.get(theme)
  if (out === undefined) {
    const style = theme.style + CONSOLE_CSS
    const csp = theme.csp.replace(`'sha256-${sha256(theme.style)}'`, `'sha256-${sha256(style)}'`) + `; form-action 'self'`
    out = { ...theme, style, csp }
    themes.set(theme, out)
  }
  return out
}

/** The view of a console page: the request's language, the console's look. */
export function consoleView(ctx: Pick<ServerContext, 'pages'>, req: Pick<GrantkitRequest, 'headers'>): PageView {
  const view = requestView(ctx, req)
  return { ...view, theme: consoleTheme(view.theme) }
}

/** What every signed-in page shows besides its body: where the console is, who is signed in, the session's CSRF token. */
export interface Chrome {
  base: string
  sub: string
  csrf: string
}

/** The hidden CSRF field every console form carries. */
export const csrfField = (chrome: Pick<Chrome, 'csrf'>): string => `<input type="hidden" name="csrf" value="${escapeHtml(chrome.csrf)}">`

/** A POST form of one button. */
export function buttonForm(chrome: Chrome, action: string, label: string, extra = '', cls = ''): string {
  return `<form method="post" action="${escapeHtml(action)}"${cls === '' ? '' : ` class="${cls}"`}>${csrfField(chrome)}${extra}<button type="submit">${label}</button></form>`
}

/** A signed-in page: navigation, the signed-in administrator and sign-out, then `bodyHtml`. */
export function consolePage(view: PageView, chrome: Chrome, titleHtml: string, bodyHtml: string, status = 200, headers: Record<string, string | string[]> = {}): GrantkitResponse {
  const b = escapeHtml(chrome.base)
  const nav = `<nav class="console" aria-label="${view.t('console.title')}">
<a href="${b}/clients">${view.t('console.nav.clients')}</a>
<a href="${b}/people">${view.t('console.nav.people')}</a>
<a href="${b}/audit">${view.t('console.nav.audit')}</a>
<span class="who">${view.t('console.signedInAs', { sub: `<strong>${escapeHtml(chrome.sub)}</strong>` })}</span>
${buttonForm(chrome, `${chrome.base}/signout`, view.t('console.signOut'))}
</nav>`
  // Fetch Standard: under no-referrer a browser sends `Origin: null` with a form POST; same-origin keeps the real
  // Origin for the console's own POSTs (checked by sameOriginRequest) and still sends no referrer to any other origin.
  return page(view, `${titleHtml} · ${view.t('console.title')}`, `${nav}\n<h1>${titleHtml}</h1>\n${bodyHtml}`, status, { 'referrer-policy': 'same-origin', ...headers })
}

/** A page outside a session (signed out, refused, failed sign-in), with a link to sign in. */
export function messagePage(view: PageView, base: string, title: MessageKey, message: MessageKey, status: number, html: Record<string, string> = {}, headers: Record<string, string | string[]> = {}): GrantkitResponse {
  return page(
    view,
    view.t(title),
    `<h1>${view.t(title)}</h1>
<p${status >= 400 ? ' class="error" role="alert"' : ''}>${view.t(message, html)}</p>
<p><a href="${escapeHtml(base)}/signin">${view.t('console.signIn')}</a></p>`,
    status,
    headers,
  )
}

/** A time (seconds since the epoch) as people read it, in UTC. */
export function showTime(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`
}
