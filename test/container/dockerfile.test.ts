/**
 * There is no Docker engine in CI, so the image is never built here. Instead
 * this test replays what the runtime stage does, from a clean folder: the
 * package as `npm pack` makes it, the stage's COPY --from=build and RUN
 * commands, then its ENTRYPOINT and CMD with the environment of compose.yaml
 * (storage pointed at the local PostgreSQL). A Dockerfile whose install or
 * start no longer works fails here.
 */
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, isAbsolute, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isolatedPostgres, reachable } from '../cli/services.js'
import { REDIS_URL } from '../storage/services.js'
import { requireBuiltCli, TEST_KEY_ENCRYPTION_KEY } from '../cli/run-cli.js'
import { composeServices, interpolate } from './compose.js'
import { envPairs, instructionsOf, lastOf, parseDockerfile, type Stage } from './dockerfile.js'
import { parseYamlSubset } from './yaml-subset.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const stages = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'))
const build = stages.find((s) => s.name === 'build')
const runtime = stages.at(-1)!
const compose = composeServices(parseYamlSubset(readFileSync(join(root, 'compose.yaml'), 'utf8')))

/** Bounds, so that a hung install or server fails the test instead of the run. */
const RUN_TIMEOUT_MS = 90_000
const START_TIMEOUT_MS = 15_000

/**
 * The environment of a clean container: this process's, without what npm and
 * vitest add when they run the tests (npm_package_*, npm_lifecycle_*,
 * NODE_ENV=test, …), keeping how to reach the registry and the npm cache.
 */
function cleanEnv(): Record<string, string> {
  const keep = /^npm_config_(registry|cache|userconfig|proxy|https_proxy|noproxy|strict_ssl|cafile|fetch_.*)$/i
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue
    if (/^(npm_|VITEST|NODE_ENV$|NODE_OPTIONS$|NODE_PATH$|INIT_CWD$|GRANTKIT_|PORT$)/i.test(k) && !keep.test(k)) continue
    env[k] = v
  }
  // From the cache when it holds every package, from the registry otherwise (CI).
  env.npm_config_prefer_offline = 'true'
  return env
}

/** Where the stage's paths land: the container's root is a folder of its own. */
function inRoot(rootfs: string, workdir: string, path: string): string {
  return join(rootfs, isAbsolute(path) ? path : posix.join(workdir, path))
}

interface Replayed {
  rootfs: string
  workdir: string
  env: Record<string, string>
}

function replayRuntimeStage(stage: Stage, buildDir: string, buildWorkdir: string, rootfs: string): Replayed {
  let workdir = '/'
  const env = cleanEnv()
  for (const instruction of stage.instructions) {
    const at = `Dockerfile line ${instruction.line}`
    switch (instruction.keyword) {
      case 'WORKDIR':
        workdir = posix.resolve(workdir, instruction.text)
        mkdirSync(inRoot(rootfs, workdir, '.'), { recursive: true })
        break
      case 'ENV':
        Object.assign(env, envPairs(instruction.text))
        break
      case 'COPY': {
        expect(instruction.flags.from, `${at}: the runtime stage copies only from the build stage`).toBe(build!.name)
        const parts = instruction.exec ?? instruction.text.split(/\s+/)
        const dest = parts.at(-1)!
        for (const source of parts.slice(0, -1)) {
          const from = join(buildDir, posix.relative(buildWorkdir, posix.resolve(buildWorkdir, source)))
          expect(existsSync(from), `${at}: the build stage makes no ${source}`).toBe(true)
          const target = dest.endsWith('/') ? join(inRoot(rootfs, workdir, dest), basename(source)) : inRoot(rootfs, workdir, dest)
          copyFileSync(from, target)
        }
        break
      }
      case 'RUN': {
        // Absolute paths would name this machine's folders, not the container's.
        expect(instruction.text, `${at}: keep RUN relative to WORKDIR`).not.toMatch(/(^|\s)\/(?!dev\/null)/)
        // SECURITY (of the machine running the tests): the replay shares this user's npm cache, so it must
        // never empty it; keep the cache out of the image with RUN --mount=type=cache instead.
        expect(instruction.text, `${at}: use a cache mount, not "npm cache clean"`).not.toMatch(/npm cache (clean|rm|clear)/)
        const result = spawnSync('sh', ['-c', instruction.text], { cwd: inRoot(rootfs, workdir, '.'), env, encoding: 'utf8', timeout: RUN_TIMEOUT_MS })
        expect(result.status, `${at}: ${instruction.text}\n${result.stdout}\n${result.stderr}${result.error === undefined ? '' : `\n${result.error.message}`}`).toBe(0)
        break
      }
      default:
      // USER, EXPOSE, HEALTHCHECK, ENTRYPOINT and CMD are checked or used below.
    }
  }
  return { rootfs, workdir, env }
}

