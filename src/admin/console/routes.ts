import { ClientManagementError, type ClientRegistration, type ManagedClient } from '../../clients/manager.js'
import type { ServerContext } from '../../context.js'
import { isFormContentType, readFormValues, type FormValues } from '../../http/form.js'
import type { GrantkitRequest, GrantkitResponse } from '../../http/types.js'
import { sessionsApi } from '../../logout/sessions.js'
import { escapeHtml } from '../../pages/escape.js'
import { PageError } from '../../pages/page-error.js'
import type { PageView } from '../../pages/view.js'
import { audited, type AuditActor } from '../audit.js'
import { AdminError, matchPattern } from '../http.js'
import { endUserSession, listPersonGrants, revokeClientTokens, revokeConsent } from '../operations.js'
import { CALLBACK_PATH, CONSOLE_CLIENT_ID } from './client.js'
import { consolePage, consoleView, messagePage, type Chrome } from './frame.js'
import { checkCsrfToken, consoleCookie, csrfToken, readConsoleCookie, sameOriginRequest, SESSION_COOKIE } from './guard.js'
import { auditPage, clientPage, clientsPage, FORM_FIELDS, formOf, newClientPage, notice, peoplePage, personPage, secretPage, type ClientForm, type FormField } from './pages.js'
import { consoleSessions } from './session.js'
import { finishSignIn, startSignIn } from './signin.js'

/** Clients per page of the list. */
const PAGE_SIZE = 20
/** Audit events on the audit page. */
const AUDIT_PAGE_SIZE = 100
/** Overlaps of the old secret the rotate form offers, seconds. */
const OVERLAPS = new Set([0, 3600, 86_400, 604_800])

/** A signed-in administrator's request, as a page handler gets it. */
interface Call {
  ctx: ServerContext
  req: GrantkitRequest
  view: PageView
  chrome: Chrome
  actor: AuditActor
  /** Decoded path segments after the route's fixed part. */
  params: string[]
  /** The posted form (POST only). */
  form: ConsoleForm
}

interface Route {
  method: 'GET' | 'POST'
  pattern: readonly string[]
  handle(call: Call): Promise<GrantkitResponse>
}

const enc = encodeURIComponent
const seeOther = (location: string): GrantkitResponse => ({ status: 303, headers: { location, 'cache-control': 'no-store' } })

/** The metadata the form describes, over what the client had (fields the form does not show are kept). */
function registrationOf(values: ClientForm['values'], current: Record<string, unknown> = {}): ClientRegistration {
  const lines = (text: string) => text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '')
  const {
    client_id: _id,
    client_id_issued_at: _at,
    client_secret_expires_at: _exp,
    response_types: responseTypes,
    ...kept
  } = current as Record<string, unknown> & { response_types?: string[] }
  const out: Record<string, unknown> = { ...kept }
  const set = (name: string, value: unknown, empty: boolean) => {
    if (empty) delete out[name]
    else out[name] = value
  }
  set('client_name', values.client_name.trim(), values.client_name.trim() === '')
  set('redirect_uris', lines(values.redirect_uris), lines(values.redirect_uris).length === 0)
  set('post_logout_redirect_uris', lines(values.post_logout_redirect_uris), lines(values.post_logout_redirect_uris).length === 0)
  out.grant_types = values.grant_types
  out.token_endpoint_auth_method = values.token_endpoint_auth_method
  set('scope', values.scope.trim().split(/\s+/).join(' '), values.scope.trim() === '')
  // RFC 7591 §2.1: response types follow the grant types; those whose grant went go with it, and none left means the default.
  const needs = (t: string) => (t.split(' ').includes('code') ? values.grant_types.includes('authorization_code') : values.grant_types.includes('implicit'))
  const keptTypes = (responseTypes ?? []).filter(needs)
  if (keptTypes.length > 0) out.response_types = keptTypes
  return out as ClientRegistration
}

