/**
 * What the browser tests share: Debian's Chromium driven by playwright-core
 * (never a downloaded browser build), the authorization server served through
 * the node adapter on 127.0.0.1, a tiny client app that shows its callback's
 * query string, and the PKCE and token calls a real client would make.
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext } from 'playwright-core'
import { describe, it } from 'vitest'
import { toNodeListener } from '../../adapters/node.js'
import { createAuthorizationServer, type AuthorizationServer, type AuthorizationServerOptions, type ClientMetadata } from '../../src/index.js'

/** Debian's `chromium` package; `.ci/install-chromium.sh` installs it. */
export const CHROMIUM_PATH = '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** A phone viewport (CSS pixels), with touch and `<meta name=viewport>` honoured. */
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } as const

/**
 * Whether the browser tests can run. Locally a missing Chromium skips them with a
 * message; with CI=true it is a failure, so that CI never passes by running nothing.
 */
export function chromiumAvailability(): { available: boolean; mustFail: boolean; message: string } {
  const available = existsSync(CHROMIUM_PATH)
  const message = `browser tests need ${CHROMIUM_PATH} (Debian package "chromium"); run: bash .ci/install-chromium.sh`
  return { available, mustFail: !available && process.env.CI === 'true', message }
}

/**
 * Whether this test file can drive Chromium, said once per file: with CI=true
 * a missing Chromium registers a failing test (CI never passes by running
 * nothing); locally it prints what to install and the file's suites skip.
 *
 * @example
 * const chromium = chromiumForFile('test/browser/logout')
 * describe.skipIf(!chromium)('logout', () => { … })
 */
export function chromiumForFile(file: string): boolean {
  const chromium = chromiumAvailability()
  if (chromium.mustFail) {
    describe(file, () => {
      it('has Chromium to run in (CI=true)', () => {
        throw new Error(chromium.message)
      })
    })
  } else if (!chromium.available) {
    console.warn(`[${file}] skipped: ${chromium.message}`)
  }
  return chromium.available
}

/** Longest a launch, and a close, of Chromium may take, milliseconds. */
const LAUNCH_TIMEOUT_MS = 30_000
const CLOSE_TIMEOUT_MS = 10_000

/** One Chromium per test file, with its own fresh profile directory, removed on close. */
export async function launchChromium(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'grantkit-chromium-'))
  let persistent: BrowserContext
  try {
    persistent = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
      headless: true,
      timeout: LAUNCH_TIMEOUT_MS,
    })
  } catch (error) {
    rmSync(userDataDir, { recursive: true, force: true })
    throw error
  }
  const browser = persistent.browser()
  if (browser === null) throw new Error('playwright-core gave no Browser for the persistent context')
  return {
    browser,
    async close() {
      // Bounded: a Chromium that does not quit would otherwise hold the file's
      // afterAll until hookTimeout and then outlive it. The watchdog
      // (test/watchdog/) ends whatever is left if a file gets stuck.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        persistent.close().catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            console.warn(`[browser] Chromium did not close within ${CLOSE_TIMEOUT_MS} ms`)
            resolve()
          }, CLOSE_TIMEOUT_MS)
        }),
      ])
      clearTimeout(timer)
      rmSync(userDataDir, { recursive: true, force: true })
    },
  }
}

/** A started HTTP server on 127.0.0.1 with an ephemeral port. */
export interface Listening {
  server: Server
  origin: string
  close: () => Promise<void>
}

/** Listens on 127.0.0.1:0; the listener may be set after the port is known. */
export async function listen(handler: { listener: RequestListener }): Promise<Listening> {
  const server = createServer((req, res) => handler.listener(req, res))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    server,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** The client app: `/cb` shows its query string; every request is recorded. */
export interface ClientApp extends Listening {
  redirectUri: string
  /** Paths and queries of every request the app received, in order. */
  hits: string[]
}

export async function startClientApp(): Promise<ClientApp> {
  const hits: string[] = []
  const handler = {
    listener: ((req, res) => {
      const url = new URL(req.url ?? '/', 'http://client.invalid')
      hits.push(url.pathname + url.search)
      if (url.pathname !== '/cb') {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found')
        return
      }
      const rows = [...url.searchParams].map(([k, v]) => `<dt>${escape(k)}</dt><dd id="param-${escape(k)}">${escape(v)}</dd>`).join('')
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo SPA callback</title></head>
<body><h1>Callback</h1><pre id="query">${escape(url.search)}</pre><dl>${rows}</dl></body></html>`)
    }) as RequestListener,
  }
  const listening = await listen(handler)
  return { ...listening, redirectUri: `${listening.origin}/cb`, hits }
}

export const ALICE = {
  username: 'alice',
  password: 'wonderland',
  claims: { sub: 'alice', name: 'Alice Liddell', email: 'alice@example.com', email_verified: true },
}

/** The authorization server, served by the node adapter; its issuer is its own origin. */
export interface AuthServer extends Listening {
  issuer: string
  as: AuthorizationServer
  endpoints: { authorization: string; token: string; userinfo: string; jwks: string; endSession: string }
}

/**
 * The test authorization server on loopback, with the public client `spa`.
 * `extra.client` adds metadata to that client (post_logout_redirect_uris),
 * `extra.options` adds server options (pages).
 */
export async function startAuthServer(
  clientRedirectUri: string,
  extra: { client?: Partial<ClientMetadata>; options?: Partial<AuthorizationServerOptions> } = {},
): Promise<AuthServer> {
  const handler: { listener: RequestListener } = { listener: (_req, res) => void res.writeHead(503).end() }
  const listening = await listen(handler)
  const issuer = listening.origin
  const as = createAuthorizationServer({
    issuer,
    users: [ALICE],
    clients: [
      {
        client_id: 'spa',
        client_name: 'Demo SPA',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        scope: 'openid profile email offline_access',
        redirect_uris: [clientRedirectUri],
        ...extra.client,
      },
    ],
    ...extra.options,
  })
  handler.listener = toNodeListener(as)
  // Clients find the endpoints through discovery, as a real one would.
  const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>
  const endpoints = {
    authorization: meta.authorization_endpoint!,
    token: meta.token_endpoint!,
    userinfo: meta.userinfo_endpoint!,
    jwks: meta.jwks_uri!,
    endSession: meta.end_session_endpoint!,
  }
  return { ...listening, issuer, as, endpoints }
}

const base64url = (b: Buffer): string => b.toString('base64url')

/** A fresh PKCE pair (RFC 7636 §4.1, §4.2: S256). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = base64url(randomBytes(32))
  return { verifier, challenge: base64url(createHash('sha256').update(verifier).digest()) }
}

/** Everything a client keeps between sending the person off and the callback. */
export interface PendingAuthorization {
  url: string
  state: string
  nonce: string
  verifier: string
}

export function authorizeUrl(as: AuthServer, client: ClientApp, options: { scope?: string; redirectUri?: string } = {}): PendingAuthorization {
  const { verifier, challenge } = pkcePair()
  const state = base64url(randomBytes(16))
  const nonce = base64url(randomBytes(16))
  const url = new URL(as.endpoints.authorization)
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: 'spa',
    redirect_uri: options.redirectUri ?? client.redirectUri,
    scope: options.scope ?? 'openid profile email',
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString()
  return { url: url.toString(), state, nonce, verifier }
}

/** Redeems a code at the token endpoint as the public client `spa` (RFC 6749 §4.1.3, RFC 7636 §4.5). */
export async function redeemCode(as: AuthServer, client: ClientApp, code: string, verifier: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(as.endpoints.token, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, client_id: 'spa', code_verifier: verifier }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}