function run(command: string[], cwd: string, env: Record<string, string>, timeoutMs: number): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? signal ?? 'unknown', stdout, stderr })
    })
  })
}

/** Runs `npm pack` from the checkout; undefined (and why) only when npm itself cannot run here. */
function pack(into: string): { tarball?: string; why?: string } {
  const result = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', into], { cwd: root, env: cleanEnv(), encoding: 'utf8', timeout: 60_000 })
  if (result.error !== undefined) return { why: `npm pack cannot run: ${result.error.message}` }
  if (result.status !== 0) throw new Error(`npm pack failed:\n${result.stdout}\n${result.stderr}`)
  const tarball = readdirSync(into).find((f) => f.endsWith('.tgz'))
  if (tarball === undefined) throw new Error(`npm pack made no tarball:\n${result.stdout}`)
  return { tarball: join(into, tarball) }
}

describe('Dockerfile', () => {
  it('has a build stage and a slim runtime stage that runs as a user other than root', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    expect(build, 'a stage named build').toBeDefined()
    expect(runtime.image).toMatch(/^node:20-(slim|alpine)/)
    expect(build!.image).toMatch(/^node:20/)
    const user = lastOf(runtime, 'USER')?.text
    expect(user).toBeDefined()
    expect(['root', '0']).not.toContain(user)
    // Dev dependencies are installed in the build stage only.
    const installs = instructionsOf(runtime, 'RUN').map((r) => r.text).join('\n')
    expect(installs).toMatch(/npm (ci|install) [^\n]*--omit=dev/)
    expect(instructionsOf(build!, 'RUN').map((r) => r.text).join('\n')).toMatch(/npm pack/)
  })

  it('exposes 4000, checks /healthz, and starts `grantkit serve`', () => {
    expect(lastOf(runtime, 'EXPOSE')!.text).toBe('4000')
    expect(lastOf(runtime, 'HEALTHCHECK')!.text).toMatch(/^CMD \[/)
    expect(lastOf(runtime, 'HEALTHCHECK')!.text).toContain('/healthz')
    expect(lastOf(runtime, 'ENTRYPOINT')!.exec).toEqual(['node', 'dist/cli/grantkit.js'])
    expect(lastOf(runtime, 'CMD')!.exec).toEqual(['serve'])
  })
})

