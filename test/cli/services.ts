import pg from 'pg'
import { Socket } from 'node:net'

const PORTS = { postgres: 5432, redis: 6379 } as const
const HOW = {
  postgres: "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start (or bash .ci/services.sh)",
  redis: 'start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no (or bash .ci/services.sh)',
} as const

/** Whether a local service answers on its port, and what to start when it does not. */
export function reachable(service: keyof typeof PORTS): Promise<{ ok: boolean; message: string }> {
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean) => {
      socket.destroy()
      resolve({ ok, message: ok ? '' : `${service} is not reachable at 127.0.0.1:${PORTS[service]}; ${HOW[service]}` })
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('error', () => done(false))
    socket.connect(PORTS[service], '127.0.0.1', () => done(true))
  })
}

/**
 * A PostgreSQL database of its own for the `grantkit serve` tests, created if
 * absent: the processes use the default table names, and the `test` database's
 * default tables are shared with whatever else runs on this server (other
 * checkouts, older grantkit versions that store keys unsealed).
 */
export async function isolatedPostgres(name: string, base = 'postgres://postgres@127.0.0.1:5432/test'): Promise<string> {
  const client = new pg.Client({ connectionString: base })
  await client.connect()
  try {
    await client.query(`CREATE DATABASE ${name}`)
  } catch (error) {
    // 42P04 duplicate_database, 23505 when two files create it at the same instant.
    const code = (error as { code?: string }).code
    if (code !== '42P04' && code !== '23505') throw error
  } finally {
    await client.end()
  }
  const url = new URL(base)
  url.pathname = `/${name}`
  return url.toString()
}
