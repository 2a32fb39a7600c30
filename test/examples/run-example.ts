import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** A running example: its origin, everything it printed so far, and how to stop it. */
export interface RunningExample {
  url: string
  output(): string
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>
}

/**
 * Starts `node examples/<name>/server.mjs` as a user would, on a free port
 * (PORT=0), and resolves once it prints `listening on http://127.0.0.1:PORT`.
 */
export async function startExample(name: string, env: Record<string, string> = {}): Promise<RunningExample> {
  if (!existsSync(ROOT + 'dist/index.js')) {
    throw new Error('dist/ is missing: the examples import the built package; run npx tsup first')
  }
  const child: ChildProcess = spawn(process.execPath, [`examples/${name}/server.mjs`], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (s: string) => void (out += s))
  child.stderr!.setEncoding('utf8').on('data', (s: string) => void (out += s))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(`no "listening on" line within 15s`), 15_000)
    const fail = (why: string): void => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`examples/${name}/server.mjs: ${why}\n--- output ---\n${out}`))
    }
    const onData = (): void => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m === null) return
      clearTimeout(timer)
      child.stdout!.off('data', onData)
      resolve(m[1]!)
    }
    child.stdout!.on('data', onData)
    void exited.then((code) => fail(`exited with code ${code} before listening`))
  })

  return {
    url,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
}

/** Basic credentials as RFC 6749 §2.3.1 encodes them. */
export function basic(id: string, secret: string): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+')
  return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')
}

/** POSTs a form and returns the status and the parsed JSON body. */
export async function postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** The payload of a JWT, unverified (the tests check signatures through introspection). */
export function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
}

/** A browser's cookies for one origin, enough for the login flow: name=value, Max-Age=0 deletes. */
export class CookieJar {
  private readonly cookies = new Map<string, string>()
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a))) this.cookies.delete(name)
      else this.cookies.set(name, pair.slice(eq + 1).trim())
    }
  }
  has(name: string): boolean {
    return this.cookies.has(name)
  }
  header(): string {
    return [...this.cookies].map(([n, v]) => `${n}=${v}`).join('; ')
  }
  /** A fetch that sends these cookies, keeps the ones set, and never follows redirects. */
  async fetch(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { cookie: this.header() }
    let body: string | undefined
    if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(init.form).toString()
    }
    const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' })
    this.take(res)
    return res
  }
}
