import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { healthEndpoints } from '../../src/cli/health.js'
import { createMemoryStorage, StorageNotMigratedError } from '../../src/index.js'
import { makeServer } from '../helpers.js'

let http: Server | undefined
afterEach(() => new Promise<void>((resolve) => (http === undefined ? resolve() : http.close(() => resolve()))))

async function serveHealth(options: Parameters<typeof makeServer>[0], shuttingDown = () => false): Promise<string> {
  const { server } = makeServer(options)
  const health = healthEndpoints(server, shuttingDown)
  http = createServer((req, res) => {
    if (!health(req, res)) res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => http!.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}`
}

describe('grantkit serve /readyz', () => {
  it('answers 503 with the report when a check fails', async () => {
    const probe = async () => { throw new StorageNotMigratedError('postgres: schema version 1, this grantkit needs 4; run migrate()') }
    const url = await serveHealth({ storage: { ...createMemoryStorage(), probe } })
    const res = await fetch(`${url}/readyz`)
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      status: 'fail',
      checks: { storage: { status: 'fail', detail: 'not migrated: postgres: schema version 1, this grantkit needs 4; run migrate()' }, keys: { status: 'ok' } },
    })
    // Liveness does not depend on the storage.
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
  })

  it('answers 503 while shutting down, so a load balancer drains the process', async () => {
    const url = await serveHealth({}, () => true)
    const res = await fetch(`${url}/readyz`)
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ status: 'fail', shuttingDown: true })
  })

  it('leaves other paths to the adapter', async () => {
    const url = await serveHealth({})
    expect((await fetch(`${url}/readyz/extra`)).status).toBe(404)
    expect((await fetch(`${url}/token`)).status).toBe(404)
  })
})
