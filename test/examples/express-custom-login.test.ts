import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basic, CookieJar, jwtPayload, postForm, startExample, type RunningExample } from './run-example.js'

const verifier = 'example-test-code-verifier-0123456789-abcdefghijklmnop'
const challenge = createHash('sha256').update(verifier).digest('base64url')

/** A hidden input's value on one of the app's pages. */
function hidden(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)
  if (m === null) throw new Error(`no ${name} field in:\n${html}`)
  return m[1]!
}

describe('examples/express-custom-login', () => {
  let ex: RunningExample
  beforeAll(async () => {
    ex = await startExample('express-custom-login')
  })
  afterAll(async () => {
    await ex?.stop()
  })

  /** Starts an authorization request in a fresh browser; returns the browser and the app's login URL. */
  async function authorize(jar = new CookieJar()): Promise<{ jar: CookieJar; loginUrl: string }> {
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: 'web',
      redirect_uri: `${ex.url}/callback`,
      scope: 'openid profile email',
      state: 'st-1',
      nonce: 'n-1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })
    const res = await jar.fetch(`${ex.url}/authorize?${q}`)
    expect(res.status).toBe(303)
    const loginUrl = res.headers.get('location')!
    expect(loginUrl).toMatch(new RegExp(`^${ex.url}/login\\?uid=`))
    expect(jar.has('grantkit_interaction')).toBe(true)
    return { jar, loginUrl }
  }

  it('signs in on its own pages, asks consent on its own page, and the client gets working tokens', async () => {
    const { jar, loginUrl } = await authorize()

    // The app's login page, with its own CSRF token.
    let res = await jar.fetch(loginUrl)
    expect(res.status).toBe(200)
    let html = await res.text()
    expect(html).toContain('Example web app')
    const uid = hidden(html, 'uid')
    let csrf = hidden(html, 'csrf')
    expect(jar.has('app_csrf')).toBe(true)

    // A wrong password stays on the app's page.
    res = await jar.fetch(`${ex.url}/login`, { form: { uid, csrf, username: 'alice', password: 'nope', action: 'login' } })
    expect(res.status).toBe(401)
    expect(await res.text()).toContain('Wrong username or password.')

    // The right one: grantkit sends the browser back to the app for consent.
    res = await jar.fetch(`${ex.url}/login`, { form: { uid, csrf, username: 'alice', password: 'wonderland', action: 'login' } })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(loginUrl)

    res = await jar.fetch(loginUrl)
    html = await res.text()
    expect(html).toContain('Allow access?')
    for (const s of ['openid', 'profile', 'email']) expect(html).toContain(`<li>${s}</li>`)
    csrf = hidden(html, 'csrf')

    res = await jar.fetch(`${ex.url}/consent`, { form: { uid, csrf, action: 'allow' } })
    expect(res.status).toBe(303)
    const callback = new URL(res.headers.get('location')!)
    expect(callback.origin + callback.pathname).toBe(`${ex.url}/callback`)
    expect(callback.searchParams.get('state')).toBe('st-1')
    expect(callback.searchParams.get('iss')).toBe(ex.url)
    const code = callback.searchParams.get('code')!
    expect(jar.has('grantkit_interaction')).toBe(false)

    // The client redeems the code, and the token works at userinfo.
    const token = await postForm(
      `${ex.url}/token`,
      { grant_type: 'authorization_code', code, redirect_uri: `${ex.url}/callback`, code_verifier: verifier },
      { authorization: basic('web', 'web-secret') },
    )
    expect(token.status).toBe(200)
    expect(jwtPayload(token.body.id_token as string)).toMatchObject({ sub: 'user-1001', nonce: 'n-1', aud: 'web', iss: ex.url })
    const info = await fetch(`${ex.url}/userinfo`, { headers: { authorization: `Bearer ${token.body.access_token as string}` } })
    expect(await info.json()).toMatchObject({ sub: 'user-1001', name: 'Alice Liddell', email: 'alice@example.com' })

    // The same browser is now signed in and has consented: the next request goes straight back.
    res = await jar.fetch(`${ex.url}/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'web', redirect_uri: `${ex.url}/callback`, scope: 'openid profile', state: 'st-2' })}`)
    expect(res.status).toBe(303)
    expect(new URL(res.headers.get('location')!).searchParams.get('state')).toBe('st-2')
    expect(new URL(res.headers.get('location')!).searchParams.has('code')).toBe(true)
  })

  it('refuses a form whose CSRF token does not match the browser', async () => {
    const { jar, loginUrl } = await authorize()
    const html = await (await jar.fetch(loginUrl)).text()
    const uid = hidden(html, 'uid')
    const res = await jar.fetch(`${ex.url}/login`, { form: { uid, csrf: 'forged', username: 'alice', password: 'wonderland', action: 'login' } })
    expect(res.status).toBe(403)
    // A token from another browser does not pass either.
    const other = await authorize()
    const otherCsrf = hidden(await (await other.jar.fetch(other.loginUrl)).text(), 'csrf')
    const res2 = await jar.fetch(`${ex.url}/login`, { form: { uid, csrf: otherCsrf, username: 'alice', password: 'wonderland', action: 'login' } })
    expect(res2.status).toBe(403)
  })

  it('does not show or finish an interaction in a browser that did not start it', async () => {
    const { loginUrl } = await authorize()
    const stranger = new CookieJar()
    const res = await stranger.fetch(loginUrl)
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('Sign-in expired')
  })

  it('sends access_denied to the client when the person cancels', async () => {
    const { jar, loginUrl } = await authorize()
    const html = await (await jar.fetch(loginUrl)).text()
    const res = await jar.fetch(`${ex.url}/login`, { form: { uid: hidden(html, 'uid'), csrf: hidden(html, 'csrf'), action: 'cancel' } })
    expect(res.status).toBe(303)
    const callback = new URL(res.headers.get('location')!)
    expect(callback.searchParams.get('error')).toBe('access_denied')
    expect(callback.searchParams.get('state')).toBe('st-1')
  })

  it('exits 0 on SIGTERM', async () => {
    expect(await ex.stop()).toBe(0)
  })
})