function formValues(form: ConsoleForm): ClientForm['values'] {
  const one = (name: string) => form.get(name) ?? ''
  return {
    client_name: one('client_name'),
    redirect_uris: one('redirect_uris'),
    post_logout_redirect_uris: one('post_logout_redirect_uris'),
    grant_types: form.getAll('grant_types'),
    token_endpoint_auth_method: one('token_endpoint_auth_method'),
    scope: one('scope'),
  }
}

/** The form field a refusal of the client rules concerns (`redirect_uris[0]` → `redirect_uris`); the name field when none fits. */
function fieldOf(err: ClientManagementError): FormField {
  const name = (err.field ?? '').replace(/^metadata\./, '').split(/[[.]/)[0]!
  if ((FORM_FIELDS as readonly string[]).includes(name)) return name as FormField
  if (name === 'response_types') return 'grant_types'
  if (name === 'client_secret') return 'token_endpoint_auth_method'
  return 'client_name'
}

/** A refusal of a change, shown on the page it came from. Anything else is thrown to the server's failure path. */
function refusal(err: unknown): ClientManagementError | AdminError {
  if (err instanceof ClientManagementError || err instanceof AdminError) return err
  throw err
}

async function storedClient(ctx: ServerContext, id: string): Promise<ManagedClient | undefined> {
  return ctx.clientManager.get(id)
}

const grantTypes = (ctx: ServerContext): string[] => [...ctx.grants.keys()]

/** A short message inside the console's frame (not found, a refusal of the storage). */
function consoleMessage(view: PageView, chrome: Chrome, html: string, status: number): GrantkitResponse {
  return consolePage(view, chrome, view.t('console.title'), `<p class="error" role="alert">${html}</p>`, status)
}

const messageInSession = (call: Call, html: string, status: number): GrantkitResponse => consoleMessage(call.view, call.chrome, html, status)
const notFoundPage = (call: Call): GrantkitResponse => messageInSession(call, call.view.t('console.client.notFound'), 404)

/** The form a console page posted, keeping repeated fields (the grant type checkboxes). Too large, not a form, unreadable: the pages' error. */
function readConsoleForm(ctx: ServerContext, req: GrantkitRequest): ConsoleForm {
  if (req.bodyTooLarge === true || (req.body?.length ?? 0) > ctx.maxBodyBytes) throw new PageError('invalid_request', 'error.formTooLarge', { status: 413 })
  if (!isFormContentType(req.headers['content-type'])) throw new PageError('invalid_request', 'error.notAForm')
  let values: FormValues
  try {
    values = readFormValues(req)
  } catch (cause) {
    throw new PageError('invalid_request', 'error.formUnreadable', { cause })
  }
  return { get: (name) => values.get(name)?.[0], getAll: (name) => [...(values.get(name) ?? [])] }
}

/** A posted console form: the first value of a field, or all of them. */
interface ConsoleForm {
  get(name: string): string | undefined
  getAll(name: string): string[]
}

async function clientView(call: Call, client: ManagedClient, form?: ClientForm, noticeHtml = '', status = 200): Promise<GrantkitResponse> {
  return clientPage(call.view, call.chrome, client, form ?? { values: formOf(client), errors: {} }, grantTypes(call.ctx), noticeHtml, status)
}

const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: ['clients'],
    async handle({ ctx, req, view, chrome }) {
      const after = req.url.searchParams.get('after') ?? undefined
      const page = await ctx.clientManager.list({ ...(after !== undefined && after !== '' && { after }), limit: PAGE_SIZE })
      const done = req.url.searchParams.get('deleted')
      return clientsPage(view, chrome, page.clients, page.next, done === null ? undefined : notice(view.t('console.delete.done', { client: `<code>${escapeHtml(done)}</code>` })))
    },
  },
  {
    method: 'GET',
    pattern: ['clients', 'new'],
    async handle({ ctx, view, chrome }) {
      const values: ClientForm['values'] = { client_name: '', redirect_uris: '', post_logout_redirect_uris: '', grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic', scope: 'openid' }
      return newClientPage(view, chrome, { values, errors: {} }, grantTypes(ctx))
    },
  },
  {
    method: 'POST',
    pattern: ['clients', 'new'],
    async handle(call) {
      const { ctx, req, view, chrome, actor, form } = call
      const values = formValues(form)
      const target: Record<string, string> = {}
      try {
        const { client, secret } = await audited(ctx, actor, 'client.create', target, req.requestId, async () => {
          const made = await ctx.clientManager.create(registrationOf(values))
          target.clientId = made.client.clientId
          return made
        })
        // Shown this once, on the answer to this POST: only its hash is kept.
        if (secret !== undefined) return secretPage(view, chrome, client.clientId, secret)
        return seeOther(`${chrome.base}/clients/${enc(client.clientId)}?saved=1`)
      } catch (err) {
        const e = refusal(err)
        const errors = e instanceof ClientManagementError ? { [fieldOf(e)]: e.message } : { client_name: e.message }
        return newClientPage(view, chrome, { values, errors }, grantTypes(ctx), 400)
      }
    },
  },
  {
    method: 'GET',
    pattern: ['clients', ':'],
    async handle(call) {
      const client = await storedClient(call.ctx, call.params[0]!)
      if (client === undefined) return notFoundPage(call)
      const q = call.req.url.searchParams
      const done = q.has('saved') ? call.view.t('console.saved') : q.has('revoked') ? call.view.t('console.revokeTokens.done') : undefined
      return clientView(call, client, undefined, done === undefined ? '' : notice(done))
    },
  },
  {
    method: 'POST',
    pattern: ['clients', ':'],
    async handle(call) {
      const { ctx, req, view, actor, form, params } = call
      const id = params[0]!
      const client = await storedClient(ctx, id)
      if (client === undefined) return notFoundPage(call)
      const values = formValues(form)
      const version = Number(form.get('version'))
      try {
        await audited(ctx, actor, 'client.update', { clientId: id }, req.requestId, () =>
          ctx.clientManager.update(id, registrationOf(values, client.metadata as unknown as Record<string, unknown>), Number.isInteger(version) && version > 0 ? { expectedVersion: version } : {}),
        )
        return seeOther(`${call.chrome.base}/clients/${enc(id)}?saved=1`)
      } catch (err) {
        const e = refusal(err)
        const key: FormField = e instanceof ClientManagementError ? fieldOf(e) : 'client_name'
        // A concurrent change: show the form again on the client as it is now, saying so.
        const message = e instanceof ClientManagementError && e.code === 'conflict' ? view.t('console.conflict') : escapeHtml(e.message)
        const fresh = (await storedClient(ctx, id)) ?? client
        return clientView(call, fresh, { values, errors: { [key]: e instanceof ClientManagementError && e.code === 'conflict' ? '' : e.message } }, e instanceof ClientManagementError && e.code === 'conflict' ? `<p class="error" role="alert">${message}</p>` : '', e instanceof ClientManagementError && e.code === 'conflict' ? 409 : 400)
      }
    },
  },
  {
    method: 'POST',
    pattern: ['clients', ':', 'secret'],
    async handle(call) {
      const { ctx, req, view, chrome, actor, form, params } = call
      const id = params[0]!
      const overlap = Number(form.get('overlap') ?? '86400')
      if (!OVERLAPS.has(overlap)) return messageInSession(call, view.t('console.notFound'), 400)
      try {
        const { client, secret } = await audited(ctx, actor, 'client.secret.rotate', { clientId: id }, req.requestId, () =>
          ctx.clientManager.rotateSecret(id, { oldSecretValidUntil: Math.floor(ctx.now()) + overlap }),
        )
        return secretPage(view, chrome, client.clientId, secret)
      } catch (err) {
        const e = refusal(err)
        if (e instanceof ClientManagementError && e.code === 'not_found') return notFoundPage(call)
        return messageInSession(call, escapeHtml(e.message), 400)
      }
    },
  },
  {
    method: 'POST',
    pattern: ['clients', ':', 'tokens', 'revoke'],
    async handle(call) {
      const { ctx, req, actor, params } = call
      const id = params[0]!
      if ((await ctx.clients.find(id)) === undefined) return notFoundPage(call)
      try {
        await audited(ctx, actor, 'client.tokens.revoke', { clientId: id }, req.requestId, () => revokeClientTokens(ctx, id))
      } catch (err) {
        return messageInSession(call, escapeHtml(refusal(err).message), 501)
      }
      return seeOther(`${call.chrome.base}/clients/${enc(id)}?revoked=1`)
    },
  },
  {
    method: 'POST',
    pattern: ['clients', ':', 'delete'],
    async handle(call) {
      const { ctx, req, actor, params } = call
      const id = params[0]!
      const deleted = await audited(ctx, actor, 'client.delete', { clientId: id }, req.requestId, async () => {
        if (!(await ctx.clientManager.delete(id))) throw new AdminError(404, 'not_found', 'No such stored client.')
        return true
      }).catch((err: unknown) => {
        refusal(err)
        return false
      })
      if (!deleted) return notFoundPage(call)
      return seeOther(`${call.chrome.base}/clients?deleted=${enc(id)}`)
    },
  },
  {
    method: 'GET',
    pattern: ['people'],
    async handle({ req, view, chrome }) {
      const sub = req.url.searchParams.get('sub')?.trim()
      if (sub !== undefined && sub !== '') return seeOther(`${chrome.base}/people/${enc(sub)}`)
      return peoplePage(view, chrome)
    },
  },
  {
    method: 'GET',
    pattern: ['people', ':'],
    async handle(call) {
      const { ctx, req, view, chrome, params } = call
      const sub = params[0]!
      const q = req.url.searchParams
      const consentGone = q.get('revoked')
      const done =
        consentGone !== null ? notice(view.t('console.consentRevoked', { client: `<code>${escapeHtml(consentGone)}</code>` })) : q.has('ended') ? notice(view.t('console.sessionEnded')) : ''
      try {
        const [consents, sessions] = await Promise.all([listPersonGrants(ctx, sub), sessionsApi(ctx).list(sub)])
        return personPage(view, chrome, sub, consents, sessions, done)
      } catch (err) {
        return messageInSession(call, escapeHtml(refusal(err).message), 501)
      }
    },
  },
  {
    method: 'POST',
    pattern: ['people', ':', 'consents', ':', 'revoke'],
    async handle(call) {
      const { ctx, req, actor, params } = call
      const [sub, clientId] = params as [string, string]
      try {
        await audited(ctx, actor, 'consent.revoke', { sub, clientId }, req.requestId, async () => {
          if (!(await revokeConsent(ctx, sub, clientId))) throw new AdminError(404, 'not_found', 'No such consent.')
        })
      } catch (err) {
        const e = refusal(err)
        if (e.code !== 'not_found') return messageInSession(call, escapeHtml(e.message), 501)
      }
      return seeOther(`${call.chrome.base}/people/${enc(sub)}?revoked=${enc(clientId)}`)
    },
  },
  {
    method: 'POST',
    pattern: ['people', ':', 'sessions', ':', 'end'],
    async handle(call) {
      const { ctx, req, actor, params } = call
      const [sub, sid] = params as [string, string]
      try {
        await audited(ctx, actor, 'session.end', { sub, sid }, req.requestId, async () => {
          if (!(await endUserSession(ctx, sub, sid))) throw new AdminError(404, 'not_found', 'No such session.')
        })
      } catch (err) {
        refusal(err)
      }
      return seeOther(`${call.chrome.base}/people/${enc(sub)}?ended=1`)
    },
  },
  {
    method: 'GET',
    pattern: ['audit'],
    async handle({ ctx, view, chrome }) {
      return auditPage(view, chrome, await ctx.auditTrail.recent(AUDIT_PAGE_SIZE))
    },
  },
]

