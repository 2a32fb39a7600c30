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

/** Every value of every parameter of a form body, in order; empty values kept, so a repeat is always seen. */
export type FormValues = ReadonlyMap<string, readonly string[]>

/**
 * Parses a form body, keeping repeated parameters (RFC 8707 `resource` and
 * RFC 8693 `audience` may repeat; which may is the reader's to decide, see
 * `singleValues`). Malformed percent-encoding is `invalid_request`. Works from
 * `form` when an adapter already parsed it.
 */
export function readFormValues(req: GrantkitRequest): FormValues {
  const out = new Map<string, string[]>()
  const add = (name: string, value: string) => {
    const list = out.get(name)
    if (list === undefined) out.set(name, [value])
    else list.push(value)
  }
  if (req.form !== undefined) {
    for (const [name, value] of req.form) add(name, value)
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
      add(decodeComponent(eq === -1 ? pair : pair.slice(0, eq)), eq === -1 ? '' : decodeComponent(pair.slice(eq + 1)))
    }
    start = end + 1
  }
  return out
}

/**
 * One value per parameter: a parameter repeated is `invalid_request` (RFC 6749
 * §3.1, §3.2) unless `repeatable` names it, in which case its first value is
 * kept here and all of them stay in the `FormValues`. Parameters sent without a
 * value are treated as omitted (RFC 6749 §3.1). Only names in `allowed` are
 * kept, when it is given (RFC 6749 §3.2: unknown parameters are ignored).
 */
export function singleValues(values: FormValues, repeatable?: ReadonlySet<string>, allowed?: ReadonlySet<string>): FormParams {
  const out = new Map<string, string>()
  for (const [name, list] of values) {
    // Checked before the allow-list: a repeat is malformed even where the value would be ignored.
    if (list.length > 1 && repeatable?.has(name) !== true) throw duplicate(name)
    if (allowed !== undefined && !allowed.has(name)) continue
    const value = list.find((v) => v !== '')
    if (value !== undefined) out.set(name, value)
  }
  return out
}

/**
 * Parses a form body strictly: malformed percent-encoding and repeated
 * parameters are `invalid_request`; parameters sent without a value are treated
 * as omitted (RFC 6749 §3.1). Works from `form` when an adapter already parsed it.
 */
export function readForm(req: GrantkitRequest): FormParams {
  return singleValues(readFormValues(req))
}
