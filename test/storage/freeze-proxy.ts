import net from 'node:net'

/**
 * A TCP proxy in front of a shared service that can be frozen: while frozen
 * it forwards nothing in either direction but keeps every socket open and
 * accepts new connections, as a server stopped with SIGSTOP does (the kernel
 * still completes the handshake). The service itself is never touched, so
 * other tests keep using it. `thaw()` forwards again, what was held included.
 */
export class FreezeProxy {
  private server: net.Server | undefined
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>()
  private frozen = false
  port = 0
  /** Connections the proxy accepted, ever. */
  accepted = 0

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = net.createServer((client) => {
      this.accepted++
      const upstream = net.connect(this.targetPort, this.host)
      const pair = { client, upstream }
      this.pairs.add(pair)
      for (const s of [client, upstream]) s.on('error', () => {})
      const close = (): void => {
        client.destroy()
        upstream.destroy()
        this.pairs.delete(pair)
      }
      client.on('close', close)
      upstream.on('close', close)
      if (this.frozen) {
        client.pause()
        upstream.pause()
      } else this.link(pair)
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.port = (this.server.address() as net.AddressInfo).port
  }

  /** Stops forwarding; bytes already sent wait, unread, in the sockets' buffers. */
  freeze(): void {
    this.frozen = true
    for (const { client, upstream } of this.pairs) {
      client.unpipe(upstream)
      upstream.unpipe(client)
      client.pause()
      upstream.pause()
    }
  }

  thaw(): void {
    this.frozen = false
    for (const pair of this.pairs) this.link(pair)
  }

  /** Connections open right now (client side). */
  get open(): number {
    return this.pairs.size
  }

  async stop(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy()
      upstream.destroy()
    }
    await new Promise<void>((resolve) => this.server!.close(() => resolve()))
  }

  private link({ client, upstream }: { client: net.Socket; upstream: net.Socket }): void {
    client.pipe(upstream)
    upstream.pipe(client)
  }
}

/** `url` with its host and port replaced by the proxy's. */
export function throughProxy(url: string, proxy: FreezeProxy): string {
  const u = new URL(url)
  u.hostname = '127.0.0.1'
  u.port = String(proxy.port)
  return u.toString()
}
