/**
 * Requests the server itself makes (back-channel logout deliveries, `jwks_uri`
 * key sets, Client ID Metadata Documents), guarded against server-side request
 * forgery: unless `allowPrivateNetworkFetches` is on, a URL whose host is or
 * resolves to a loopback, private, link-local, unique-local, CGNAT or
 * unspecified address is never contacted (RFC 9700 §4.15 on URLs a client
 * registers; OIDC Back-Channel Logout §2.5 leaves the RP's URL to the RP).
 * The hostname is resolved once, every address checked, and the connection
 * made to the checked address, so a DNS answer that changes between the check
 * and the connection (DNS rebinding) cannot redirect it.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { request as httpRequest, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { BlockList, isIP, type LookupFunction } from 'node:net'

/** A request refused before it was sent, because of where it would have gone. */
export class OutboundAddressError extends Error {
  constructor(
    message: string,
    /** `private_address`: a refused address; `unresolvable`: the name resolved to nothing. */
    readonly reason: 'private_address' | 'unresolvable',
  ) {
    super(message)
    this.name = 'OutboundAddressError'
  }
}

const blocked = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified (RFC 791)
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // CGNAT shared space (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12], // private (RFC 1918)
  ['192.0.0.0', 24], // IETF protocol assignments (RFC 6890)
  ['192.168.0.0', 16], // private (RFC 1918)
  ['198.18.0.0', 15], // benchmarking (RFC 2544)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4')
}
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique-local (RFC 4193)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6')
}

/** IPv6 forms that carry an IPv4 address, which is then the one that counts. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase()
  // IPv4-mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) and NAT64 (64:ff9b::a.b.c.d, RFC 6052).
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (dotted !== null) return dotted[1]
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower)
  if (hex === null) return undefined
  const hi = parseInt(hex[1]!, 16)
  const lo = parseInt(hex[2]!, 16)
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
}

/**
 * Whether an IP address is one the server does not contact unless allowed:
 * loopback, private, link-local, unique-local, CGNAT, unspecified, multicast
 * or reserved, including IPv4 addresses inside IPv6 ones. Anything that is
 * not an IP address counts as private, so a parsing surprise fails closed.
 *
 * @example
 * isPrivateAddress('10.1.2.3') // true
 * isPrivateAddress('::ffff:127.0.0.1') // true
 * isPrivateAddress('93.184.216.34') // false
 */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  const family = isIP(bare)
  if (family === 4) return blocked.check(bare, 'ipv4')
  if (family !== 6) return true
  const v4 = embeddedIpv4(bare)
  return v4 !== undefined ? isPrivateAddress(v4) : blocked.check(bare, 'ipv6')
}

/**
 * Whether a URL names a private place without any DNS: `localhost` (and
 * names under it, RFC 6761 §6.3) or a private IP literal. What client
 * registration can refuse at once; names are checked when resolved.
 *
 * @example
 * isPrivateHost(new URL('http://127.0.0.1:8080/logout')) // true
 */
export function isPrivateHost(url: URL): boolean {
  const host = url.hostname.toLowerCase().replace(/\.$/, '')
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  const bare = host.replace(/^\[|\]$/g, '')
  return isIP(bare) !== 0 && isPrivateAddress(bare)
}

/**
 * Whether a URL's host is loopback: `localhost` (and names under it), 127.0.0.0/8
 * or ::1. Where plain http is allowed for tests.
 *
 * @example
 * isLoopbackHost(new URL('http://127.0.0.1:8080/jwks')) // true
 */
export function isLoopbackHost(url: URL): boolean {
  const host = url.hostname.toLowerCase().replace(/\.$/, '')
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  const bare = host.replace(/^\[|\]$/g, '')
  if (isIP(bare) === 4) return bare.startsWith('127.')
  return isIP(bare) === 6 && (bare === '::1' || embeddedIpv4(bare)?.startsWith('127.') === true)
}

/** Resolves a hostname to every address (dns.lookup with all). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>

const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))))

/**
 * The address to connect to for `hostname`: resolved once, and refused when
 * any of its addresses is private (a name with one public and one private
 * address could otherwise be steered to the private one) unless
 * `allowPrivate`.
 *
 * @throws OutboundAddressError
 * @example
 * const { address, family } = await resolveOutboundAddress('rp.example', { allowPrivate: false })
 */
