/**
 * A vitest reporter that turns a stuck run into a failed one that names the
 * file. vitest 3 has no limit on importing a test file (a top-level `await`
 * that never settles), none on a worker that never starts, and hangs when a
 * worker dies mid-file: each of these left `npm test` waiting forever.
 *
 * - A file running longer than FILE_LIMIT_MS (from its worker starting it).
 * - No file started, running or finished for IDLE_LIMIT_MS (a worker stuck
 *   before its file, as once seen: a fork in futex_wait with no CPU).
 * - The process still alive well after the run ended (teardown stuck).
 *
 * Each prints what it saw, SIGKILLs this process's workers (and what they
 * started) by pid, and exits 1.
 */
import { relative } from 'node:path'
import type { Reporter, TestModule } from 'vitest/node'
import { FILE_LIMIT_MS, IDLE_LIMIT_MS, killDescendants, REPORT_GRACE_MS } from './limits.js'

/** After the run ends: vitest's teardownTimeout (10 s) and ample slack. */
const EXIT_LIMIT_MS = 60_000

export default class WatchdogReporter implements Reporter {
  private readonly running = new Map<string, { since: number; timer: NodeJS.Timeout }>()
  private idle: NodeJS.Timeout | undefined
  private lastEvent = ''

  onTestRunStart(): void {
    this.progress('the run started')
  }

  onTestModuleQueued(module: TestModule): void {
    const name = relative(process.cwd(), module.moduleId)
    const timer = setTimeout(() => this.fail(`${name} has run for more than ${FILE_LIMIT_MS / 1000} s`), FILE_LIMIT_MS + REPORT_GRACE_MS)
    timer.unref()
    this.running.set(module.moduleId, { since: Date.now(), timer })
    this.progress(`${name} started`)
  }

  onTestModuleCollected(module: TestModule): void {
    this.progress(`${relative(process.cwd(), module.moduleId)} was collected`)
  }

  onTestModuleEnd(module: TestModule): void {
    clearTimeout(this.running.get(module.moduleId)?.timer)
    this.running.delete(module.moduleId)
    this.progress(`${relative(process.cwd(), module.moduleId)} finished`)
  }

  onTestRunEnd(): void {
    clearTimeout(this.idle)
    for (const { timer } of this.running.values()) clearTimeout(timer)
    this.running.clear()
    // Keeps the exit code vitest set; unref'd, so it never delays a clean exit.
    setTimeout(() => {
      process.stderr.write(`\n[watchdog] the run ended ${EXIT_LIMIT_MS / 1000} s ago and vitest is still closing; ending its workers and exiting\n`)
      killDescendants(process.pid)
      process.exit(process.exitCode ?? 1)
    }, EXIT_LIMIT_MS).unref()
  }

  /**
   * Restarts the idle timer: something happened. While a file runs its own
   * limit applies instead, so a long file is not mistaken for a stuck run.
   */
  private progress(event: string): void {
    this.lastEvent = event
    clearTimeout(this.idle)
    if (this.running.size > 0) return
    this.idle = setTimeout(() => this.fail(`nothing happened for ${IDLE_LIMIT_MS / 1000} s`), IDLE_LIMIT_MS)
    this.idle.unref()
  }

  private fail(why: string): void {
    const now = Date.now()
    const files = [...this.running].map(([id, { since }]) => `${relative(process.cwd(), id)} (${Math.round((now - since) / 1000)} s)`)
    const killed = killDescendants(process.pid)
    process.stderr.write(
      `\n[watchdog] stuck: ${why}.` +
        `\n[watchdog] files still running: ${files.length > 0 ? files.join(', ') : 'none (a worker never started its file)'}` +
        `\n[watchdog] last event: ${this.lastEvent}` +
        `\n[watchdog] ended the workers${killed.length > 0 ? ` (pids ${killed.join(', ')})` : ''}; failing the run. Limits: GRANTKIT_TEST_FILE_LIMIT, GRANTKIT_TEST_IDLE_LIMIT (seconds); see docs/testing.md\n`,
    )
    process.exit(1)
  }
}
