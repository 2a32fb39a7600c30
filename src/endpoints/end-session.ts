import type { Client } from '../clients/metadata.js'
import type { ServerContext } from '../context.js'
import { OAuthError } from '../errors.js'
import { signCookieValue, verifyCookieValue } from '../http/cookies.js'
import { singleValues, type FormParams } from '../http/form.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { clearSessionCookie, readSession, sessionHashOf } from '../interaction/session.js'
import { postLogoutRedirectUris } from '../logout/client-metadata.js'
import { endSession } from '../logout/end-session.js'
import { verifyIdTokenHint, type IdTokenHint } from '../logout/id-token-hint.js'
import { readPageForm } from '../pages/form.js'
import { logoutConfirmationPage, signedOutPage } from '../pages/logout.js'
import { parseUiLocales } from '../pages/i18n/negotiate.js'
import { requestView } from '../pages/view.js'
import type { SessionRecord } from '../storage/types.js'

/** The parameters of RP-Initiated Logout §2; others are ignored. */
const PARAMETERS = new Set(['id_token_hint', 'logout_hint', 'client_id', 'post_logout_redirect_uri', 'state', 'ui_locales'])

/** What the confirmation form carries back; the hint is not carried: the confirmation replaces it. */
const CARRIED = ['client_id', 'post_logout_redirect_uri', 'state'] as const

/** The purpose of the confirmation's CSRF value (a MAC of the session, so it is good for that session only). */
const CSRF_PURPOSE = 'logout-confirmation'

/** A logout request whose client and post-logout redirect URI have been checked. */
interface LogoutRequest {
  client: Client | undefined
  hint: IdTokenHint | null
  /** Set only when it exactly matches one the client registered. */
  redirectUri: string | undefined
  state: string | undefined
  /** The person's preferred languages for the pages (§2 `ui_locales`). */
  uiLocales: string | undefined
}

const invalid = (description: string, detail?: string): OAuthError => new OAuthError('invalid_request', { description, ...(detail !== undefined && { detail }) })

async function findClient(ctx: ServerContext, id: string): Promise<Client | undefined> {
  const found = ctx.clients.find(id)
  return found instanceof Promise ? await found : found
}

/**
 * Checks a logout request (OIDC RP-Initiated Logout §2, §3). Until the
 * post_logout_redirect_uri is known to be registered for the client, every
 * error is a page, never a redirect (§3: "MUST NOT perform post-logout
 * redirection" to a URI that does not exactly match).
 */
async function checkRequest(ctx: ServerContext, params: FormParams): Promise<LogoutRequest> {
  const hint = verifyIdTokenHint(ctx, params.get('id_token_hint'))
  const clientId = params.get('client_id')
  // §2: when both are sent, client_id must be the hint's audience.
  if (clientId !== undefined && hint !== null && !hint.aud.includes(clientId)) {
    throw invalid('The logout request names another application than its ID token.', `client_id ${clientId} is not in the hint's aud`)
  }
  let client: Client | undefined
  if (clientId !== undefined) {
    client = await findClient(ctx, clientId.slice(0, 256))
    if (client === undefined) throw invalid('The application that asked to sign you out is not registered.', 'unknown client_id')
  } else if (hint !== null && hint.aud.length === 1) {
    client = await findClient(ctx, hint.aud[0]!)
  }
  const redirect = params.get('post_logout_redirect_uri')
  if (redirect !== undefined) {
    // §3: the URI is checked against the client's registration, so the client must be known.
    if (client === undefined) throw invalid('The logout request does not say which application it comes from.', 'post_logout_redirect_uri without client_id or a valid id_token_hint')
    if (!postLogoutRedirectUris(client).includes(redirect)) {
      throw invalid('The address to return to after signing out is not registered for this application.', `post_logout_redirect_uri not registered for ${client.id}`)
    }
  }
  return { client, hint, redirectUri: redirect, state: params.get('state'), uiLocales: params.get('ui_locales') }
}

/** Back to the client's registered URI with `state` (§3), or a page saying the person is signed out. */
function finish(ctx: ServerContext, req: GrantkitRequest, request: LogoutRequest, headers: Record<string, string | string[]>): GrantkitResponse {
  if (request.redirectUri === undefined) return signedOutPage(requestView(ctx, req, parseUiLocales(request.uiLocales)), headers)
  const url = new URL(request.redirectUri)
  if (request.state !== undefined) url.searchParams.append('state', request.state)
  return { status: 303, headers: { location: url.toString(), 'cache-control': 'no-store', pragma: 'no-cache', ...headers } }
}