export async function resolveOutboundAddress(hostname: string, options: { allowPrivate: boolean; resolver?: Resolver }): Promise<LookupAddress> {
  const bare = hostname.replace(/^\[|\]$/g, '')
  let addresses: LookupAddress[]
  if (isIP(bare) !== 0) addresses = [{ address: bare, family: isIP(bare) }]
  else {
    try {
      addresses = await (options.resolver ?? systemResolver)(bare)
    } catch (cause) {
      throw new OutboundAddressError(`${hostname} could not be resolved (${(cause as { code?: string }).code ?? 'error'})`, 'unresolvable')
    }
  }
  if (addresses.length === 0) throw new OutboundAddressError(`${hostname} resolved to no address`, 'unresolvable')
  if (!options.allowPrivate && addresses.some((a) => isPrivateAddress(a.address))) {
    throw new OutboundAddressError(`${hostname} is or resolves to a loopback or private address; such requests are sent only with allowPrivateNetworkFetches`, 'private_address')
  }
  return addresses[0]!
}

/** Options of `postForm`. */
export interface PostFormOptions {
  /** Milliseconds for the whole exchange, connection to last byte. */
  timeoutMs: number
  /** SECURITY: contact loopback and private addresses too (option `allowPrivateNetworkFetches`). */
  allowPrivate: boolean
  /** How names are resolved. Default: the system resolver. */
  resolver?: Resolver
  /** Largest response body read, in bytes; the rest is discarded. Default 16384. */
  maxResponseBytes?: number
}

/**
 * POSTs `form` as `application/x-www-form-urlencoded` to an http(s) URL,
 * connecting only to the address `resolveOutboundAddress` checked. Redirects
 * are not followed (a 3xx is an answer like any other). TLS still verifies
 * the certificate against the URL's hostname.
 *
 * @returns the status and (at most `maxResponseBytes` of) the body
 * @throws OutboundAddressError before sending; other errors for network failures and the timeout
 * @example
 * const { status } = await postForm('https://rp.example/logout', { logout_token }, { timeoutMs: 5000, allowPrivate: false })
 */
export async function postForm(url: string, form: Record<string, string>, options: PostFormOptions): Promise<{ status: number; body: string }> {
  const target = new URL(url)
  if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new TypeError(`postForm: ${target.protocol} is not http or https`)
  const checked = await resolveOutboundAddress(target.hostname, options)
  const lookup: LookupFunction = (_hostname, opts, callback) => {
    if ((opts as { all?: boolean }).all === true) (callback as (e: null, a: LookupAddress[]) => void)(null, [checked])
    else callback(null, checked.address, checked.family)
  }
  const body = new URLSearchParams(form).toString()
  const requestOptions: RequestOptions = {
    method: 'POST',
    lookup,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), accept: '*/*', 'user-agent': 'grantkit' },
    timeout: options.timeoutMs,
  }
  const limit = options.maxResponseBytes ?? 16_384
  return new Promise((resolve, reject) => {
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(target, requestOptions, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        if (size < limit) chunks.push(chunk.subarray(0, limit - size))
        size += chunk.length
      })
      res.on('end', () => {
        clearTimeout(deadline)
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })
      })
      res.on('error', fail)
    })
    // `timeout` above is for an idle socket; this bounds the whole exchange.
    const deadline = setTimeout(() => req.destroy(new Error(`timed out after ${options.timeoutMs} ms`)), options.timeoutMs)
    deadline.unref()
    function fail(error: Error): void {
      clearTimeout(deadline)
      reject(error)
    }
    req.on('timeout', () => req.destroy(new Error(`timed out after ${options.timeoutMs} ms`)))
    req.on('error', fail)
    req.end(body)
  })
}

/** Options of `fetchJson`. */
export interface FetchJsonOptions {
  /** Milliseconds for the whole exchange, connection to last byte. */
  timeoutMs: number
  /** Largest response body accepted, in bytes; a longer one is an error, not truncated. */
  maxResponseBytes: number
  /** SECURITY: contact loopback and private addresses too, and plain http to loopback (option `allowPrivateNetworkFetches`). */
  allowPrivate: boolean
  /** How names are resolved. Default: the system resolver. */
  resolver?: Resolver
}

/** A JSON document fetched by `fetchJson`. */
export interface FetchedJson {
  /** The parsed body. */
  readonly body: unknown
  /** The response's `Cache-Control` header, if any (RFC 9111 §5.2). */
  readonly cacheControl: string | undefined
}

/** A fetch that did not give a usable JSON document; `status` is the HTTP status when there was a response. */
export class FetchJsonError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message)
    this.name = 'FetchJsonError'
  }
}

const JSON_CONTENT_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;|$)/i

