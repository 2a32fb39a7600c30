import type { ManagedClient } from '../../clients/manager.js'
import type { GrantkitResponse } from '../../http/types.js'
import type { SessionInfo } from '../../logout/sessions.js'
import { escapeHtml } from '../../pages/escape.js'
import type { PageView } from '../../pages/view.js'
import type { PersonGrant } from '../operations.js'
import type { AuditEntry, RecentAudit } from './audit-trail.js'
import { buttonForm, consolePage, csrfField, showTime, type Chrome } from './frame.js'

/** The client metadata fields the console's form edits; the rest of a client's metadata is kept as it is. */
export const FORM_FIELDS = ['client_name', 'redirect_uris', 'post_logout_redirect_uris', 'grant_types', 'token_endpoint_auth_method', 'scope'] as const
export type FormField = (typeof FORM_FIELDS)[number]

/** What the client form shows: the values as typed, and the rule broken next to the field it concerns. */
export interface ClientForm {
  values: { client_name: string; redirect_uris: string; post_logout_redirect_uris: string; grant_types: string[]; token_endpoint_auth_method: string; scope: string }
  /** The server's rule that refused a field, in English (the client rules speak English), by field. */
  errors: Partial<Record<FormField, string>>
}

/** Methods offered in the form; private_key_jwt and friends need keys, which the admin API's jwks route sets. */
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const

const enc = encodeURIComponent

/** The form's values of a stored client. */
export function formOf(client: ManagedClient): ClientForm['values'] {
  const m = client.metadata
  return {
    client_name: m.client_name ?? '',
    redirect_uris: (m.redirect_uris ?? []).join('\n'),
    post_logout_redirect_uris: ((m as { post_logout_redirect_uris?: string[] }).post_logout_redirect_uris ?? []).join('\n'),
    grant_types: [...(m.grant_types ?? [])],
    token_endpoint_auth_method: m.token_endpoint_auth_method ?? 'client_secret_basic',
    scope: m.scope ?? '',
  }
}

/** An English text from the server's rules, marked so on a page in another language (HTML §3.2.6.2). */
function english(view: PageView, text: string): string {
  const lang = view.lang.toLowerCase()
  return lang === 'en' || lang.startsWith('en-') ? escapeHtml(text) : `<span lang="en">${escapeHtml(text)}</span>`
}

function fieldError(view: PageView, form: ClientForm, field: FormField): string {
  const e = form.errors[field]
  return e === undefined ? '' : `<p class="field-error" id="${field}-error" role="alert">${english(view, e)}</p>`
}

const described = (form: ClientForm, field: FormField): string => (form.errors[field] === undefined ? '' : ` aria-invalid="true" aria-describedby="${field}-error"`)

/** The client metadata form, for create and edit. */
function clientFormHtml(view: PageView, chrome: Chrome, action: string, form: ClientForm, grantTypes: readonly string[], submit: string, hidden = ''): string {
  const v = form.values
  const text = (field: 'client_name' | 'scope') =>
    `<label for="${field}">${view.t(`console.field.${field}`)}</label>
<input type="text" id="${field}" name="${field}" value="${escapeHtml(v[field])}"${described(form, field)}>
${fieldError(view, form, field)}`
  const area = (field: 'redirect_uris' | 'post_logout_redirect_uris') =>
    `<label for="${field}">${view.t(`console.field.${field}`)}</label>
<textarea id="${field}" name="${field}" rows="3" spellcheck="false"${described(form, field)}>${escapeHtml(v[field])}</textarea>
${fieldError(view, form, field)}`
  const offered = [...new Set([...grantTypes, ...v.grant_types])]
  const boxes = offered
    .map((g) => `<label><input type="checkbox" name="grant_types" value="${escapeHtml(g)}"${v.grant_types.includes(g) ? ' checked' : ''}> <code>${escapeHtml(g)}</code></label>`)
    .join('\n')
  const methods = [...new Set<string>([...AUTH_METHODS, v.token_endpoint_auth_method])]
    .map((m) => `<option value="${escapeHtml(m)}"${m === v.token_endpoint_auth_method ? ' selected' : ''}>${escapeHtml(m)}</option>`)
    .join('')
  const anyError = Object.keys(form.errors).length > 0
  return `${anyError ? `<p class="error" role="alert">${view.t('console.form.errors')}</p>` : ''}
<form method="post" action="${escapeHtml(action)}" novalidate>
${csrfField(chrome)}${hidden}
${text('client_name')}
${area('redirect_uris')}
<fieldset${described(form, 'grant_types')}><legend>${view.t('console.field.grant_types')}</legend>
${boxes}
</fieldset>
${fieldError(view, form, 'grant_types')}
<label for="token_endpoint_auth_method">${view.t('console.field.token_endpoint_auth_method')}</label>
<select id="token_endpoint_auth_method" name="token_endpoint_auth_method"${described(form, 'token_endpoint_auth_method')}>${methods}</select>
${fieldError(view, form, 'token_endpoint_auth_method')}
${text('scope')}
${area('post_logout_redirect_uris')}
<button type="submit">${submit}</button>
</form>`
}

