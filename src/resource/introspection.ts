import { hashToken } from '../crypto/random.js'
import { audienceList, dpopBinding, isNonEmptyString, scopeList, type TokenVerifier, type VerifyOutcome } from './types.js'

export interface IntrospectionVerifierSettings {
  endpoint: string
  clientId: string
  clientSecret: string
  /** Seconds an active answer is kept (never past the token's exp). 0 turns caching off. */
  cacheSeconds: number
  /** Seconds an inactive answer is kept. */
  inactiveCacheSeconds: number
  /** Most answers kept at once; the oldest goes first. */
  cacheMaxEntries: number
  /** Seconds before a request to the endpoint is abandoned. */
  timeout: number
  now: () => number
  fetch: typeof globalThis.fetch
}

type Settled = Exclude<VerifyOutcome, { status: 'unavailable' }>

/** RFC 6749 §2.3.1: client id and secret are form-encoded before they are joined for Basic. */
function basicAuth(id: string, secret: string): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+')
  return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')
}

/** An RFC 7662 §2.2 answer as a verdict on a bearer access token. */
function judge(answer: Record<string, unknown>, now: number): Settled {
  if (answer.active !== true) return { status: 'invalid', detail: 'introspection: inactive' }
  // RFC 7662 §2.2: token_type is optional; when given it must say bearer, or DPoP
  // (RFC 9449 §6.2) for a token bound by cnf.jkt, so a refresh token (grantkit
  // says "refresh_token") is not taken for an access token.
  const type = typeof answer.token_type === 'string' ? answer.token_type.toLowerCase() : answer.token_type
  // SECURITY: a confirmation this protector cannot check (mTLS, RFC 8705 §3) is refused; a DPoP
  // binding goes to the protector, which refuses the token without a proof by that key.
  const jkt = dpopBinding(answer.cnf)
  if (jkt === null) return { status: 'invalid', detail: 'introspection: sender-constrained by other than DPoP' }
  if (type !== undefined && type !== 'bearer' && !(type === 'dpop' && jkt !== undefined)) {
    return { status: 'invalid', detail: `introspection: token_type ${String(answer.token_type)}` }
  }
  const scope = scopeList(answer.scope)
  const aud = audienceList(answer.aud)
  // exp bounds the cache, sub and client_id are promised to the application: all three are required here.
  if (!isNonEmptyString(answer.sub) || !isNonEmptyString(answer.client_id) || typeof answer.exp !== 'number' || scope === null || aud === null) {
    return { status: 'invalid', detail: 'introspection: active answer without sub, client_id or exp' }
  }
  if (answer.exp <= now) return { status: 'invalid', detail: 'introspection: expired' }
  return {
    status: 'active',
    token: {
      sub: answer.sub,
      clientId: answer.client_id,
      scope,
      exp: answer.exp,
      ...(typeof answer.iat === 'number' && { iat: answer.iat }),
      aud,
      claims: answer,
      ...(jkt !== undefined && { jkt }),
    },
  }
}

/**
 * Verifies opaque tokens at a remote introspection endpoint (RFC 7662),
 * authenticating with client_secret_basic. Answers are cached briefly, keyed
 * by the SHA-256 of the token, never the token; concurrent checks of the same
 * token share one request.
 */
export function createIntrospectionVerifier(s: IntrospectionVerifierSettings): TokenVerifier {
  const authorization = basicAuth(s.clientId, s.clientSecret)
  const cache = new Map<string, { until: number; outcome: Settled }>()
  const inFlight = new Map<string, Promise<VerifyOutcome>>()

  function remember(key: string, outcome: Settled, now: number): void {
    // SECURITY: a cached answer outlives a revocation by up to cacheSeconds; that is the trade-off
    // for not asking on every request. An active answer never outlives the token's exp.
    const until = outcome.status === 'active' ? Math.min(now + s.cacheSeconds, outcome.token.exp) : now + Math.min(s.inactiveCacheSeconds, s.cacheSeconds)
    if (until <= now) return
    cache.delete(key)
    while (cache.size >= s.cacheMaxEntries) {
      const oldest = cache.keys().next()
      if (oldest.done === true) break
      cache.delete(oldest.value)
    }
    cache.set(key, { until, outcome })
  }

  async function ask(token: string): Promise<VerifyOutcome> {
    let answer: unknown
    try {
      const res = await s.fetch(s.endpoint, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(Math.round(s.timeout * 1000)),
      })
      // Anything but 200 (our credentials refused, an outage, a redirect) says nothing about the token.
      if (res.status !== 200) return { status: 'unavailable', cause: new Error(`introspection: HTTP ${res.status}`) }
      answer = await res.json()
    } catch (cause) {
      return { status: 'unavailable', cause }
    }
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
      return { status: 'unavailable', cause: new Error('introspection: the answer is not a JSON object') }
    }
    return judge(answer as Record<string, unknown>, s.now())
  }

  return async (token) => {
    if (token.length === 0 || token.length > 8192) return { status: 'invalid', detail: 'token length' }
    const key = hashToken(token)
    const now = s.now()
    const hit = cache.get(key)
    if (hit !== undefined) {
      if (hit.until > now) return hit.outcome
      cache.delete(key)
    }
    let pending = inFlight.get(key)
    if (pending === undefined) {
      pending = ask(token).then((outcome) => {
        if (outcome.status !== 'unavailable' && s.cacheSeconds > 0) remember(key, outcome, s.now())
        return outcome
      }).finally(() => inFlight.delete(key))
      inFlight.set(key, pending)
    }
    return pending
  }
}
