/**
 * Runs in each vitest worker before its test file (setupFiles): when the file
 * is still running at the limit, says what it is waiting on and ends the
 * processes it started (grantkit serve, redis-server, Chromium), so that
 * nothing outlives the run. The reporter (reporter.ts) then fails the run.
 */
import { afterAll } from 'vitest'
import { FILE_LIMIT_MS, killDescendants } from './limits.js'

declare global {
  // eslint-disable-next-line no-var
  var __grantkitWatchdog: NodeJS.Timeout | undefined
}

const file = (globalThis as { __vitest_worker__?: { filepath?: string } }).__vitest_worker__?.filepath ?? '(unknown file)'

// With isolate: false a worker runs several files: one timer at a time.
clearTimeout(globalThis.__grantkitWatchdog)
globalThis.__grantkitWatchdog = setTimeout(() => {
  const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap')
  const killed = killDescendants(process.pid)
  process.stderr.write(
    `\n[watchdog] ${file} is still running after ${FILE_LIMIT_MS / 1000} s (pid ${process.pid}).` +
      `\n[watchdog] open in this worker: ${open.length > 0 ? open.join(', ') : 'nothing'}` +
      (killed.length > 0 ? `\n[watchdog] ended the processes it started: ${killed.join(', ')}` : '') +
      '\n',
  )
}, FILE_LIMIT_MS)
// Never the reason a finished worker stays alive.
globalThis.__grantkitWatchdog.unref()

afterAll(() => clearTimeout(globalThis.__grantkitWatchdog))
