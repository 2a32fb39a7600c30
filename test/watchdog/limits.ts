/**
 * How long a test file may take before the watchdog fails the run, shared by
 * the reporter (main process) and the setup file (each worker).
 *
 * vitest 3 applies testTimeout and hookTimeout to tests and hooks only: a file
 * whose top-level `await` never settles, or a worker that never starts its
 * file, stalls the run with no timeout at all. And a worker that dies mid-file
 * hangs vitest 3's forks pool too, so the stuck worker cannot simply exit.
 */
import { execFileSync } from 'node:child_process'

function seconds(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a number of seconds > 0, not ${JSON.stringify(raw)}`)
  return n
}

/** Longest a test file may run, from the moment its worker starts it: GRANTKIT_TEST_FILE_LIMIT seconds, default 300. */
export const FILE_LIMIT_MS = seconds('GRANTKIT_TEST_FILE_LIMIT', 300) * 1000

/** Longest the run may go with no file started, running or finishing: GRANTKIT_TEST_IDLE_LIMIT seconds, default 120. */
export const IDLE_LIMIT_MS = seconds('GRANTKIT_TEST_IDLE_LIMIT', 120) * 1000

/** Time the worker's own report gets before the reporter ends the run. */
export const REPORT_GRACE_MS = 3000

/** The pids of a process's direct children (pgrep, Linux and macOS); none when pgrep is missing. */
export function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8', timeout: 2000 })
      .split('\n')
      .filter((l) => /^\d+$/.test(l.trim()))
      .map(Number)
  } catch {
    // pgrep exits 1 when there are none.
    return []
  }
}

/** SIGKILLs a process's children and theirs, deepest first, by pid. */
export function killDescendants(pid: number): number[] {
  const killed: number[] = []
  for (const child of childPids(pid)) {
    killed.push(...killDescendants(child))
    try {
      process.kill(child, 'SIGKILL')
      killed.push(child)
    } catch {
      // Already gone.
    }
  }
  return killed
}
