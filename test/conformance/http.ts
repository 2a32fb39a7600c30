/**
 * HTTP clients for the conformance suite: form posts for machine clients, a
 * browser that never follows redirects and keeps its cookies by hand, and raw
 * requests for bodies fetch cannot send (chunked, oversized).
 */
import { request } from 'node:http'
import { expect } from 'vitest'

export function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+')
  return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')
}

const FORM = 'application/x-www-form-urlencoded'

/** A form POST; `body` as a string is sent verbatim (for repeated parameters). */
export function postForm(url: string, body: string | Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': FORM, ...headers },
    body: typeof body === 'string' ? body : new URLSearchParams(body).toString(),
  })
}

export async function jsonOf(res: Response): Promise<Record<string, unknown>> {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  return (await res.json()) as Record<string, unknown>
}

/** Expects an RFC 6749 §5.2 error response. */
export async function expectOAuthError(res: Response, status: number, error: string): Promise<Record<string, unknown>> {
  const body = await jsonOf(res)
  expect({ status: res.status, error: body.error }).toEqual({ status, error })
  expect(res.headers.get('cache-control')).toBe('no-store')
  return body
}

/** Name of each cookie a response sets, in order. */
export function cookieNames(res: Response): string[] {
  return res.headers.getSetCookie().map((c) => c.slice(0, c.indexOf('=')))
}

function unescapeHtml(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
}

/** The hidden csrf value and the action of the (only) form of a page. */
export function formOf(html: string): { action: string; csrf: string } {
  const action = /<form method="post" action="([^"]*)"/.exec(html)?.[1]
  const csrf = /name="csrf" value="([^"]*)"/.exec(html)?.[1]
  expect(action, 'page has a form').toBeDefined()
  expect(csrf, 'form has a csrf field').toBeDefined()
  return { action: unescapeHtml(action!), csrf: unescapeHtml(csrf!) }
}

/** A person's browser: sends its cookies, stores what Set-Cookie says, follows nothing by itself. */
export class Browser {
  readonly cookies = new Map<string, string>()

  async send(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = {}
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    let body: string | undefined
    if (init.form !== undefined) {
      headers['content-type'] = FORM
      body = new URLSearchParams(init.form).toString()
    }
    const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' })
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      if (attrs.some((a) => a.trim().toLowerCase() === 'max-age=0')) this.cookies.delete(name)
      else this.cookies.set(name, pair!.slice(eq + 1).trim())
    }
    return res
  }

  get(url: string): Promise<Response> {
    return this.send(url)
  }

  post(url: string, form: Record<string, string>): Promise<Response> {
    return this.send(url, { form })
  }

  /**
   * Walks the built-in pages from a URL until a redirect leaves `issuer`:
   * signs in as alice when a login page shows and answers consent with
   * `decision`. Returns that last response (its Location goes to the client).
   */
  async authorize(url: string, issuer: string, decision: 'allow' | 'deny' = 'allow'): Promise<Response> {
    let res = await this.get(url)
    for (let step = 0; step < 10; step++) {
      const location = res.headers.get('location')
      if (res.status === 303 && location !== null) {
        if (!location.startsWith(issuer + '/')) return res
        res = await this.get(location)
        continue
      }
      expect(res.status, 'a page of the built-in UI').toBe(200)
      const html = await res.text()
      const { action, csrf } = formOf(html)
      if (action.endsWith('/login')) res = await this.post(action, { csrf, username: 'alice', password: 'wonderland' })
      else if (action.endsWith('/consent')) res = await this.post(action, { csrf, decision })
      else return res
    }
    throw new Error('too many steps')
  }
}

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/**
 * A POST through node:http, so that a body can go out as chunks (no
 * content-length) or much larger than the server reads.
 */
export function rawPost(url: string, body: string | Buffer[], headers: Record<string, string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    // The server may answer and close before it has read everything we send.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)))
    if (typeof body === 'string') req.end(body)
    else {
      for (const chunk of body) req.write(chunk)
      req.end()
    }
  })
}