describe('the runtime stage, replayed from a clean folder', () => {
  let tmp: string
  let tarball: string | undefined
  let skipped: string | undefined
  let replayed: Replayed

  beforeAll(() => {
    requireBuiltCli()
    tmp = mkdtempSync(join(tmpdir(), 'grantkit-image-'))
    const buildDir = join(tmp, 'build')
    mkdirSync(buildDir)
    const packed = pack(buildDir)
    if (packed.tarball === undefined) {
      // Never in CI: there the image must be checked.
      if (process.env.CI === 'true') throw new Error(packed.why)
      skipped = packed.why
      console.warn(`[grantkit] skipping the Dockerfile replay: ${packed.why}`)
      return
    }
    tarball = packed.tarball
  }, 60_000)
  afterAll(() => {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true })
  })

  it('installs only production dependencies, pg and ioredis among them, at the locked versions', (ctx) => {
    if (skipped !== undefined) return ctx.skip()
    // The build stage's files, where its WORKDIR would hold them: the tarball under the name its RUN gives it.
    const buildDir = join(tmp, 'build')
    const buildWorkdir = lastOf(build!, 'WORKDIR')!.text
    const renamed = /mv grantkit-\*\.tgz (\S+)/.exec(instructionsOf(build!, 'RUN').map((r) => r.text).join('\n'))
    if (renamed !== null) copyFileSync(tarball!, join(buildDir, renamed[1]!))
    copyFileSync(join(root, 'package-lock.json'), join(buildDir, 'package-lock.json'))

    replayed = replayRuntimeStage(runtime, buildDir, buildWorkdir, join(tmp, 'rootfs'))
    const app = inRoot(replayed.rootfs, replayed.workdir, '.')
    const installed = readdirSync(join(app, 'node_modules'))
    for (const name of ['jose', 'xml-crypto', '@xmldom', 'pg', 'ioredis']) expect(installed).toContain(name)
    for (const dev of ['vitest', 'typescript', 'tsup', 'express', 'hono', 'playwright-core', 'oidc-provider']) expect(installed).not.toContain(dev)
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> }
    for (const name of ['pg', 'ioredis', 'jose']) {
      const version = (JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
      expect(version, name).toBe(lock.packages[`node_modules/${name}`]!.version)
    }
    expect(existsSync(join(app, 'grantkit.tgz'))).toBe(false)
  }, 120_000)

  it('starts as compose.yaml runs it: migrate, then serve on PostgreSQL, healthy, and exits 0 on SIGTERM', async (ctx) => {
    if (skipped !== undefined || replayed === undefined) return ctx.skip()
    const postgres = await reachable('postgres')
    if (!postgres.ok) throw new Error(postgres.message)
    const database = await isolatedPostgres('grantkit_image')
    const app = inRoot(replayed.rootfs, replayed.workdir, '.')
    const entrypoint = lastOf(runtime, 'ENTRYPOINT')!.exec!
    // compose.yaml's environment, with .env's key and the database this machine has instead of the postgres service.
    const dotEnv = { GRANTKIT_KEY_ENCRYPTION_KEY: TEST_KEY_ENCRYPTION_KEY }
    const envOf = (service: string): Record<string, string> => ({
      ...replayed.env,
      ...Object.fromEntries(Object.entries(compose[service]!.environment).map(([k, v]) => [k, interpolate(v, dotEnv)])),
      GRANTKIT_STORAGE: database,
    })

    const migrate = await run([...entrypoint, ...compose.migrate!.command!], app, envOf('migrate'), START_TIMEOUT_MS)
    expect(migrate.code, migrate.stderr).toBe(0)
    expect(migrate.stdout).toMatch(/^postgres: schema (now|already) at version \d+/m)

    // ioredis loads from the image's own node_modules too.
    const redis = await reachable('redis')
    if (redis.ok) {
      const onRedis = await run([...entrypoint, 'migrate'], app, { ...envOf('migrate'), GRANTKIT_STORAGE: REDIS_URL }, START_TIMEOUT_MS)
      expect(onRedis.code, onRedis.stderr).toBe(0)
      expect(onRedis.stdout).toMatch(/^redis: key layout/)
    }

    const cmd = lastOf(runtime, 'CMD')!.exec!
    const child = spawn(entrypoint[0]!, [...entrypoint.slice(1), ...(compose.grantkit!.command ?? cmd), '--port', '0'], { cwd: app, env: envOf('grantkit'), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening on" within ${START_TIMEOUT_MS} ms\n${stdout}\n${stderr}`)), START_TIMEOUT_MS)
        child.stdout.on('data', () => {
          const m = /listening on http:\/\/0\.0\.0\.0:(\d+)/.exec(stdout)
          if (m !== null) {
            clearTimeout(timer)
            resolve(Number(m[1]))
          }
        })
        void exited.then((code) => {
          clearTimeout(timer)
          reject(new Error(`exited with ${code} before listening\n${stdout}\n${stderr}`))
        })
      })
      // The issuer is compose's GRANTKIT_ISSUER, not the address it listens on.
      expect(stdout).toContain('http://localhost:4000/token')

      const health = await fetch(`http://127.0.0.1:${port}/healthz`)
      expect(health.status).toBe(200)
      // The image's own HEALTHCHECK, with the port this run picked.
      const check = lastOf(runtime, 'HEALTHCHECK')!.text.replace(/^CMD\s+/, '')
      const probe = await run(JSON.parse(check) as string[], app, { ...envOf('grantkit'), GRANTKIT_PORT: String(port) }, 10_000)
      expect(probe.code, probe.stderr).toBe(0)

      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    } finally {
      child.kill('SIGKILL')
    }
    // SECURITY: what it printed holds neither the key-encryption key nor the database URL.
    expect(stdout + stderr).not.toContain(TEST_KEY_ENCRYPTION_KEY)
    expect(stdout + stderr).not.toContain(database)
  }, 60_000)
})
