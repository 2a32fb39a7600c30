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
  const from = c.clientName !== undefined ? `<p><strong>${escapeHtml(c.clientName)}</strong> asks to sign you out.</p>\n` : ''
  return page(
    view,
    'Sign out?',
    `<h1>Sign out?</h1>
${from}<p>You are signed in as <strong>${escapeHtml(c.sub)}</strong>. Signing out here signs you out of every application that uses this sign-in.</p>
<form method="post" action="${escapeHtml(c.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(c.csrf)}">
${hidden}
<button type="submit">Sign out</button>
</form>
<p>If you did not ask to sign out, close this page.</p>`,
  )
}

/** Shown after signing out when there is no registered place to return to. */
export function signedOutPage(view: PageView, headers: Record<string, string | string[]> = {}): GrantkitResponse {
  return page(view, 'Signed out', `<h1>You are signed out</h1>
<p>You can close this page.</p>`, 200, headers)
}
