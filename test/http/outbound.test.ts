import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { isPrivateAddress, isPrivateHost, OutboundAddressError, postForm, resolveOutboundAddress } from '../../src/http/outbound.js'

describe('isPrivateAddress', () => {
  it.each([
    '127.0.0.1', '127.255.0.9', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '100.127.255.254',
    '0.0.0.0', '255.255.255.255', '224.0.0.1', '::', '::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'ff02::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.1.2.3', '64:ff9b::10.0.0.1', '[::1]', 'not-an-ip', '',
  ])('refuses %s', (address) => {
    expect(isPrivateAddress(address)).toBe(true)
  })

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '[2001:4860:4860::8888]'])('allows %s', (address) => {
    expect(isPrivateAddress(address)).toBe(false)
  })
})

describe('isPrivateHost', () => {
  it('knows localhost and private literals without DNS, and leaves other names to resolution', () => {
    expect(isPrivateHost(new URL('https://localhost/x'))).toBe(true)
    expect(isPrivateHost(new URL('https://app.localhost./x'))).toBe(true)
    expect(isPrivateHost(new URL('https://[::1]:8443/x'))).toBe(true)
    expect(isPrivateHost(new URL('https://0x7f000001/x'))).toBe(true) // the URL parser reads it as 127.0.0.1
    expect(isPrivateHost(new URL('https://rp.example/x'))).toBe(false)
    expect(isPrivateHost(new URL('https://93.184.216.34/x'))).toBe(false)
  })
})

describe('resolveOutboundAddress', () => {
  const resolver = (...addresses: string[]) => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))

  it('returns the address of a public name', async () => {
    expect(await resolveOutboundAddress('rp.example', { allowPrivate: false, resolver: resolver('93.184.216.34') })).toEqual({ address: '93.184.216.34', family: 4 })
  })

  it('refuses a name when any of its addresses is private, unless allowed', async () => {
    const mixed = resolver('93.184.216.34', '10.0.0.5')
    await expect(resolveOutboundAddress('rp.example', { allowPrivate: false, resolver: mixed })).rejects.toMatchObject({ name: 'OutboundAddressError', reason: 'private_address' })
    expect(await resolveOutboundAddress('rp.example', { allowPrivate: true, resolver: mixed })).toEqual({ address: '93.184.216.34', family: 4 })
  })

  it('says when a name does not resolve', async () => {
    const failing = async () => {
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' })
    }
    await expect(resolveOutboundAddress('nowhere.example', { allowPrivate: false, resolver: failing })).rejects.toMatchObject({ reason: 'unresolvable' })
    await expect(resolveOutboundAddress('empty.example', { allowPrivate: false, resolver: resolver() })).rejects.toBeInstanceOf(OutboundAddressError)
  })
})

describe('postForm', () => {
  async function server() {
    const seen: Array<{ host: string | undefined; body: string; type: string | undefined }> = []
    const s = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        seen.push({ host: req.headers.host, body, type: req.headers['content-type'] })
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    return { port: (s.address() as AddressInfo).port, seen, close: () => new Promise<void>((r) => s.close(() => r())) }
  }

  it('connects to the checked address, keeping the name in the Host header (no second lookup to rebind)', async () => {
    const s = await server()
    let lookups = 0
    const resolver = async () => {
      lookups++
      return [{ address: '127.0.0.1', family: 4 }]
    }
    const res = await postForm(`http://rp.test:${s.port}/bcl`, { logout_token: 'a.b.c' }, { timeoutMs: 2000, allowPrivate: true, resolver })
    expect(res.status).toBe(204)
    expect(lookups).toBe(1)
    expect(s.seen).toEqual([{ host: `rp.test:${s.port}`, body: 'logout_token=a.b.c', type: 'application/x-www-form-urlencoded' }])
    await s.close()
  })

  it('sends nothing to a private address unless allowed', async () => {
    const s = await server()
    await expect(postForm(`http://127.0.0.1:${s.port}/bcl`, { a: 'b' }, { timeoutMs: 2000, allowPrivate: false })).rejects.toMatchObject({ reason: 'private_address' })
    expect(s.seen).toEqual([])
    await s.close()
  })

  it('refuses schemes other than http and https', async () => {
    await expect(postForm('file:///etc/passwd', {}, { timeoutMs: 100, allowPrivate: true })).rejects.toThrow(TypeError)
  })
})