/**
 * Whether a URL may be fetched by the server at all: https, or plain http to
 * a loopback or private host only when `allowPrivate` (tests run on
 * loopback without certificates). No credentials in the URL. Checked again
 * when resolved (`resolveOutboundAddress`).
 *
 * @example
 * outboundUrlProblem(new URL('http://client.example/jwks'), false) // 'must use https'
 */
export function outboundUrlProblem(url: URL, allowPrivate: boolean): string | undefined {
  if (url.username !== '' || url.password !== '') return 'must not contain a user name or password'
  if (url.protocol === 'https:') return undefined
  // RFC 9700 §4.15, RFC 7591 §2 (jwks_uri): documents the server trusts arrive over TLS.
  if (url.protocol === 'http:' && allowPrivate && isLoopbackHost(url)) return undefined
  return allowPrivate ? 'must use https (http only to a loopback host)' : 'must use https'
}

/**
 * GETs a JSON document under the guards of requests the server makes itself:
 * https only (see `outboundUrlProblem`), the address resolved once, checked
 * and connected to (`resolveOutboundAddress`), redirects not followed (a 3xx
 * is an error), only a 200 with a JSON content type accepted, the body
 * refused past `maxResponseBytes` and the whole exchange bounded by
 * `timeoutMs`.
 *
 * @throws OutboundAddressError before sending; FetchJsonError for any other failure
 * @example
 * const { body, cacheControl } = await fetchJson('https://client.example/jwks.json', { timeoutMs: 5000, maxResponseBytes: 65536, allowPrivate: false })
 */
export async function fetchJson(url: string, options: FetchJsonOptions): Promise<FetchedJson> {
  let target: URL
  try {
    target = new URL(url)
  } catch {
    throw new FetchJsonError(`${url.slice(0, 200)} is not a URL`)
  }
  const problem = outboundUrlProblem(target, options.allowPrivate)
  if (problem !== undefined) throw new FetchJsonError(`${target.origin}: ${problem}`)
  const checked = await resolveOutboundAddress(target.hostname, options)
  const lookup: LookupFunction = (_hostname, opts, callback) => {
    if ((opts as { all?: boolean }).all === true) (callback as (e: null, a: LookupAddress[]) => void)(null, [checked])
    else callback(null, checked.address, checked.family)
  }
  const requestOptions: RequestOptions = {
    method: 'GET',
    lookup,
    headers: { accept: 'application/json', 'user-agent': 'grantkit' },
    timeout: options.timeoutMs,
  }
  const where = `${target.origin}${target.pathname}`
  return new Promise((resolve, reject) => {
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(target, requestOptions, (res) => {
      const status = res.statusCode ?? 0
      // CIMD §5: only a 200 is the document, and redirects are not followed (also RFC 9700 §4.15: no detours).
      if (status !== 200) return fail(new FetchJsonError(`${where} answered ${status}`, status))
      const type = res.headers['content-type'] ?? ''
      if (!JSON_CONTENT_TYPE.test(type)) return fail(new FetchJsonError(`${where} answered with content type "${type.slice(0, 100)}", not JSON`, status))
      const declared = Number(res.headers['content-length'])
      if (Number.isFinite(declared) && declared > options.maxResponseBytes) return fail(new FetchJsonError(`${where} is larger than ${options.maxResponseBytes} bytes`, status))
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > options.maxResponseBytes) fail(new FetchJsonError(`${where} is larger than ${options.maxResponseBytes} bytes`, status))
        else chunks.push(chunk)
      })
      res.on('end', () => {
        if (settled) return
        let body: unknown
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        } catch {
          return fail(new FetchJsonError(`${where} is not valid JSON`, status))
        }
        settled = true
        clearTimeout(deadline)
        const cacheControl = res.headers['cache-control']
        resolve({ body, cacheControl })
      })
      res.on('error', (e) => fail(new FetchJsonError(`${where}: ${e.message}`, status)))
    })
    let settled = false
    // `timeout` above is for an idle socket; this bounds the whole exchange.
    const deadline = setTimeout(() => fail(new FetchJsonError(`${where} timed out after ${options.timeoutMs} ms`)), options.timeoutMs)
    deadline.unref()
    function fail(error: FetchJsonError): void {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      req.destroy()
      reject(error)
    }
    req.on('timeout', () => fail(new FetchJsonError(`${where} timed out after ${options.timeoutMs} ms`)))
    req.on('error', (e) => fail(new FetchJsonError(`${where}: ${e.message}`)))
    req.end()
  })
}