function match(method: string, segments: string[]): { route?: Route; params: string[]; known: boolean } {
  let known = false
  for (const route of ROUTES) {
    const params = matchPattern(route.pattern, segments)
    if (params === undefined) continue
    known = true
    if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params, known }
  }
  return { params: [], known }
}

function decode(rest: string): string[] | undefined {
  try {
    return rest.split('/').map((s) => decodeURIComponent(s))
  } catch {
    return undefined
  }
}

/**
 * The admin console: one prefix endpoint below `admin.console.path`.
 * Sign-in and its callback are open; every other page needs a live console
 * session of someone the user source still calls an administrator, and every
 * POST also a same-origin request and the session's CSRF token.
 */
export async function adminConsoleEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const base = ctx.routes.adminConsole!
  const rest = req.url.pathname.slice(base.length)
  const view = consoleView(ctx, req)
  if (rest === '/signin' && req.method !== 'POST') return startSignIn(ctx)
  if (rest === CALLBACK_PATH && req.method !== 'POST') return finishSignIn(ctx, req)

  const sessions = consoleSessions(ctx)
  const sessionId = readConsoleCookie(ctx, req, SESSION_COOKIE)
  const session = sessions.touch(sessionId)
  if (session === undefined) {
    // A page opened without a session goes to sign-in; a form posted without one is refused (its content would be lost in a redirect anyway).
    if (req.method === 'POST') return messagePage(view, base, 'console.expiredTitle', 'console.expired', 401, {}, { 'set-cookie': consoleCookie(ctx, SESSION_COOKIE, '', 0) })
    return seeOther(`${base}/signin`)
  }
  // Asked at every request: taking the right away ends console access at once.
  if ((await ctx.users?.isAdministrator?.(session.sub)) !== true) {
    sessions.endAllOf(session.sub)
    return messagePage(view, base, 'console.forbiddenTitle', 'console.forbidden', 403, { sub: `<strong>${escapeHtml(session.sub)}</strong>` }, { 'set-cookie': consoleCookie(ctx, SESSION_COOKIE, '', 0) })
  }
  const chrome: Chrome = { base, sub: session.sub, csrf: csrfToken(ctx, sessionId!) }
  let form: ConsoleForm = { get: () => undefined, getAll: () => [] }
  if (req.method === 'POST') {
    // SECURITY: SameSite=Strict keeps the cookie off cross-site requests; the origin check and the token are the two further walls (OWASP CSRF cheat sheet).
    if (!sameOriginRequest(ctx, req)) return messagePage(view, base, 'console.csrfTitle', 'console.csrf', 403)
    form = readConsoleForm(ctx, req)
    if (!checkCsrfToken(ctx, sessionId!, form.get('csrf') ?? undefined)) return messagePage(view, base, 'console.csrfTitle', 'console.csrf', 403)
  }
  if (rest === '/signout' && req.method === 'POST') {
    sessions.end(sessionId)
    return messagePage(view, base, 'console.signedOutTitle', 'console.signedOut', 200, {}, { 'set-cookie': consoleCookie(ctx, SESSION_COOKIE, '', 0) })
  }
  if (rest === '' || rest === '/') return seeOther(`${base}/clients`)
  const segments = decode(rest.replace(/^\//, ''))
  const found = segments === undefined ? undefined : match(req.method, segments)
  const call: Call = { ctx, req, view, chrome, actor: { sub: session.sub, clientId: CONSOLE_CLIENT_ID }, params: found?.params ?? [], form }
  if (found?.route === undefined) return consoleMessage(view, chrome, view.t('console.notFound'), found?.known === true ? 405 : 404)
  return found.route.handle(call)
}
