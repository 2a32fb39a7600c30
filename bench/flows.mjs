// The headless browser of the code-flow rows, used by run.mjs (the load generator process).
// A flow is what a person's browser and the client's back end do for one sign-in:
//   GET /authorize (PKCE S256, prompt=consent) → follow redirects → the login form: POST it with the
//   user's name and password → follow redirects → the consent form: POST "allow" → the redirect to
//   the client's redirect_uri carries the code → POST /token (client_secret_basic, code_verifier).
// Every flow starts with an empty cookie jar (a new browser), so every flow signs in and consents.
// Forms are read from the HTML each server sends (action, hidden fields such as CSRF values, the
// allow button), not hard-coded per server: the driver fills a field named username/login and the
// password field, keeps hidden inputs, and presses the button whose value is "allow" (or the only one).
import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { FLOW_SCOPE, FORM_CONTENT_TYPE, PASSWORD, USERNAME, WEB_AUTHORIZATION, WEB_CLIENT_ID, WEB_REDIRECT_URI, checkTokenResponse } from './common.mjs'

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'", apos: "'", '#x2F': '/', '#47': '/' }
const decodeEntities = (s) => s.replace(/&(amp|lt|gt|quot|#39|#x27|apos|#x2F|#47);/g, (_, e) => ENTITIES[e])

function attributes(tag) {
  const out = {}
  for (const m of tag.matchAll(/([a-zA-Z_:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '')
  }
  return out
}

/** The first POST form of a page, filled in as a person would: { action, body } or null. */
export function fillForm(html) {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html)
  if (form === null) return null
  const formAttrs = attributes(form[1])
  if ((formAttrs.method ?? 'get').toLowerCase() !== 'post') return null
  const fields = new URLSearchParams()
  for (const m of form[2].matchAll(/<input\b([^>]*)>/gi)) {
    const a = attributes(m[1])
    if (a.name === undefined) continue
    const type = (a.type ?? 'text').toLowerCase()
    if (type === 'password') fields.append(a.name, PASSWORD)
    else if (type === 'hidden') fields.append(a.name, a.value ?? '')
    else if (/^(username|login|user|email)$/i.test(a.name)) fields.append(a.name, USERNAME)
    else if (type === 'text' || type === 'email') fields.append(a.name, a.value ?? '')
  }
  const buttons = [...form[2].matchAll(/<button\b([^>]*)>/gi)].map((m) => attributes(m[1])).filter((a) => (a.type ?? 'submit') === 'submit')
  const press = buttons.find((b) => /^(allow|approve|accept|yes)$/i.test(b.value ?? '')) ?? (buttons.length === 1 ? buttons[0] : undefined)
  if (press === undefined && buttons.length > 1) return null
  if (press?.name !== undefined) fields.append(press.name, press.value ?? '')
  return { action: formAttrs.action ?? '', body: fields.toString() }
}

/** Cookies of one browser, with their paths (RFC 6265 path matching, simplified: prefix). */
class CookieJar {
  cookies = new Map()
  store(setCookie) {
    for (const line of setCookie ?? []) {
      const [pair, ...attrs] = line.split(';')
      const eq = pair.indexOf('=')
      if (eq <= 0) continue
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      let path = '/'
      let expired = false
      for (const attr of attrs) {
        const [k, v = ''] = attr.trim().split('=')
        const key = k.toLowerCase()
        if (key === 'path') path = v || '/'
        else if (key === 'max-age' && Number(v) <= 0) expired = true
        else if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true
      }
      const id = `${name}\u0000${path}`
      if (expired) this.cookies.delete(id)
      else this.cookies.set(id, { name, value, path })
    }
  }
  header(path) {
    const out = []
    for (const c of this.cookies.values()) if (path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || path.startsWith(`${c.path}?`)) out.push(`${c.name}=${c.value}`)
    return out.length > 0 ? out.join('; ') : undefined
  }
}

/** One HTTP exchange on a keep-alive agent; resolves with status, headers and the body as text. */
export function request(agent, port, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end(body)
  })
}

/** The path and query of a Location, resolved against the request path; the host is ignored (all on 127.0.0.1). */
function localPath(location, from) {
  const u = new URL(location, `http://127.0.0.1${from}`)
  return u.pathname + u.search
}

/**
 * One complete authorization code flow with PKCE. Throws with a reason on anything unexpected.
 * Returns { requests, token } where token is the parsed token response.
 */
export async function codeFlow(agent, port, server) {
  const jar = new CookieJar()
  let requests = 0
  const send = async (method, path, body, extraHeaders = {}) => {
    const headers = { ...extraHeaders }
    const cookie = jar.header(path.split('?')[0])
    if (cookie !== undefined) headers.cookie = cookie
    if (body !== undefined) headers['content-type'] = FORM_CONTENT_TYPE
    const res = await request(agent, port, method, path, headers, body)
    requests++
    jar.store(res.headers['set-cookie'])
    return res
  }

  const verifier = randomBytes(32).toString('base64url')
  const state = randomBytes(12).toString('base64url')
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: WEB_CLIENT_ID,
    redirect_uri: WEB_REDIRECT_URI,
    scope: FLOW_SCOPE,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    prompt: 'consent',
  })
  let path = `${server.authorizePath}?${query}`
  let res = await send('GET', path)
  let code
  const forms = []
  for (let step = 0; code === undefined; step++) {
    if (step > 16) throw new Error('more than 16 steps without reaching the redirect_uri')
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.location
      if (location === undefined) throw new Error(`${res.status} without Location at ${path}`)
      if (location.startsWith(WEB_REDIRECT_URI)) {
        const back = new URL(location).searchParams
        if (back.get('error') !== null) throw new Error(`authorization error ${back.get('error')}: ${back.get('error_description')}`)
        if (back.get('state') !== state) throw new Error('state did not come back')
        code = back.get('code')
        if (code === null) throw new Error(`no code in ${location}`)
        break
      }
      path = localPath(location, path)
      res = await send('GET', path)
    } else if (res.status === 200 && /text\/html/.test(res.headers['content-type'] ?? '')) {
      const form = fillForm(res.body)
      if (form === null) throw new Error(`no form to submit at ${path}: ${res.body.slice(0, 300)}`)
      forms.push(form.body.includes(encodeURIComponent(PASSWORD)) ? 'login' : 'consent')
      path = localPath(form.action, path)
      res = await send('POST', path, form.body)
    } else {
      throw new Error(`status ${res.status} at ${path.split('?')[0]}: ${res.body.slice(0, 300)}`)
    }
  }
  // A flow that skipped the login or the consent form is not the flow being measured.
  if (!forms.includes('login') || !forms.includes('consent')) throw new Error(`the flow went through ${forms.join(', ') || 'no forms'}, not login and consent`)
  const tokenRes = await send(
    'POST',
    server.tokenPath,
    new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: WEB_REDIRECT_URI, code_verifier: verifier }).toString(),
    { authorization: WEB_AUTHORIZATION },
  )
  const problem = checkTokenResponse('opaque', tokenRes.status, tokenRes.body, { opaque: server.opaque, scope: FLOW_SCOPE, clientId: WEB_CLIENT_ID, refresh: true })
  if (problem !== null) throw new Error(`token response: ${problem}`)
  return { requests, forms, token: JSON.parse(tokenRes.body) }
}

