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
