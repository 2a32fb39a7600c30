/**
 * Shared set-up for the device flow tests (RFC 8628): a server with device
 * clients, a tiny user source (no scrypt), a browser with a cookie jar that
 * drives the person's side through `server.handle`, and the device's side
 * (device authorization request, polling).
 */
import { expect } from 'vitest'
import {
  createAuthorizationServer,
  createMemoryStorage,
  DEVICE_CODE_GRANT,
  type AuthorizationServer,
  type AuthorizationServerOptions,
  type ClientMetadata,
  type DeviceCodeRecord,
  type GrantkitRequest,
  type GrantkitResponse,
} from '../../src/index.js'
import { counterIds, fakeClock, ISSUER, json, alice, plainUsers } from '../helpers.js'

export { DEVICE_CODE_GRANT, ISSUER }

/** alice / wonderland, subject `alice-sub`. */
export const users = plainUsers(alice())

export const deviceClients: ClientMetadata[] = [
  {
    client_id: 'tv',
    client_name: 'Living Room TV',
    token_endpoint_auth_method: 'none',
    grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
    scope: 'openid offline_access api:read',
  },
  { client_id: 'console', client_name: 'Game Console', token_endpoint_auth_method: 'none', grant_types: [DEVICE_CODE_GRANT], scope: 'api:read' },
  { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' },
]

export interface DeviceHarness {
  server: AuthorizationServer
  clock: ReturnType<typeof fakeClock>
  /** Every device code record the server saved, as it was saved. */
  saved: DeviceCodeRecord[]
}

/** A server for the device flow, on a fake clock, with deterministic ids and a spy on saved device codes. */
export function deviceServer(extra: Partial<AuthorizationServerOptions> = {}): DeviceHarness {
  const clock = fakeClock()
  const storage = createMemoryStorage({ now: clock.now })
  const saved: DeviceCodeRecord[] = []
  const save = storage.deviceCodes.save.bind(storage.deviceCodes)
  storage.deviceCodes.save = async (record) => {
    saved.push(structuredClone(record))
    return save(record)
  }
  const server = createAuthorizationServer({
    issuer: ISSUER,
    clients: deviceClients,
    users,
    storage,
    deps: { now: clock.now, randomId: counterIds() },
    ...extra,
  })
  return { server, clock, saved }
}

export function form(path: string, params: Record<string, string>, headers: Record<string, string> = {}): GrantkitRequest {
  return {
    method: 'POST',
    url: new URL(ISSUER + path),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  }
}

export interface DeviceAuthorization {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string
  expires_in: number
  interval: number
}

/** The device's first request (RFC 8628 §3.1). */
export async function authorizeDevice(server: AuthorizationServer, clientId = 'tv', scope?: string): Promise<DeviceAuthorization> {
  const res = await server.handle(form('/device_authorization', { client_id: clientId, ...(scope !== undefined && { scope }) }))
  expect(res.status).toBe(200)
  return json(res) as unknown as DeviceAuthorization
}

/** One poll of the token endpoint (RFC 8628 §3.4). */
export function poll(server: AuthorizationServer, deviceCode: string, clientId = 'tv'): Promise<GrantkitResponse> {
  return server.handle(form('/token', { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: clientId }))
}

export function expectError(res: GrantkitResponse, error: string, status = 400): void {
  expect({ status: res.status, error: json(res).error }).toEqual({ status, error })
}

function setCookies(res: GrantkitResponse): string[] {
  const v = res.headers['set-cookie']
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}

/** The uid of an interaction URL. */
export function uidOf(location: string): string {
  return new URL(location).pathname.split('/').pop()!
}

/** A person's browser: keeps cookies between requests, as a browser would. */
export class Browser {
  readonly cookies = new Map<string, string>()
  constructor(
    readonly server: AuthorizationServer,
    public remoteAddress = '203.0.113.7',
  ) {}

  request(method: string, pathOrUrl: string, params?: Record<string, string>): GrantkitRequest {
    const url = new URL(pathOrUrl, ISSUER)
    const headers: Record<string, string> = {}
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    const req: GrantkitRequest = { method, url, headers, remoteAddress: this.remoteAddress }
    if (params !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      req.body = new URLSearchParams(params).toString()
    }
    return req
  }

  async send(method: string, pathOrUrl: string, params?: Record<string, string>): Promise<GrantkitResponse> {
    const res = await this.server.handle(this.request(method, pathOrUrl, params))
    for (const c of setCookies(res)) {
      const [pair, ...attrs] = c.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      if (attrs.some((a) => a.trim().toLowerCase() === 'max-age=0')) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return res
  }

  /** GET /device (optionally with ?user_code=), which hands out the grantkit_device cookie. */
  openDevicePage(userCode?: string): Promise<GrantkitResponse> {
    return this.send('GET', userCode === undefined ? '/device' : `/device?user_code=${encodeURIComponent(userCode)}`)
  }

  /** Submits the code-entry form with this browser's CSRF value (the cookie). */
  enterCode(userCode: string, csrf = this.cookies.get('__Host-grantkit_device')): Promise<GrantkitResponse> {
    return this.send('POST', '/device', { ...(csrf !== undefined && { csrf }), user_code: userCode })
  }

  async csrfFor(uid: string): Promise<string> {
    const details = await this.server.interactions.details(this.request('GET', `/interaction/${uid}`), uid)
    expect(details).not.toBeNull()
    return details!.csrf
  }

  async login(uid: string, username = 'alice', password = 'wonderland'): Promise<GrantkitResponse> {
    return this.send('POST', `/interaction/${uid}/login`, { csrf: await this.csrfFor(uid), username, password })
  }

  async consent(uid: string, decision: 'allow' | 'deny'): Promise<GrantkitResponse> {
    return this.send('POST', `/interaction/${uid}/consent`, { csrf: await this.csrfFor(uid), decision })
  }

  /** Enters the code and returns the interaction uid it leads to. */
  async startApproval(userCode: string): Promise<string> {
    await this.openDevicePage()
    const res = await this.enterCode(userCode)
    expect(res.status).toBe(303)
    return uidOf(res.headers.location as string)
  }

  /** The whole person's side: enter the code, sign in if needed, answer consent. Returns the final page. */
  async answer(userCode: string, decision: 'allow' | 'deny' = 'allow'): Promise<GrantkitResponse> {
    const uid = await this.startApproval(userCode)
    const details = await this.server.interactions.details(this.request('GET', `/interaction/${uid}`), uid)
    if (details!.prompt === 'login') {
      const afterLogin = await this.login(uid)
      expect(afterLogin.status).toBe(303)
    }
    return this.consent(uid, decision)
  }
}