/** One page of stored clients. */
export function clientsPage(view: PageView, chrome: Chrome, clients: ManagedClient[], next: string | undefined, notice?: string): GrantkitResponse {
  const b = chrome.base
  const rows = clients
    .map(
      (c) => `<tr>
<td data-label="${view.t('console.col.clientId')}"><a href="${escapeHtml(`${b}/clients/${enc(c.clientId)}`)}"><code>${escapeHtml(c.clientId)}</code></a></td>
<td data-label="${view.t('console.col.name')}">${escapeHtml(c.metadata.client_name ?? '')}</td>
<td data-label="${view.t('console.col.grantTypes')}">${(c.metadata.grant_types ?? []).map((g) => `<code>${escapeHtml(g)}</code>`).join(' ')}</td>
<td data-label="${view.t('console.col.updated')}">${showTime(c.updatedAt)}</td>
</tr>`,
    )
    .join('\n')
  const table =
    clients.length === 0
      ? `<p>${view.t('console.clients.none')}</p>`
      : `<table><thead><tr><th>${view.t('console.col.clientId')}</th><th>${view.t('console.col.name')}</th><th>${view.t('console.col.grantTypes')}</th><th>${view.t('console.col.updated')}</th></tr></thead>
<tbody>
${rows}
</tbody></table>`
  return consolePage(
    view,
    chrome,
    view.t('console.clients.title'),
    `${notice ?? ''}<p><a href="${escapeHtml(`${b}/clients/new`)}">${view.t('console.clients.new')}</a></p>
${table}
${next === undefined ? '' : `<p><a href="${escapeHtml(`${b}/clients?after=${enc(next)}`)}">${view.t('console.clients.next')}</a></p>`}
<p class="muted">${view.t('console.clients.configuredNote')}</p>`,
  )
}

/** The form of a new client. */
export function newClientPage(view: PageView, chrome: Chrome, form: ClientForm, grantTypes: readonly string[], status = 200): GrantkitResponse {
  return consolePage(view, chrome, view.t('console.clients.new'), clientFormHtml(view, chrome, `${chrome.base}/clients/new`, form, grantTypes, view.t('console.create')), status)
}

