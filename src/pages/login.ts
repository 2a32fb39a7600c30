import type { GrantkitResponse } from '../http/types.js'
import type { InteractionDetails } from '../interaction/interactions.js'
import { escapeHtml, page } from './html.js'

/** The default login page (contract: inputs `username` and `password`, a submit button). */
export function loginPage(details: InteractionDetails, action: string, error?: string, username?: string): GrantkitResponse {
  const prefill = username ?? details.loginHint ?? ''
  return page(
    'Sign in',
    `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(details.client.name)}</strong></p>
${error !== undefined ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="csrf" value="${escapeHtml(details.csrf)}">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="${escapeHtml(prefill)}" autocomplete="username" autocapitalize="none" spellcheck="false" required${prefill === '' ? ' autofocus' : ''}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${prefill !== '' ? ' autofocus' : ''}>
<button type="submit">Sign in</button>
</form>`,
    error === undefined ? 200 : 401,
  )
}

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Know who you are',
  profile: 'See your name and profile',
  email: 'See your email address',
  address: 'See your postal address',
  phone: 'See your phone number',
  offline_access: 'Keep access while you are away',
}

/** The default consent page (contract: names the client and the scopes; buttons `Allow` and `Deny`). */
export function consentPage(details: InteractionDetails, action: string): GrantkitResponse {
  const items = details.scopes
    .map((s) => `<li><code>${escapeHtml(s)}</code>${SCOPE_TEXT[s] !== undefined ? ` — ${SCOPE_TEXT[s]}` : ''}</li>`)
    .join('\n')
  const clientLine =
    details.client.name === details.client.id
      ? `<strong>${escapeHtml(details.client.name)}</strong>`
      : `<strong>${escapeHtml(details.client.name)}</strong> (<code>${escapeHtml(details.client.id)}</code>)`
  return page(
    'Allow access?',
    `<h1>Allow access?</h1>
<p>${clientLine} asks for access to your account${details.sub !== undefined ? ` (<strong>${escapeHtml(details.sub)}</strong>)` : ''}:</p>
<ul>
${items || '<li>No extra access (sign-in only)</li>'}
</ul>
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="csrf" value="${escapeHtml(details.csrf)}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`,
  )
}
