import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Forks, not threads: tests spawn processes, start servers and change
    // process-wide state, and a stuck fork can be killed by pid.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Closing a worker after its file (the default, 10 s, said out loud).
    teardownTimeout: 10_000,
    // A file or worker that never finishes fails the run, naming the file, instead
    // of hanging it: test/watchdog/ (limits in GRANTKIT_TEST_FILE_LIMIT, GRANTKIT_TEST_IDLE_LIMIT).
    setupFiles: ['test/watchdog/worker.ts'],
    reporters: ['default', './test/watchdog/reporter.ts'],
  },
})