/** A stored client: its metadata form, and the secret, token and delete actions. */
export function clientPage(view: PageView, chrome: Chrome, client: ManagedClient, form: ClientForm, grantTypes: readonly string[], notice = '', status = 200): GrantkitResponse {
  const at = `${chrome.base}/clients/${enc(client.clientId)}`
  const idHtml = `<code>${escapeHtml(client.clientId)}</code>`
  const secretState = client.hasSecret ? view.t('console.client.hasSecret') : view.t('console.client.noSecret')
  const previous = client.previousSecretValidUntil === undefined ? '' : `<p>${view.t('console.client.previousSecret', { time: showTime(client.previousSecretValidUntil) })}</p>`
  const rotate = client.hasSecret
    ? `<section class="action"><h2>${view.t('console.rotate.title')}</h2>
<form method="post" action="${escapeHtml(`${at}/secret`)}">
${csrfField(chrome)}
<label for="overlap">${view.t('console.rotate.overlap')}</label>
<select id="overlap" name="overlap">
<option value="0">${view.t('console.rotate.overlapNone')}</option>
<option value="3600">${view.t('console.rotate.overlapHour')}</option>
<option value="86400" selected>${view.t('console.rotate.overlapDay')}</option>
<option value="604800">${view.t('console.rotate.overlapWeek')}</option>
</select>
<button type="submit">${view.t('console.rotate.submit')}</button>
</form></section>`
    : ''
  return consolePage(
    view,
    chrome,
    view.t('console.client.title', { client: idHtml }),
    `${notice}<p>${secretState} · ${view.t('console.client.version', { version: String(client.version), time: showTime(client.updatedAt) })}</p>
${previous}
${clientFormHtml(view, chrome, at, form, grantTypes, view.t('console.save'), `<input type="hidden" name="version" value="${client.version}">`)}
${rotate}
<section class="action"><h2>${view.t('console.revokeTokens.title')}</h2>
<p>${view.t('console.revokeTokens.explain')}</p>
${buttonForm(chrome, `${at}/tokens/revoke`, view.t('console.revokeTokens.submit'), '', 'danger')}
</section>
<section class="action"><h2>${view.t('console.delete.title')}</h2>
<p>${view.t('console.delete.explain')}</p>
${buttonForm(chrome, `${at}/delete`, view.t('console.delete.submit'), '', 'danger')}
</section>`,
    status,
  )
}

/**
 * The one page that shows a client secret: the answer to the POST that made
 * it. Never cached (no-store, as every console page), never shown again:
 * only its hash is kept.
 */
export function secretPage(view: PageView, chrome: Chrome, clientId: string, secret: string): GrantkitResponse {
  return consolePage(
    view,
    chrome,
    view.t('console.secret.title'),
    `<p class="notice" role="status">${view.t('console.secret.once')}</p>
<p>${view.t('console.col.clientId')}: <code id="client-id">${escapeHtml(clientId)}</code></p>
<label for="client-secret">${view.t('console.secret.label')}</label>
<output id="client-secret" class="secret">${escapeHtml(secret)}</output>
<p><a href="${escapeHtml(`${chrome.base}/clients/${enc(clientId)}`)}">${view.t('console.secret.done')}</a></p>`,
  )
}

/** The form asking whose grants and sessions to show. */
export function peoplePage(view: PageView, chrome: Chrome): GrantkitResponse {
  return consolePage(
    view,
    chrome,
    view.t('console.people.title'),
    `<form method="get" action="${escapeHtml(`${chrome.base}/people`)}">
<label for="sub">${view.t('console.people.sub')}</label>
<input type="text" id="sub" name="sub" autocapitalize="none" spellcheck="false" required>
<button type="submit">${view.t('console.people.show')}</button>
</form>`,
  )
}

