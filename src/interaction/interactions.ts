import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { constantTimeEqual, hashToken } from '../crypto/random.js'
import { OAuthError } from '../errors.js'
import { readCookie, serializeCookie } from '../http/cookies.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { completeAuthorization } from '../authorize/complete.js'
import { redirectToClient } from '../authorize/target.js'
import { deviceDonePage } from '../pages/device.js'
import { errorPage } from '../pages/html.js'
import { requestView, type PageView } from '../pages/view.js'
import type { AuthorizationRequest, InteractionRecord } from '../storage/types.js'
import { startSession } from './session.js'
import { requireStore } from '../storage/features.js'
import { Scope } from '../tokens/scope.js'

/** Binds an interaction to the browser that started it, so a link to it is useless to anyone else. */
const INTERACTION_COOKIE = 'grantkit_interaction'

/** The browser-binding cookie; an embedder's own UI may live outside the issuer's path, so its cookie is site-wide. */
function bindingCookie(ctx: ServerContext, value: string, maxAge: number): string {
  return serializeCookie(INTERACTION_COOKIE, value, { ...bindingCookiePlace(ctx), maxAge })
}

/** Where the binding cookie lives; its name (`__Host-` or `__Secure-`) follows from the path. */
function bindingCookiePlace(ctx: ServerContext): { secure: boolean; path: string } {
  return { secure: ctx.cookies.secure, path: ctx.builtInPages ? ctx.cookies.path : '/' }
}

/** What a login or consent UI shows. */
export interface InteractionDetails {
  uid: string
  /** The step the person is at. */
  prompt: 'login' | 'consent'
  /**
   * The client. `host` is set for a client described by a Client ID Metadata
   * Document: the host of its client_id URL, which a UI should show beside the
   * name, which the client chose itself (CIMD §8.5).
   */
  client: { id: string; name: string; host?: string }
  /** Scopes requested. */
  scopes: string[]
  /** Scopes already granted earlier (consent is asked only for the rest). */
  grantedScopes: string[]
  loginHint?: string
  /** Subject already signed in, at the consent step. */
  sub?: string
  /** Anti-CSRF value for the UI's forms (the built-in pages use it). */
  csrf: string
  /** The request's `ui_locales` (OIDC Core §3.1.2.1): languages for the UI, most preferred first. */
  uiLocales?: string[]
}

/** How a login or consent UI finishes an interaction. */
export type InteractionResult =
  | {
      /** The person who signed in. `authTime` defaults to now. */
      login?: { sub: string; authTime?: number }
      /** What the person granted; `scope` defaults to everything requested. */
      consent?: { scope?: string }
    }
  | { error: 'access_denied' | 'login_required' | 'consent_required' | 'interaction_required'; description?: string }

type Step = 'login' | 'consent' | 'done'

/** What a request still needs, given who is signed in and what they granted before. */
export async function nextStep(
  ctx: ServerContext,
  request: AuthorizationRequest,
  login: InteractionRecord['login'],
  consentedNow: boolean,
): Promise<{ step: Step; remembered: string | null }> {
  const now = ctx.now()
  const stale = login !== undefined && !login.fresh && ((request.maxAge !== undefined && now - login.authTime > request.maxAge) || request.prompt.includes('login'))
  // OIDC Core §3.1.2.1: prompt=login and max_age force a new authentication.
  if (login === undefined || stale) return { step: 'login', remembered: null }
  if (consentedNow) return { step: 'done', remembered: null }
  const remembered = await ctx.storage.consents.find(login.sub, request.clientId)
  if (request.prompt.includes('consent')) return { step: 'consent', remembered }
  // A client's first authorization is always shown to the person, even when it
  // asks for no scope: what is consented to is the client itself (OIDC Core §3.1.2.4).
  if (remembered === null) return { step: 'consent', remembered }
  const covered = Scope.parse(request.scope).isSubsetOf(Scope.parse(remembered ?? ''))
  return { step: covered ? 'done' : 'consent', remembered }
}

/** Sends the person to the login/consent UI for a request that needs them. */
export async function beginInteraction(
  ctx: ServerContext,
  request: AuthorizationRequest,
  login: InteractionRecord['login'],
  device?: InteractionRecord['device'],
): Promise<GrantkitResponse> {
  const uid = ctx.randomToken()
  const browser = ctx.randomToken()
  const record: InteractionRecord = {
    uid,
    request,
    browserHash: hashToken(browser),
    csrf: ctx.randomToken(),
    expiresAt: Math.floor(ctx.now()) + ctx.interactionTtl,
  }
  if (login !== undefined) record.login = login
  if (device !== undefined) record.device = device
  await ctx.storage.interactions.save(record)
  return {
    status: 303,
    headers: {
      location: ctx.interactionUrl(uid),
      'cache-control': 'no-store',
      'set-cookie': bindingCookie(ctx, browser, ctx.interactionTtl),
    },
  }
}

/** The interaction with this uid, if the request comes from the browser that started it. */
async function findInteraction(ctx: ServerContext, req: GrantkitRequest, uid: string): Promise<InteractionRecord | null> {
  if (uid.length > 128) return null
  const record = await ctx.storage.interactions.find(uid)
  if (record === null) return null
  const browser = readCookie(req.headers.cookie, INTERACTION_COOKIE, bindingCookiePlace(ctx))
  if (browser === undefined || !constantTimeEqual(hashToken(browser), record.browserHash)) return null
  return record
}

async function lookupClient(ctx: ServerContext, id: string): Promise<Client | undefined> {
  const found = ctx.clients.find(id)
  return found instanceof Promise ? await found : found
}

/**
 * What a login/consent UI needs to render the step, or null when the uid is
 * unknown, expired, or was started in another browser.
 */
