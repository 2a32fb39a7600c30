import { OAuthError } from '../errors.js'
import type { GrantkitRequest } from './types.js'

/** Parameters of a form body: one value per name, empty values dropped. */
export type FormParams = ReadonlyMap<string, string>

const FORM_TYPE = 'application/x-www-form-urlencoded'

/** True when the content type is a form, ignoring parameters such as charset. */
export function isFormContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  const semi = contentType.indexOf(';')
  const media = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
  return media === FORM_TYPE
}

function decodeComponent(raw: string): string {
  // RFC 6749 Appendix B: application/x-www-form-urlencoded, '+' is a space.
  const plussed = raw.indexOf('+') === -1 ? raw : raw.replace(/\+/g, ' ')
  if (plussed.indexOf('%') === -1) return plussed
  try {
    return decodeURIComponent(plussed)
  } catch (cause) {
    throw new OAuthError('invalid_request', {
      description: 'The form body is not valid application/x-www-form-urlencoded UTF-8.',
      detail: 'malformed percent-encoding',
      cause,
    })
  }
}

function duplicate(name: string): OAuthError {
  // RFC 6749 §3.1 and §3.2: parameters MUST NOT be included more than once.
  return new OAuthError('invalid_request', {
    description: `The parameter "${name.slice(0, 64)}" is repeated.`,
  })
}

/**
 * Parses a form body strictly: malformed percent-encoding and repeated
 * parameters are `invalid_request`; parameters sent without a value are treated
 * as omitted (RFC 6749 §3.1). Works from `form` when an adapter already parsed it.
 */
export function readForm(req: GrantkitRequest): FormParams {
  const out = new Map<string, string>()
  const seen = new Set<string>()
  if (req.form !== undefined) {
    for (const [name, value] of req.form) {
      if (seen.has(name)) throw duplicate(name)
      seen.add(name)
      if (value !== '') out.set(name, value)
    }
    return out
  }
  const body = req.body
  if (body === undefined || body === '') return out
  let start = 0
  while (start <= body.length) {
    let end = body.indexOf('&', start)
    if (end === -1) end = body.length
    if (end > start) {
      const pair = body.slice(start, end)
      const eq = pair.indexOf('=')
      const name = decodeComponent(eq === -1 ? pair : pair.slice(0, eq))
      const value = eq === -1 ? '' : decodeComponent(pair.slice(eq + 1))
      if (seen.has(name)) throw duplicate(name)
      seen.add(name)
      if (value !== '') out.set(name, value)
    }
    start = end + 1
  }
  return out
}
