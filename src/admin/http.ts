import { jsonNoStore } from '../http/response.js'
import type { GrantkitRequest, GrantkitResponse } from '../http/types.js'

/**
 * A refused admin call, answered as `{ error, error_description }` with its
 * status. The description is safe to show the caller: it names a field or a
 * rule, never a secret.
 */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'AdminError'
  }
}

/** The JSON answer of an admin route; nothing an admin API returns may be cached. */
export function adminJson(status: number, body: unknown): GrantkitResponse {
  return jsonNoStore(status, body)
}

export function adminErrorResponse(err: AdminError): GrantkitResponse {
  return jsonNoStore(err.status, { error: err.code, error_description: err.message })
}

/**
 * The JSON object in the body. Only `application/json` is read (415
 * otherwise); the size is bounded by the server's `maxBodyBytes` (413); the
 * top level must be an object.
 */
export function readJsonObject(req: GrantkitRequest, maxBodyBytes: number, optional = false): Record<string, unknown> {
  const body = req.body ?? ''
  if (optional && body === '') return {}
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/json') throw new AdminError(415, 'invalid_request', 'The body must be application/json.')
  if (req.bodyTooLarge === true || new TextEncoder().encode(body).length > maxBodyBytes) throw new AdminError(413, 'invalid_request', `The body exceeds ${maxBodyBytes} bytes.`)
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    throw new AdminError(400, 'invalid_request', 'The body is not valid JSON.')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AdminError(400, 'invalid_request', 'The body must be a JSON object.')
  return value as Record<string, unknown>
}

/** Refuses members of `body` other than `known`: a misspelt option must not be silently ignored. */
export function refuseUnknownFields(body: Record<string, unknown>, known: readonly string[]): void {
  for (const name of Object.keys(body)) {
    if (!known.includes(name)) throw new AdminError(400, 'invalid_request', `Unknown field "${name}"; expected ${known.map((k) => `"${k}"`).join(', ') || 'none'}.`)
  }
}

/**
 * The decoded parameters when `segments` fit a route pattern (`':'` stands for
 * one non-empty segment), else undefined. Shared by the admin API and the console.
 */
export function matchPattern(pattern: readonly string[], segments: readonly string[]): string[] | undefined {
  if (pattern.length !== segments.length) return undefined
  const params: string[] = []
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!
    const segment = segments[i]!
    if (p !== ':') {
      if (p !== segment) return undefined
    } else {
      if (segment === '') return undefined
      params.push(segment)
    }
  }
  return params
}
