import { RedirectError } from '../endpoints/failure.js'
import { OAuthError, StorageNotMigratedError, StorageUnavailableError } from '../errors.js'
import { isFormContentType } from '../http/form.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'
import { summarizeError } from './error-summary.js'
import { writeLog, type LogLevel, type Logger } from './logger.js'

/** Longest client_id or grant_type copied into a line: they are the client's input. */
const MAX_FIELD = 128

/**
 * The log of one endpoint: one line per request, written when the response is
 * ready. Made once per endpoint, and only when the server has a logger: without
 * one, a request pays nothing for it.
 *
 * A line holds the request id, endpoint, method, status, the client_id and
 * grant_type the request named, the duration, and on a refusal the OAuth
 * error code and the reason in words (`OAuthError.detail`, written for logs).
 * Never a secret, a token, a code, a password or an assertion: the client_id
 * is read from the form, the query or the user part of a Basic header, and
 * nothing else of the request is.
 */
export class RequestLog {
  constructor(
    readonly logger: Logger,
    readonly endpoint: string,
    /** Bodies longer than this are not parsed for client_id: the endpoint refused them as too large. */
    readonly maxBodyBytes: number,
  ) {}

  /** Starts the line of one request (its clock starts now). */
  begin(req: GrantkitRequest): RequestLogEntry {
    return new RequestLogEntry(this, req)
  }
}

/** The line of one request in progress. */
export class RequestLogEntry {
  private readonly started = performance.now()
  private thrown: { error: unknown } | undefined
  private shedFor: string | undefined

  constructor(
    private readonly log: RequestLog,
    private readonly req: GrantkitRequest,
  ) {}

  /** What the endpoint threw, which its failure response answers. */
  failed(error: unknown): void {
    this.thrown = { error }
  }

  /** The request was refused by load shedding (`in_flight`, `event_loop_delay`): a warning, not an error of the server. */
  shed(reason: string): void {
    this.shedFor = reason
  }

  /** Writes the line for the response. */
  end(res: GrantkitResponse): void {
    const { req, log } = this
    const line: Record<string, unknown> = { requestId: req.requestId, endpoint: log.endpoint, method: req.method, status: res.status }
    const named = namedClient(req, log.maxBodyBytes)
    if (named.clientId !== undefined) line.clientId = named.clientId
    if (named.grantType !== undefined) line.grantType = named.grantType
    line.durationMs = Math.round((performance.now() - this.started) * 10) / 10
    let level: LogLevel
    if (this.shedFor !== undefined) {
      line.error = 'temporarily_unavailable'
      line.reason = `overloaded: ${this.shedFor}`
      level = 'warn'
    } else level = this.thrown === undefined ? describeAnswer(req, res, line) : describeFailure(this.thrown.error, line)
    writeLog(log.logger, level, line, `${req.method} ${log.endpoint} ${res.status}`)
  }
}

/**
 * A response the endpoint returned rather than threw (a Bearer challenge, a
 * 405): the reason is what the response itself tells the client, from its
 * `WWW-Authenticate` challenge (RFC 6750 §3) or its RFC 6749 §5.2 JSON body.
 * Only error responses are read: a 200's body holds tokens.
 */
function describeAnswer(req: GrantkitRequest, res: GrantkitResponse, line: Record<string, unknown>): LogLevel {
  if (res.status < 400) return 'info'
  if (res.status === 405) line.reason = `method ${req.method.slice(0, 16)} not allowed`
  else if (res.status === 403 && req.method === 'OPTIONS') line.reason = 'CORS preflight refused: origin or method not allowed'
  else {
    const told = toldInResponse(res)
    if (told.error !== undefined) line.error = told.error
    if (told.reason !== undefined) line.reason = told.reason
  }
  return res.status >= 500 ? 'error' : 'info'
}

/** Longest error body parsed for its reason: ours are short, and a page is not JSON. */
const MAX_ERROR_BODY = 4096

function toldInResponse(res: GrantkitResponse): { error?: string; reason?: string } {
  const challenge = res.headers['www-authenticate']
  if (typeof challenge === 'string') {
    const error = /\berror="([^"]*)"/.exec(challenge)?.[1]
    const description = /\berror_description="([^"]*)"/.exec(challenge)?.[1]
    // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
    return { error, reason: description ?? error ?? 'no credentials' }
  }
  const type = res.headers['content-type']
  if (typeof type !== 'string' || !type.startsWith('application/json') || res.body === undefined || res.body.length > MAX_ERROR_BODY) return {}
  try {
    const body = JSON.parse(res.body) as { error?: unknown; error_description?: unknown }
    const error = typeof body.error === 'string' ? body.error : undefined
    return { error, reason: typeof body.error_description === 'string' ? body.error_description : error }
  } catch {
    return {}
  }
}

/** The reason in words and the level: a refusal is info, storage trouble warn, a missing migration and a bug error. */
function describeFailure(error: unknown, line: Record<string, unknown>): LogLevel {
  const oauth = error instanceof RedirectError ? error.oauth : error instanceof OAuthError ? error : undefined
  if (oauth !== undefined) {
    line.error = oauth.error
    line.reason = oauth.detail ?? oauth.description ?? oauth.error
    return oauth.status >= 500 ? 'error' : 'info'
  }
  line.err = summarizeError(error)
  if (error instanceof StorageNotMigratedError) {
    line.error = 'temporarily_unavailable'
    line.reason = `storage not migrated: ${(error as Error).message}`
    return 'error'
  }
  if (error instanceof StorageUnavailableError) {
    line.error = 'temporarily_unavailable'
    line.reason = 'storage unavailable'
    return 'warn'
  }
  line.error = 'server_error'
  line.reason = 'internal error'
  return 'error'
}

/** The client_id and grant_type a request names, as it names them (not yet authenticated). */
function namedClient(req: GrantkitRequest, maxBodyBytes: number): { clientId?: string; grantType?: string } {
  const form = formOf(req, maxBodyBytes)
  const clientId = form?.get('client_id') ?? req.url.searchParams.get('client_id') ?? basicUser(req.headers.authorization)
  const grantType = form?.get('grant_type') ?? undefined
  const out: { clientId?: string; grantType?: string } = {}
  if (clientId !== undefined && clientId !== null && clientId !== '') out.clientId = clientId.slice(0, MAX_FIELD)
  if (grantType !== undefined && grantType !== '') out.grantType = grantType.slice(0, MAX_FIELD)
  return out
}

function formOf(req: GrantkitRequest, maxBodyBytes: number): URLSearchParams | undefined {
  if (req.form !== undefined) return req.form
  if (req.body === undefined || req.bodyTooLarge === true || req.body.length > maxBodyBytes) return undefined
  if (!isFormContentType(req.headers['content-type'])) return undefined
  return new URLSearchParams(req.body)
}

/**
 * The user part of `Authorization: Basic`, decoded (RFC 6749 §2.3.1: form-
 * urlencoded, then joined with ":"). Only what comes before the colon is
 * looked at: the secret after it never reaches a line. Without a colon the
 * header is malformed and could be anything, so nothing is taken.
 */
function basicUser(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const m = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header)
  if (m === null) return undefined
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) return undefined
  const user = decoded.slice(0, colon)
  try {
    return decodeURIComponent(user.replace(/\+/g, ' '))
  } catch {
    return user
  }
}
