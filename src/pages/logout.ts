import type { GrantkitResponse } from '../http/types.js'
import { escapeHtml, page } from './html.js'
import type { PageView } from './view.js'

/** What the logout confirmation page shows and posts back. */
export interface LogoutConfirmation {
  /** Where the form posts. */
  action: string
  /** Anti-CSRF value bound to the browser's session. */
  csrf: string
  /** The client that asked, when known: its name, else its id. */
  clientName?: string
  /** The person signed in. */
  sub: string
  /** The request's checked parameters, carried through the form (client_id, post_logout_redirect_uri, state). */
  carry: Readonly<Record<string, string>>
}

/**
 * The default logout confirmation (contract: a form with a button whose text
 * is `Sign out`), shown when RP-initiated logout cannot be trusted to come
 * from the person (OIDC RP-Initiated Logout §2: no valid id_token_hint for
 * this session).
 */
export function logoutConfirmationPage(view: PageView, c: LogoutConfirmation): GrantkitResponse {
  const hidden = Object.entries(c.carry)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n')
  const from = c.clientName !== undefined ? `<p>${view.t('logout.asks', { client: `<strong>${escapeHtml(c.clientName)}</strong>` })}</p>\n` : ''
  return page(
    view,
    view.t('logout.title'),
    `<h1>${view.t('logout.title')}</h1>
${from}<p>${view.t('logout.signedInAs', { sub: `<strong>${escapeHtml(c.sub)}</strong>` })}</p>
<form method="post" action="${escapeHtml(c.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(c.csrf)}">
${hidden}
<button type="submit">${view.t('logout.submit')}</button>
</form>
<p>${view.t('logout.notYou')}</p>`,
  )
}

/** Shown after signing out when there is no registered place to return to. */
export function signedOutPage(view: PageView, headers: Record<string, string | string[]> = {}): GrantkitResponse {
  return page(view, view.t('logout.doneTitle'), `<h1>${view.t('logout.doneTitle')}</h1>
<p>${view.t('logout.doneBody')}</p>`, 200, headers)
}
