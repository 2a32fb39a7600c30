import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The built command; `npm test` runs tsup before vitest. */
export const BIN = fileURLToPath(new URL('../../dist/cli/grantkit.js', import.meta.url))

/** Fails with a clear message when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(BIN)) {
    throw new Error(`${BIN} is missing: build it first with "npx tsup" (npm test does this before vitest)`)
  }
}

export interface CliProcess {
  child: ChildProcess
  /** Everything written so far. */
  readonly stdout: string
  readonly stderr: string
  /** Resolves with the URL of the `listening on` line; rejects if the process exits first. */
  listening(timeoutMs?: number): Promise<string>
  /** Resolves with the exit code (or the signal name when killed by one). */
  exited(timeoutMs?: number): Promise<number | string>
}

const running = new Set<ChildProcess>()

/**
 * The key-encryption key every test process on shared storage gets
 * (contract: processes on one database share the value). Fixed, not random:
 * test files run in parallel against the same database and tables, and the
 * keys one run seals must open in the next.
 */
export const TEST_KEY_ENCRYPTION_KEY = 'Z3JhbnRraXQtdGVzdC1rZXktZW5jcnlwdGlvbi1rZXk'

/**
 * Starts `node dist/cli/grantkit.js ...args`, with `GRANTKIT_KEY_ENCRYPTION_KEY`
 * set to `TEST_KEY_ENCRYPTION_KEY` unless `env` says otherwise (`undefined`
 * removes a variable). Call `killAll` in afterEach.
 */
export function startCli(args: string[], cwd?: string, env: Record<string, string | undefined> = {}): CliProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, GRANTKIT_KEY_ENCRYPTION_KEY: TEST_KEY_ENCRYPTION_KEY }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name]
    else childEnv[name] = value
  }
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv, ...(cwd !== undefined && { cwd }) })
  running.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exit = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child)
      resolve(code ?? signal ?? 'unknown')
    })
  })
  const describe = (): string => `\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`
  return {
    child,
    get stdout() {
      return stdout
    },
    get stderr() {
      return stderr
    },
    listening(timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening on" line within ${timeoutMs} ms${describe()}`)), timeoutMs)
        const check = (): void => {
          const m = /listening on (http:\/\/\S+)/.exec(stdout)
          if (m !== null) {
            clearTimeout(timer)
            resolve(m[1]!)
          }
        }
        child.stdout!.on('data', check)
        check()
        void exit.then((code) => {
          clearTimeout(timer)
          reject(new Error(`exited with ${code} before listening${describe()}`))
        })
      })
    },
    exited(timeoutMs = 10_000) {
      return Promise.race([
        exit,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms${describe()}`)), timeoutMs).unref()),
      ])
    },
  }
}

/** Kills every CLI process still running. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL')
  running.clear()
}
