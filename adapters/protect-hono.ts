import type { Context, MiddlewareHandler } from 'hono'
import type { GrantkitRequest } from '../src/http/types.js'
import { checkRequiredScopes, type ResourceProtector } from '../src/resource/protector.js'
import type { VerifiedToken } from '../src/resource/types.js'
import { DEFAULT_MAX_BODY_BYTES } from './incoming.js'
import { headersOfWeb, webResponseOf } from './web.js'

/** Hono variables `protect` sets: `c.get('grantkit')` is the verified token. */
export interface ProtectEnv {
  Variables: { grantkit: VerifiedToken }
}

/**
 * The body, through Hono's cache so the handlers after us can read it again;
 * a declared length over the limit is not read at all.
 */
async function readBody(c: Context, request: GrantkitRequest, limit: number): Promise<void> {
  if (Number(c.req.header('content-length') ?? 0) > limit) {
    request.bodyTooLarge = true
    return
  }
  const cachedForm = c.req.bodyCache.formData
  if (cachedForm !== undefined) {
    // parseBody() kept a FormData, whose text would be multipart: rebuild the urlencoded form.
    const form = new URLSearchParams()
    ;(await cachedForm).forEach((value, name) => form.append(name, typeof value === 'string' ? value : value.name))
    request.form = form
    return
  }
  const text = await c.req.text()
  if (Buffer.byteLength(text) > limit) request.bodyTooLarge = true
  else if (text !== '') request.body = text
}

/**
 * Hono middleware that lets a request through only with a valid bearer token
 * carrying every scope in `scopes`, and sets `c.set('grantkit', token)`.
 * Otherwise it returns the core's RFC 6750 answer.
 *
 * @example
 * app.get('/orders', protect(protector, ['orders:read']), (c) => c.json({ for: c.get('grantkit').sub }))
 */
export function protect(protector: ResourceProtector, scopes?: readonly string[], options: { maxBodyBytes?: number } = {}): MiddlewareHandler<ProtectEnv> {
  const required = checkRequiredScopes(scopes, 'scopes')
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  return async (c, next) => {
    const request: GrantkitRequest = { method: c.req.method, url: new URL(c.req.url), headers: headersOfWeb(c.req.raw.headers) }
    if (protector.readsBody(request)) await readBody(c, request, limit)
    const result = await protector.check(request, required)
    if (!result.ok) return webResponseOf(result.response)
    c.set('grantkit', result.token)
    await next()
  }
}

/**
 * Hono middleware serving the protected resource metadata (RFC 9728) of a
 * protector built with `resource`, at its well-known path; every other
 * request goes on.
 *
 * @example
 * app.use(resourceMetadata(protector))
 */
export function resourceMetadata(protector: ResourceProtector): MiddlewareHandler {
  if (protector.resourceMetadataUrl === undefined) throw new TypeError('protector: has no resource, so no metadata to serve (RFC 9728)')
  return async (c, next) => {
    const answer = protector.handleMetadata({ method: c.req.method, url: new URL(c.req.url), headers: {} })
    if (answer !== undefined) return webResponseOf(answer)
    await next()
  }
}
