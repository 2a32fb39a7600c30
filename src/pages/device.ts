import type { GrantkitResponse } from '../http/types.js'
import { escapeHtml, page } from './html.js'

/** The verification page (RFC 8628 §3.3; contract: an input named `user_code`). */
export function deviceCodePage(action: string, csrf: string, prefill: string, error?: string, status = 200, headers: Record<string, string | string[]> = {}): GrantkitResponse {
  return page(
    'Connect a device',
    `<h1>Connect a device</h1>
<p>Enter the code shown on your device.</p>
${error !== undefined ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<label for="user_code">Code</label>
<input type="text" id="user_code" name="user_code" value="${escapeHtml(prefill)}" placeholder="XXXX-XXXX" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" maxlength="32" required autofocus>
<button type="submit">Continue</button>
</form>`,
    status,
    headers,
  )
}

/** Shown when the person has answered a device's request. */
export function deviceDonePage(approved: boolean, clientName: string): GrantkitResponse {
  return page(
    approved ? 'Device connected' : 'Request denied',
    approved
      ? `<h1>Device connected</h1>\n<p><strong>${escapeHtml(clientName)}</strong> can now continue on your device. You can close this page.</p>`
      : `<h1>Request denied</h1>\n<p><strong>${escapeHtml(clientName)}</strong> was not given access. You can close this page.</p>`,
  )
}
