import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { killAll, requireBuiltCli, startCli } from './run-cli.js'

let dir: string

beforeAll(() => {
  requireBuiltCli()
  dir = mkdtempSync(join(tmpdir(), 'grantkit-cli-console-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(() => killAll())

function writeConfig(content: unknown): string {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(file, JSON.stringify(content, null, 2))
  return file
}

/** A browser's cookie jar over fetch: redirects followed by hand, cookies kept by name. */
function jar() {
  const cookies = new Map<string, string>()
  const absorb = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const eq = pair!.indexOf('=')
      if (/Max-Age=0\b/.test(line)) cookies.delete(pair!.slice(0, eq))
      else cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1))
    }
    return res
  }
  const header = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  return {
    cookies,
    async go(url: string): Promise<{ res: Response; url: string; body: string }> {
      for (let i = 0; i < 10; i++) {
        const res = absorb(await fetch(url, { redirect: 'manual', headers: { cookie: header() } }))
        if (res.status < 300 || res.status >= 400) return { res, url, body: await res.text() }
        url = new URL(res.headers.get('location')!, url).toString()
      }
      throw new Error('too many redirects')
    },
    async post(url: string, form: Record<string, string>, origin: string): Promise<{ res: Response; url: string; body: string }> {
      const res = absorb(await fetch(url, { method: 'POST', redirect: 'manual', headers: { cookie: header(), origin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) }))
      if (res.status >= 300 && res.status < 400) return this.go(new URL(res.headers.get('location')!, url).toString())
      return { res, url, body: await res.text() }
    },
  }
}

const field = (body: string, name: string) => /name="csrf" value="([^"]+)"/.exec(body)?.[1] ?? (() => { throw new Error(`no ${name} in ${body.slice(0, 500)}`) })()
const action = (body: string, base: string) => new URL(/<form method="post" action="([^"]+)"/.exec(body)![1]!.replace(/&amp;/g, '&'), base).toString()

describe('grantkit serve with the admin console', () => {
  it('serves the console when the config turns it on, and an administrator signs in through the login page', async () => {
    const file = writeConfig({
      clients: [],
      users: [
        { username: 'root', password: 'rootpass', claims: { sub: 'root' }, admin: true },
        { username: 'eve', password: 'evepass', claims: { sub: 'eve' } },
      ],
      admin: { enabled: true, console: { enabled: true, path: '/console' } },
    })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    const url = await cli.listening()
    const b = jar()
    let page = await b.go(`${url}/console/clients`)
    expect(page.url).toMatch(/\/interaction\//)
    page = await b.post(action(page.body, page.url), { csrf: field(page.body, 'csrf'), username: 'root', password: 'rootpass' }, url)
    page = await b.post(action(page.body, page.url), { csrf: field(page.body, 'csrf'), decision: 'allow' }, url)
    expect(page.url).toBe(`${url}/console/clients`)
    expect(page.res.status).toBe(200)
    expect(page.res.headers.get('content-security-policy')).toMatch(/default-src 'none'/)
    expect(page.body).toContain('Signed in as <strong>root</strong>')
    expect(b.cookies.has('grantkit_console')).toBe(true)
    // The API keeps its own path beside the console.
    expect((await fetch(`${url}/admin/api/clients`)).status).toBe(401)

    // A user without "admin": true is refused.
    const e = jar()
    page = await e.go(`${url}/console`)
    page = await e.post(action(page.body, page.url), { csrf: field(page.body, 'csrf'), username: 'eve', password: 'evepass' }, url)
    page = await e.post(action(page.body, page.url), { csrf: field(page.body, 'csrf'), decision: 'allow' }, url)
    expect(page.res.status).toBe(403)
    expect(e.cookies.has('grantkit_console')).toBe(false)
  })

  it('routes nothing at the console path when the config leaves it off', async () => {
    const file = writeConfig({ clients: [], users: [{ username: 'root', password: 'rootpass', admin: true }] })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    const url = await cli.listening()
    expect((await fetch(`${url}/admin`, { redirect: 'manual' })).status).toBe(404)
  })

  it('refuses a config whose user has a non-boolean admin field, naming it', async () => {
    const file = writeConfig({ clients: [], users: [{ username: 'root', password: 'rootpass', admin: 'yes' }] })
    const cli = startCli(['serve', '--config', file, '--port', '0'])
    expect(await cli.exited()).not.toBe(0)
    expect(cli.stderr).toMatch(/users\[0\]\.admin: must be a boolean/)
  })
})
