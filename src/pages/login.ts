import type { GrantkitResponse } from '../http/types.js'
import type { InteractionDetails } from '../interaction/interactions.js'
import { escapeHtml, page } from './html.js'
import type { MessageKey } from './i18n/index.js'
import type { PageView } from './view.js'

/**
 * The default login page (contract: inputs `username` and `password`, a
 * submit button; in English the button says `Sign in`).
 *
 * @param error a text of the catalogue, shown above the form (401 unless `answer` says otherwise)
 * @param answer status and extra headers, for a refusal that is not about the credentials (503 with `Retry-After`)
 */
export function loginPage(
  view: PageView,
  details: InteractionDetails,
  action: string,
  error?: MessageKey,
  username?: string,
  answer?: { status: number; headers: Record<string, string> },
): GrantkitResponse {
  const prefill = username ?? details.loginHint ?? ''
  return page(
    view,
    view.t('login.title'),
    `<h1>${view.t('login.title')}</h1>
<p>${view.t('login.continueTo', { client: `<strong>${escapeHtml(details.client.name)}</strong>` })}</p>
${error !== undefined ? `<p class="error" role="alert">${view.t(error)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="csrf" value="${escapeHtml(details.csrf)}">
<label for="username">${view.t('login.username')}</label>
<input type="text" id="username" name="username" value="${escapeHtml(prefill)}" autocomplete="username" autocapitalize="none" spellcheck="false" required${prefill === '' ? ' autofocus' : ''}>
<label for="password">${view.t('login.password')}</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${prefill !== '' ? ' autofocus' : ''}>
<button type="submit">${view.t('login.submit')}</button>
</form>`,
    answer?.status ?? (error === undefined ? 200 : 401),
    answer?.headers,
  )
}

/** Scopes of OIDC Core §5.4 (and §11 offline_access) that the catalogue describes in words. */
const SCOPE_TEXT: Readonly<Record<string, MessageKey>> = {
  openid: 'scope.openid',
  profile: 'scope.profile',
  email: 'scope.email',
  address: 'scope.address',
  phone: 'scope.phone',
  offline_access: 'scope.offline_access',
}

/**
 * The default consent page (contract: names the client and the scopes; two
 * buttons, in English exactly `Allow` and `Deny`). The buttons' `name` and
 * `value` are the same in every language: the form, not the label, carries
 * the decision.
 */
export function consentPage(view: PageView, details: InteractionDetails, action: string): GrantkitResponse {
  const items = details.scopes
    .map((s) => {
      const key = Object.hasOwn(SCOPE_TEXT, s) ? SCOPE_TEXT[s] : undefined
      return `<li><code>${escapeHtml(s)}</code>${key !== undefined ? ` — ${view.t(key)}` : ''}</li>`
    })
    .join('\n')
  const client =
    details.client.name === details.client.id
      ? `<strong>${escapeHtml(details.client.name)}</strong>`
      : `<strong>${escapeHtml(details.client.name)}</strong> (<code>${escapeHtml(details.client.id)}</code>)`
  const asks =
    details.sub !== undefined ? view.t('consent.asksAccount', { client, account: `<strong>${escapeHtml(details.sub)}</strong>` }) : view.t('consent.asks', { client })
  // CIMD §8.5: the name is the client's own claim; the host of its client_id is where its description came from.
  const host = details.client.host === undefined ? '' : `\n<p class="client-host">${view.t('consent.host', { host: `<strong>${escapeHtml(details.client.host)}</strong>` })}</p>`
  return page(
    view,
    view.t('consent.title'),
    `<h1>${view.t('consent.title')}</h1>
<p>${asks}</p>${host}
<ul>
${items || `<li>${view.t('consent.nothing')}</li>`}
</ul>
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="csrf" value="${escapeHtml(details.csrf)}">
<button type="submit" name="decision" value="allow">${view.t('consent.allow')}</button>
<button type="submit" name="decision" value="deny" class="secondary">${view.t('consent.deny')}</button>
</form>`,
  )
}