function csrfFor(ctx: ServerContext, session: SessionRecord): string {
  const signed = signCookieValue(ctx.cookieSecrets, CSRF_PURPOSE, session.idHash)
  return signed.slice(signed.lastIndexOf('.') + 1)
}

function csrfMatches(ctx: ServerContext, session: SessionRecord, given: string | undefined): boolean {
  if (given === undefined || given.length > 128 || given.includes('.')) return false
  return verifyCookieValue(ctx.cookieSecrets, CSRF_PURPOSE, `${session.idHash}.${given}`) === session.idHash
}

/** Whether the request is known to come from the person of this session: a valid hint for it (§2: the OP asks otherwise). */
function trusted(request: LogoutRequest, session: SessionRecord): boolean {
  const hint = request.hint
  return hint !== null && hint.sub === session.sub && (hint.sid === undefined || hint.sid === session.sid)
}

/** Query (GET) or form (POST) parameters, one value each: a repeat is invalid_request. */
function readParameters(ctx: ServerContext, req: GrantkitRequest): FormParams {
  if (req.method === 'POST') return new Map([...readPageForm(ctx, req)].filter(([name]) => PARAMETERS.has(name)))
  const values = new Map<string, string[]>()
  for (const [name, value] of req.url.searchParams) values.set(name, [...(values.get(name) ?? []), value])
  return singleValues(values, undefined, PARAMETERS)
}

/**
 * The end-session endpoint (OIDC RP-Initiated Logout §2), GET or POST. With a
 * valid `id_token_hint` for the browser's session the session ends at once;
 * otherwise the person is asked to confirm. Without a session there is nothing
 * to end: the person is sent back (or told they are signed out).
 */
export async function endSessionEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const params = readParameters(ctx, req)
  const request = await checkRequest(ctx, params)
  // A form posted from the client's site carries no SameSite=Lax cookie, so the
  // session would look absent; the same request as a top-level GET does carry it.
  if (req.method === 'POST' && sessionHashOf(ctx, req) === undefined) {
    const again = new URL(ctx.endpoints.endSession!)
    for (const [name, value] of params) again.searchParams.set(name, value)
    return { status: 303, headers: { location: again.toString(), 'cache-control': 'no-store' } }
  }
  const session = await readSession(ctx, req)
  if (session === null) return finish(ctx, req, request, { 'set-cookie': clearSessionCookie(ctx) })
  // HEAD is for checking a link, never for signing anyone out.
  if (req.method !== 'HEAD' && trusted(request, session)) {
    await endSession(ctx, session, 'logout', req.requestId)
    return finish(ctx, req, request, { 'set-cookie': clearSessionCookie(ctx) })
  }
  const carry: Record<string, string> = {}
  if (request.client !== undefined) carry.client_id = request.client.id
  if (request.redirectUri !== undefined) carry.post_logout_redirect_uri = request.redirectUri
  if (request.state !== undefined && request.redirectUri !== undefined) carry.state = request.state
  const name = request.client?.metadata.client_name
  return logoutConfirmationPage(requestView(ctx, req, parseUiLocales(request.uiLocales)), {
    action: ctx.endpoints.endSessionConfirm!,
    csrf: csrfFor(ctx, session),
    sub: session.sub,
    carry,
    ...(request.client !== undefined && { clientName: typeof name === 'string' ? name : request.client.id }),
  })
}

/** The confirmation form's target: checks its CSRF value against the session, then ends it. */
export async function endSessionConfirmEndpoint(ctx: ServerContext, req: GrantkitRequest): Promise<GrantkitResponse> {
  const form = readPageForm(ctx, req)
  const params = new Map<string, string>()
  for (const name of CARRIED) {
    const value = form.get(name)
    if (value !== undefined) params.set(name, value)
  }
  const request = await checkRequest(ctx, params)
  const session = await readSession(ctx, req)
  if (session === null) return finish(ctx, req, request, { 'set-cookie': clearSessionCookie(ctx) })
  if (!csrfMatches(ctx, session, form.get('csrf'))) throw new OAuthError('invalid_request', { status: 403, description: 'The form has expired. Go back and try again.' })
  await endSession(ctx, session, 'logout', req.requestId)
  return finish(ctx, req, request, { 'set-cookie': clearSessionCookie(ctx) })
}
