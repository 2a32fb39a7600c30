/**
 * The normalized request every endpoint takes. Adapters build it from their
 * framework's request; the core never sees a socket.
 *
 * @example
 * const req: GrantkitRequest = {
 *   method: 'POST',
 *   url: new URL('https://as.example/token'),
 *   headers: { 'content-type': 'application/x-www-form-urlencoded' },
 *   body: 'grant_type=client_credentials',
 * }
 */
export interface GrantkitRequest {
  /** HTTP method, upper case. */
  method: string
  /** Full request URL. Only its path and query are used for routing; the issuer names the server. */
  url: URL
  /** Header names in lower case. Repeated headers joined as Node.js joins them. */
  headers: Record<string, string | undefined>
  /** Raw body text, when the adapter read it. */
  body?: string
  /** A body a framework already parsed as a form; preferred over `body` when present. */
  form?: URLSearchParams
  /** Set by an adapter that stopped reading because the body exceeded its limit. */
  bodyTooLarge?: boolean
  /** Peer address, for per-source limits and events. */
  remoteAddress?: string
  /**
   * The id of this request, set by the server as it routes it and sent back
   * as `x-request-id`; events and log lines of the request carry it. An
   * embedder with request ids of its own may set it; otherwise the
   * `X-Request-Id` header is taken, and without a sane one (printable ASCII,
   * no spaces, at most 128 characters) a UUID is generated.
   */
  requestId?: string
}

/**
 * The normalized response every endpoint returns. A redirect is a 302/303 with a
 * `location` header; adapters write it as they write any other response.
 */
export interface GrantkitResponse {
  status: number
  /** Header names in lower case. `set-cookie` may carry several values. */
  headers: Record<string, string | string[]>
  body?: string
}
