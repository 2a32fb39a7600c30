import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const VITEST = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url))

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // A zombie (killed, not yet reaped by its new parent) is gone all the same.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true
  }
}

/** The pids still alive after up to `ms` milliseconds: SIGKILL takes effect soon, not at once. */
async function survivors(pids: number[], ms = 5000): Promise<number[]> {
  const until = Date.now() + ms
  while (pids.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 100))
  return pids.filter(alive)
}

/** Runs vitest on the fixtures with the given limits; killed (by pid) if it outlives `ms`. */
function runFixtures(env: Record<string, string>, ms: number): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now()
  const child = spawn(process.execPath, [VITEST, 'run', '--config', 'test/watchdog/fixtures/vitest.config.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, CI: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), ms)
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output, ms: Date.now() - started })
    })
  })
}

it('fails a run whose file never finishes importing, naming the file, and leaves no process behind', async () => {
  const { code, output, ms } = await runFixtures({ GRANTKIT_TEST_FILE_LIMIT: '2', GRANTKIT_TEST_IDLE_LIMIT: '60' }, 50_000)
  expect(output).toMatch(/\[watchdog\] stuck: \S*hangs-at-import\.fixture\.ts has run for more than 2 s/)
  expect(output).toMatch(/files still running: \S*hangs-at-import\.fixture\.ts \(\d+ s\)/)
  // The worker's own report: what it was waiting on.
  expect(output).toMatch(/\[watchdog\] \S*hangs-at-import\.fixture\.ts is still running after 2 s \(pid \d+\)\.\n\[watchdog\] open in this worker: .*ProcessWrap/)
  expect(code).toBe(1)
  expect(ms).toBeLessThan(45_000)
  const pids = ['CHILD', 'WORKER'].map((what) => Number(new RegExp(`FIXTURE_${what}_PID=(\\d+)`).exec(output)?.[1]))
  expect(pids.every((pid) => pid > 0)).toBe(true)
  expect(await survivors(pids)).toEqual([])
}, 60_000)

it('refuses a limit that is not a number of seconds', async () => {
  const { code, output } = await runFixtures({ GRANTKIT_TEST_FILE_LIMIT: 'ten' }, 50_000)
  expect(code).not.toBe(0)
  expect(output).toContain('GRANTKIT_TEST_FILE_LIMIT must be a number of seconds > 0, not "ten"')
}, 60_000)
