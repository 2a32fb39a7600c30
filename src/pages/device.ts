import type { GrantkitResponse } from '../http/types.js'
import { escapeHtml, page } from './html.js'
import type { MessageKey } from './i18n/index.js'
import type { PageView } from './view.js'

/**
 * The verification page (RFC 8628 §3.3; contract: an input named `user_code`).
 *
 * @param error a text of the catalogue, shown above the form
 */
export function deviceCodePage(view: PageView, action: string, csrf: string, prefill: string, error?: MessageKey, status = 200, headers: Record<string, string | string[]> = {}): GrantkitResponse {
  return page(
    view,
    view.t('device.title'),
    `<h1>${view.t('device.title')}</h1>
<p>${view.t('device.intro')}</p>
${error !== undefined ? `<p class="error" role="alert">${view.t(error)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<label for="user_code">${view.t('device.code')}</label>
<input type="text" id="user_code" name="user_code" value="${escapeHtml(prefill)}" placeholder="XXXX-XXXX" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" maxlength="32" required autofocus>
<button type="submit">${view.t('device.submit')}</button>
</form>`,
    status,
    headers,
  )
}

/** Shown when the person has answered a device's request. */
export function deviceDonePage(view: PageView, approved: boolean, clientName: string): GrantkitResponse {
  const client = `<strong>${escapeHtml(clientName)}</strong>`
  const title = view.t(approved ? 'device.connectedTitle' : 'device.deniedTitle')
  return page(view, title, `<h1>${title}</h1>\n<p>${view.t(approved ? 'device.connected' : 'device.denied', { client })}</p>`)
}
