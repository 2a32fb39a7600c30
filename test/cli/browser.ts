/**
 * Just enough of a browser to walk the built-in HTML pages with fetch: it
 * keeps cookies, follows redirects within the server and submits forms. It
 * stops at a page, or at a redirect that leaves the server (to a client's
 * redirect_uri, which nothing serves in the tests).
 */
export interface Visit {
  url: string
  status: number
  html: string
  /** Where the server sent the browser outside itself, if it did. */
  leftTo?: URL
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" }
const unescapeHtml = (text: string): string => text.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]!)

function attribute(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\b${name}="([^"]*)"`).exec(tag)
  return m === null ? undefined : unescapeHtml(m[1]!)
}

export class Browser {
  private readonly cookies = new Map<string, string>()

  constructor(private readonly origin: string) {}

  /** GETs a URL and follows the server's redirects. */
  open(url: string): Promise<Visit> {
    return this.request(url, { method: 'GET' })
  }

  /** Submits the page's form with its fields (hidden ones included) overridden by `fields`. */
  submit(page: Visit, fields: Record<string, string> = {}): Promise<Visit> {
    const form = /<form method="post" action="([^"]*)">([\s\S]*?)<\/form>/.exec(page.html)
    if (form === null) throw new Error(`no form on ${page.url} (${page.status}):\n${page.html}`)
    const values = new URLSearchParams()
    for (const [tag] of form[2]!.matchAll(/<input\b[^>]*>/g)) {
      const name = attribute(tag, 'name')
      if (name !== undefined && !(name in fields)) values.set(name, attribute(tag, 'value') ?? '')
    }
    for (const [name, value] of Object.entries(fields)) values.set(name, value)
    return this.request(new URL(unescapeHtml(form[1]!), page.url).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: values.toString(),
    })
  }

  private async request(url: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<Visit> {
    for (let hops = 0; hops < 10; hops++) {
      const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
      const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, ...(cookie !== '' && { cookie }) } })
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(';')
        const eq = pair!.indexOf('=')
        const name = pair!.slice(0, eq).trim()
        if (/;\s*max-age=0\b/i.test(line) || pair!.slice(eq + 1) === '') this.cookies.delete(name)
        else this.cookies.set(name, pair!.slice(eq + 1))
      }
      const location = res.headers.get('location')
      if (res.status >= 300 && res.status < 400 && location !== null) {
        const next = new URL(location, url)
        if (next.origin !== this.origin) return { url, status: res.status, html: await res.text(), leftTo: next }
        url = next.href
        init = { method: 'GET' }
        continue
      }
      return { url, status: res.status, html: await res.text() }
    }
    throw new Error(`too many redirects from ${url}`)
  }
}

/** Signs in on the login page and allows on the consent page that follows. */
export async function signInAndAllow(browser: Browser, page: Visit, username: string, password: string): Promise<Visit> {
  if (!page.html.includes('name="password"')) throw new Error(`expected the login page, got ${page.status}:\n${page.html}`)
  const consent = await browser.submit(page, { username, password })
  if (!consent.html.includes('Allow')) throw new Error(`expected the consent page, got ${consent.status}:\n${consent.html}`)
  return browser.submit(consent, { decision: 'allow' })
}