/** A person's consents (the grants the console can name) and live sessions, each with its revoke or end button. */
export function personPage(view: PageView, chrome: Chrome, sub: string, consents: PersonGrant[], sessions: SessionInfo[], notice = ''): GrantkitResponse {
  const at = `${chrome.base}/people/${enc(sub)}`
  const consentRows = consents
    .map(
      (c) => `<tr>
<td data-label="${view.t('console.col.clientId')}"><code>${escapeHtml(c.clientId)}</code>${c.clientName === undefined ? '' : ` ${escapeHtml(c.clientName)}`}</td>
<td data-label="${view.t('console.col.scope')}">${escapeHtml(c.scope)}</td>
<td data-label="${view.t('console.col.expires')}">${showTime(c.expiresAt)}</td>
<td>${buttonForm(chrome, `${at}/consents/${enc(c.clientId)}/revoke`, view.t('console.revokeConsent'), '', 'danger')}</td>
</tr>`,
    )
    .join('\n')
  const sessionRows = sessions
    .map(
      (s) => `<tr>
<td data-label="${view.t('console.col.session')}"><code>${escapeHtml(s.id.slice(0, 12))}…</code></td>
<td data-label="${view.t('console.col.signedIn')}">${showTime(s.authTime)}</td>
<td data-label="${view.t('console.col.expires')}">${showTime(s.expiresAt)}</td>
<td data-label="${view.t('console.col.clients')}">${s.clients.map((c) => `<code>${escapeHtml(c)}</code>`).join(' ')}</td>
<td>${buttonForm(chrome, `${at}/sessions/${enc(s.id)}/end`, view.t('console.endSession'), '', 'danger')}</td>
</tr>`,
    )
    .join('\n')
  const th = (keys: Array<Parameters<PageView['t']>[0] | ''>) => `<thead><tr>${keys.map((k) => `<th>${k === '' ? '' : view.t(k)}</th>`).join('')}</tr></thead>`
  return consolePage(
    view,
    chrome,
    view.t('console.person.title', { sub: `<code>${escapeHtml(sub)}</code>` }),
    `${notice}<h2>${view.t('console.person.consents')}</h2>
${consents.length === 0 ? `<p>${view.t('console.person.noConsents')}</p>` : `<table id="consents">${th(['console.col.clientId', 'console.col.scope', 'console.col.expires', ''])}<tbody>\n${consentRows}\n</tbody></table>`}
<h2>${view.t('console.person.sessions')}</h2>
${sessions.length === 0 ? `<p>${view.t('console.person.noSessions')}</p>` : `<table id="sessions">${th(['console.col.session', 'console.col.signedIn', 'console.col.expires', 'console.col.clients', ''])}<tbody>\n${sessionRows}\n</tbody></table>`}`,
  )
}

function actorText(e: AuditEntry): string {
  return 'cli' in e.actor ? `cli:${e.actor.cli}` : `${e.actor.sub} (${e.actor.clientId})`
}

/** Recent audit events, saying where they come from. */
export function auditPage(view: PageView, chrome: Chrome, recent: RecentAudit): GrantkitResponse {
  const rows = recent.events
    .map(
      (e) => `<tr>
<td data-label="${view.t('console.col.time')}">${showTime(e.timestamp / 1000)}</td>
<td data-label="${view.t('console.col.actor')}">${escapeHtml(actorText(e))}</td>
<td data-label="${view.t('console.col.action')}"><code>${escapeHtml(e.action)}</code></td>
<td data-label="${view.t('console.col.target')}">${Object.entries(e.target)
        .map(([k, v]) => `${escapeHtml(k)}=<code>${escapeHtml(v)}</code>`)
        .join(' ')}</td>
<td data-label="${view.t('console.col.outcome')}">${escapeHtml(e.outcome)}${e.error === undefined ? '' : ` (<code>${escapeHtml(e.error)}</code>)`}</td>
</tr>`,
    )
    .join('\n')
  return consolePage(
    view,
    chrome,
    view.t('console.audit.title'),
    `<p class="muted" id="audit-source">${view.t(recent.shared ? 'console.audit.shared' : 'console.audit.local')}</p>
${
  recent.events.length === 0
    ? `<p>${view.t('console.audit.none')}</p>`
    : `<table id="audit"><thead><tr><th>${view.t('console.col.time')}</th><th>${view.t('console.col.actor')}</th><th>${view.t('console.col.action')}</th><th>${view.t('console.col.target')}</th><th>${view.t('console.col.outcome')}</th></tr></thead><tbody>
${rows}
</tbody></table>`
}`,
  )
}

/** A short confirmation above a page's content. */
export const notice = (html: string): string => `<p class="notice" role="status">${html}</p>\n`