/** `count` refresh tokens of the web client, each from its own code flow, `concurrency` at a time. */
export async function issueRefreshTokens(port, server, count, concurrency = 4) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const tokens = []
  let started = 0
  const worker = async () => {
    while (started < count) {
      started++
      tokens.push((await codeFlow(agent, port, server)).token.refresh_token)
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  } finally {
    agent.destroy()
  }
  return tokens
}

/**
 * `workers` browsers doing code flows back to back for `seconds`. Each worker keeps one
 * keep-alive connection (as a browser would), and starts every flow with an empty cookie jar.
 * A flow under way at the deadline is finished and counted. Latencies are per flow, in ms.
 */
export async function runFlows(port, server, { workers, seconds, latencies }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: workers })
  let flows = 0
  let requests = 0
  let errors = 0
  let firstError
  const started = performance.now()
  const deadline = started + seconds * 1000
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now()
      try {
        const r = await codeFlow(agent, port, server)
        if (latencies !== undefined && flows < latencies.length) latencies[flows] = performance.now() - t0
        flows++
        requests += r.requests
      } catch (err) {
        errors++
        firstError ??= err instanceof Error ? err.message : String(err)
        // A broken server must not turn into a busy loop.
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }
  }
  await Promise.all(Array.from({ length: workers }, worker))
  agent.destroy()
  return { flows, requests, errors, firstError, elapsed: (performance.now() - started) / 1000 }
}