export async function interactionDetails(ctx: ServerContext, req: GrantkitRequest, uid: string): Promise<InteractionDetails | null> {
  const record = await findInteraction(ctx, req, uid)
  if (record === null) return null
  const client = await lookupClient(ctx, record.request.clientId)
  if (client === undefined) return null
  const { step, remembered } = await nextStep(ctx, record.request, record.login, false)
  const details: InteractionDetails = {
    uid,
    prompt: step === 'login' ? 'login' : 'consent',
    client: {
      id: client.id,
      name: typeof client.metadata.client_name === 'string' ? client.metadata.client_name : client.id,
      ...(client.metadataDocument !== undefined && { host: client.metadataDocument.host }),
    },
    scopes: [...Scope.parse(record.request.scope)],
    grantedScopes: [...Scope.parse(remembered ?? '')],
    csrf: record.csrf,
  }
  if (record.request.loginHint !== undefined) details.loginHint = record.request.loginHint
  if (record.request.uiLocales !== undefined) details.uiLocales = [...record.request.uiLocales]
  if (record.login !== undefined && step !== 'login') details.sub = record.login.sub
  return details
}

/** Records the person's answer on the device authorization (RFC 8628 §3.3) and tells them they are done. */
async function finishDevice(
  ctx: ServerContext,
  view: PageView,
  record: InteractionRecord,
  approval: { sub: string; authTime: number; scope: string } | undefined,
  cookies: string | string[],
): Promise<GrantkitResponse> {
  const userCodeHash = record.device!.userCodeHash
  const decided = await requireStore(ctx.storage, 'deviceCodes', 'the device flow').decide(userCodeHash, approval === undefined ? { status: 'denied' } : { status: 'approved', ...approval })
  if (!decided) return errorPage(view, 'expired_token', 'device.codeUsed')
  const client = await lookupClient(ctx, record.request.clientId)
  const name = client === undefined ? record.request.clientId : typeof client.metadata.client_name === 'string' ? client.metadata.client_name : client.id
  const done = deviceDonePage(view, approval !== undefined, name)
  done.headers['set-cookie'] = cookies
  return done
}

const expiredPage = (view: PageView): GrantkitResponse => errorPage(view, 'invalid_request', 'error.expired')

/**
 * Finishes a step of an interaction. After a login that still needs consent,
 * the person is sent back to the UI; once nothing is missing, the client gets
 * its code or tokens; a denial sends it access_denied (RFC 6749 §4.1.2.1).
 */
export async function finishInteraction(ctx: ServerContext, req: GrantkitRequest, uid: string, result: InteractionResult): Promise<GrantkitResponse> {
  const record = await findInteraction(ctx, req, uid)
  const view = requestView(ctx, req, record?.request.uiLocales)
  if (record === null) return expiredPage(view)
  const request = record.request
  const target = { redirectUri: request.redirectUri, responseMode: request.responseMode, ...(request.state !== undefined && { state: request.state }) }
  const clearBinding = bindingCookie(ctx, '', 0)

  if ('error' in result) {
    if ((await ctx.storage.interactions.consume(uid)) === null) return expiredPage(view)
    if (record.device !== undefined) return finishDevice(ctx, view, record, undefined, clearBinding)
    const err = new OAuthError(result.error, result.description !== undefined ? { description: result.description } : {})
    return redirectToClient(ctx, target, { error: err.error, error_description: err.description }, { 'set-cookie': clearBinding })
  }

  const cookies: string[] = []
  if (result.login !== undefined) {
    if (typeof result.login.sub !== 'string' || result.login.sub === '') throw new TypeError('finish: login.sub must be a non-empty string')
    const authTime = Math.floor(result.login.authTime ?? ctx.now())
    const started = await startSession(ctx, req, result.login.sub, authTime)
    record.login = { sub: result.login.sub, authTime, fresh: true, session: started.session.idHash }
    cookies.push(started.cookie)
  }
  let granted: string | undefined
  if (result.consent !== undefined && record.login !== undefined) {
    const requested = Scope.parse(request.scope)
    const chosen = result.consent.scope === undefined ? requested : Scope.parse(result.consent.scope)
    if (!chosen.isSubsetOf(requested)) throw new TypeError('finish: consent.scope must be within the requested scope')
    granted = String(chosen)
  }

  const { step } = await nextStep(ctx, request, record.login, granted !== undefined)
  if (step !== 'done') {
    await ctx.storage.interactions.save(record)
    return { status: 303, headers: { location: ctx.interactionUrl(uid), 'cache-control': 'no-store', ...(cookies.length > 0 && { 'set-cookie': cookies }) } }
  }
  // Consumed atomically: a double-submitted form cannot produce two codes.
  if ((await ctx.storage.interactions.consume(uid)) === null) return expiredPage(view)
  const client = await lookupClient(ctx, request.clientId)
  if (client === undefined) return errorPage(view, 'invalid_client', 'error.clientGone')
  const login = record.login!
  const scope = granted ?? request.scope
  if (granted !== undefined) {
    const before = (await ctx.storage.consents.find(login.sub, client.id)) ?? ''
    const union = String(Scope.of([...Scope.parse(before), ...Scope.parse(granted)]))
    await ctx.storage.consents.save(login.sub, client.id, union, Math.floor(ctx.now()) + ctx.consentTtl)
  }
  cookies.push(clearBinding)
  if (record.device !== undefined) return finishDevice(ctx, view, record, { sub: login.sub, authTime: login.authTime, scope }, cookies)
  const session = login.session === undefined ? null : await ctx.storage.sessions.find(login.session)
  return completeAuthorization(ctx, client, request, { sub: login.sub, authTime: login.authTime, scope, ...(session !== null && { session }) }, { 'set-cookie': cookies }, req.requestId)
}
