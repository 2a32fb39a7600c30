/**
 * Shared set-up for the client tests: grantkit's own server over real HTTP on
 * 127.0.0.1, a cookie-keeping browser that walks login, consent and device
 * pages, test keys, and the PostgreSQL / Redis availability probes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { exportJWK, generateKeyPair, type JWK } from 'jose'
import { expect } from 'vitest'
import { toNodeListener } from '../../adapters/node.js'
import { createAuthorizationServer, type AuthorizationServer, type AuthorizationServerOptions } from '../../src/index.js'
import { generateEncryptionKey, type EncryptionOptions } from '../../src/oauth-client/index.js'
import { alice, plainUsers } from '../helpers.js'

export const REDIRECT_URI = 'https://app.example/callback'

/** alice / wonderland, subject `alice-sub`; bob / builder. */
export const users = plainUsers({
  ...alice({ name: 'Alice', email: 'alice@example.com' }),
  bob: { sub: 'bob-sub', password: 'builder', claims: { name: 'Bob' } },
})

export function encryption(): EncryptionOptions {
  return { keys: { k1: generateEncryptionKey() }, currentKeyId: 'k1' }
}

/** An HTTP server on 127.0.0.1:0 whose handler is set once the port (and so the issuer) is known. */
export async function listen(): Promise<{ url: string; setHandler: (h: (req: IncomingMessage, res: ServerResponse) => void) => void; close: () => Promise<void>; server: Server }> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503
    res.end()
  }
  const server = createServer((req, res) => handler(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    setHandler: (h) => void (handler = h),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface RunningGrantkit {
  server: AuthorizationServer
  issuer: string
  close: () => Promise<void>
  /** Token endpoint requests seen, by grant_type. */
  grantCounts: Map<string, number>
}

/** grantkit's own server, over HTTP through the node adapter, with request counting per grant type. */
export async function startGrantkit(options: (issuer: string) => Omit<AuthorizationServerOptions, 'issuer'>): Promise<RunningGrantkit> {
  const http = await listen()
  const server = createAuthorizationServer({ issuer: http.url, ...options(http.url) })
  const grantCounts = new Map<string, number>()
  server.on('token.issued', (e) => grantCounts.set(e.grantType, (grantCounts.get(e.grantType) ?? 0) + 1))
  server.on('token.error', (e) => {
    const k = `error:${e.grantType ?? '?'}:${e.error}`
    grantCounts.set(k, (grantCounts.get(k) ?? 0) + 1)
  })
  http.setHandler(toNodeListener(server))
  return { server, issuer: http.url, close: http.close, grantCounts }
}

function decodeHtml(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#x2F;/gi, '/').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`, 'i').exec(tag)
  return m === null ? undefined : decodeHtml(m[1]!)
}

interface Form {
  action: string
  fields: Array<{ name: string; value: string }>
}

function formsOf(html: string): Form[] {
  const forms: Form[] = []
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const fields: Form['fields'] = []
    for (const tag of m[2]!.matchAll(/<(input|button)\b[^>]*>/gi)) {
      const name = attr(tag[0], 'name')
      if (name !== undefined) fields.push({ name, value: attr(tag[0], 'value') ?? '' })
    }
    forms.push({ action: attr(m[1]!, 'action') ?? '', fields })
  }
  return forms
}

/**
 * A person's browser: keeps cookies, follows redirects within the provider by
 * hand, and fills each form it meets from `answers` (login, password, consent,
 * user code). It stops at a redirect that leaves the provider (the callback)
 * or at a page without a form.
 */
export class Browser {
  readonly cookies = new Map<string, string>()

  constructor(private readonly answers: Record<string, string>) {}

  async send(url: string, form?: URLSearchParams): Promise<Response> {
    const headers: Record<string, string> = {}
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded'
    const res = await fetch(url, { method: form === undefined ? 'GET' : 'POST', headers, body: form?.toString(), redirect: 'manual' })
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=.*1970/i.test(a))
      if (expired || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return res
  }

  /** Walks from `url` and returns the URL the provider finally redirects out to, or the last page. */
  async walk(url: string): Promise<{ leftTo?: string; page?: string }> {
    const origin = new URL(url).origin
    let res = await this.send(url)
    let current = url
    for (let step = 0; step < 20; step++) {
      const location = res.headers.get('location')
      if (res.status >= 300 && res.status < 400 && location !== null) {
        const next = new URL(location, current).toString()
        if (new URL(next).origin !== origin) return { leftTo: next }
        current = next
        res = await this.send(next)
        continue
      }
      const html = await res.text()
      expect(res.status, `a page of the provider (${current}): ${html.slice(0, 300)}`).toBe(200)
      const form = formsOf(html)[0]
      if (form === undefined) return { page: html }
      const body = new URLSearchParams()
      const seen = new Set<string>()
      for (const f of form.fields) {
        if (seen.has(f.name)) continue
        seen.add(f.name)
        body.set(f.name, this.answers[f.name] ?? f.value)
      }
      current = new URL(form.action, current).toString()
      res = await this.send(current, body)
    }
    throw new Error('too many steps')
  }
}

/** A fresh key pair as private and public JWKs. */
export async function keyPair(alg: 'ES256' | 'RS256' = 'ES256', kid = `kid-${alg}-${Math.random().toString(36).slice(2)}`): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { privateJwk: { ...(await exportJWK(privateKey)), alg, kid }, publicJwk: { ...(await exportJWK(publicKey)), alg, kid, use: 'sig' } }
}

const fixture = (name: string): string => readFileSync(new URL(`../saml/fixtures/${name}`, import.meta.url), 'utf8')
/** TEST-ONLY RSA key and certificate (see test/saml/fixtures/README.md). */
export const SAML_KEY = fixture('idp.key.pem')
export const SAML_CERT = fixture('idp.cert.pem')

/**
 * Whether a service the tests need is up. Locally a missing service skips its
 * tests with a message; with CI=true it fails them.
 */
export interface Availability {
  available: boolean
  mustFail: boolean
  message: string
}

export function availability(name: string, error: unknown): Availability {
  const available = error === undefined
  const message = available ? '' : `${name} is not reachable (${error instanceof Error ? error.message : String(error)}); its client tests are skipped`
  if (!available && process.env.CI !== 'true') console.warn(`[test/oauth-client] ${message}`)
  return { available, mustFail: !available && process.env.CI === 'true', message }
}
