#!/usr/bin/env node
// Installs the packed grantkit beside the oldest and the newest versions its
// peerDependencies allow, as an application would (`npm install grantkit pg@8.11 …`),
// and loads every entry point that uses a peer with them, ESM and CommonJS.
// Fails on ERESOLVE (a range that refuses what apps run) and on an entry point
// that does not work with a version inside its range (an API the floor lacks).
//
// Usage: node scripts/check-peers.mjs   (after `npx tsup`; npm run check:package runs it)
// Needs the npm registry, or an npm cache that has the packages.
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))

/** The peers an application installs next to grantkit's runtime entry points (vitest only serves grantkit/testing). */
const CHECKED = ['pg', 'ioredis', 'express', 'hono']
/** An npm command's limit: a registry that stops answering fails the check instead of hanging it. */
const NPM_TIMEOUT_MS = 180_000
const SMOKE_TIMEOUT_MS = 30_000

function fail(message) {
  console.error(`check-peers: ${message}`)
  process.exit(1)
}

/** The oldest version a range allows: its lowest `^x.y.z` / `>=x.y.z` bound. */
function floorOf(name, range) {
  const bounds = [...range.matchAll(/(?:\^|>=)\s*(\d+)\.(\d+)\.(\d+)/g)].map((m) => m.slice(1, 4).map(Number))
  if (bounds.length === 0) fail(`peerDependencies.${name} ("${range}") has no ^x.y.z or >=x.y.z bound to test`)
  bounds.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2])
  return bounds[0].join('.')
}

/**
 * Each aliased devDependency of a checked peer (`"pg-oldest": "npm:pg@8.11.0"`)
 * must be where one of the peer range's alternatives starts: the test suite
 * runs the storage tests on it, so a range narrowed past it, or an alias left
 * behind when the floor moves, fails here.
 */
function checkAliases() {
  for (const [alias, spec] of Object.entries(pkg.devDependencies ?? {})) {
    const m = /^npm:(.+)@(.+)$/.exec(spec)
    if (m === null || !CHECKED.includes(m[1])) continue
    const [, name, version] = m
    const starts = [...peers[name].matchAll(/(?:\^|>=)\s*(\d+\.\d+\.\d+)/g)].map((b) => b[1])
    if (!starts.includes(version)) {
      fail(`devDependencies.${alias} tests ${name}@${version}, but peerDependencies.${name} ("${peers[name]}") starts at ${starts.join(' and ')}: keep the tested version and the declared floor the same`)
    }
  }
}

async function pack(dir) {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) fail('dist/ is missing: build first with `npx tsup` (npm test does)')
  // --ignore-scripts: dist/ is already built, and `prepare` would rebuild it.
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, timeout: NPM_TIMEOUT_MS })
  return join(dir, JSON.parse(stdout)[0].filename)
}

/** What the entry points must do with the peers installed beside them. */
const SMOKE_ESM = `
import assert from 'node:assert/strict'
import { createAuthorizationServer } from 'grantkit'
import { createPostgresStorage } from 'grantkit/storage/postgres'
import { createRedisStorage } from 'grantkit/storage/redis'
import { toExpressHandler } from 'grantkit/express'
import { toHonoHandler } from 'grantkit/hono'
import pg from 'pg'
import IORedis from 'ioredis'
import express from 'express'
import { Hono } from 'hono'

const issuer = 'http://127.0.0.1:1'
const clients = [{ client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'] }]
const server = createAuthorizationServer({ issuer, clients })

// The application's own pg Pool and ioredis client, and grantkit's from a URL (nothing listens on port 1).
const pool = new pg.Pool({ connectionString: 'postgres://u@127.0.0.1:1/db' })
await createPostgresStorage({ pool }).close()
await pool.end()
await createPostgresStorage({ connectionString: 'postgres://u@127.0.0.1:1/db' }).close()
const client = new IORedis('redis://127.0.0.1:1', { lazyConnect: true })
createRedisStorage({ client })
client.disconnect()
const owned = createRedisStorage({ client: 'redis://127.0.0.1:1' })
assert.equal(typeof owned.client.defineCommand, 'function')
await owned.close()

// Discovery through each framework adapter.
const app = express()
app.use(toExpressHandler(server))
const http = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
const res = await fetch('http://127.0.0.1:' + http.address().port + '/.well-known/oauth-authorization-server')
assert.equal(res.status, 200, 'express: discovery')
assert.equal((await res.json()).issuer, issuer)
await new Promise((resolve) => http.close(resolve))
const hono = new Hono()
hono.use('*', toHonoHandler(server))
const viaHono = await hono.request('http://127.0.0.1:1/.well-known/oauth-authorization-server')
assert.equal(viaHono.status, 200, 'hono: discovery')
console.log('esm ok')
`

const SMOKE_CJS = `
const assert = require('node:assert/strict')
const { createPostgresStorage } = require('grantkit/storage/postgres')
const { createRedisStorage } = require('grantkit/storage/redis')
require('grantkit/express')
require('grantkit/hono')
;(async () => {
  await createPostgresStorage({ connectionString: 'postgres://u@127.0.0.1:1/db' }).close()
  const owned = createRedisStorage({ client: 'redis://127.0.0.1:1' })
  assert.equal(typeof owned.client.defineCommand, 'function')
  await owned.close()
  console.log('cjs ok')
})().catch((err) => { console.error(err); process.exit(1) })
`

async function check(label, specs, tarball) {
  const dir = mkdtempSync(join(tmpdir(), `grantkit-peers-${label}-`))
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `peer-check-${label}`, version: '0.0.0', private: true, type: 'module' }))
    try {
      // Peer conflicts with these root dependencies are ERESOLVE, as for an application.
      await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', '--loglevel=error', tarball, ...specs], { cwd: dir, timeout: NPM_TIMEOUT_MS })
    } catch (err) {
      return `${label}: npm install ${specs.join(' ')} failed:\n${err.stderr || err.message}`
    }
    const installed = Object.fromEntries(CHECKED.map((n) => [n, JSON.parse(readFileSync(join(dir, 'node_modules', n, 'package.json'), 'utf8')).version]))
    writeFileSync(join(dir, 'smoke.mjs'), SMOKE_ESM)
    writeFileSync(join(dir, 'smoke.cjs'), SMOKE_CJS)
    for (const file of ['smoke.mjs', 'smoke.cjs']) {
      try {
        await run(process.execPath, [file], { cwd: dir, timeout: SMOKE_TIMEOUT_MS })
      } catch (err) {
        return `${label} (${Object.entries(installed).map(([n, v]) => `${n}@${v}`).join(' ')}): ${file} failed:\n${err.stderr || err.message}`
      }
    }
    console.log(`check-peers: ${label}: ${Object.entries(installed).map(([n, v]) => `${n}@${v}`).join(' ')} install and load`)
    return null
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const peers = pkg.peerDependencies ?? {}
for (const name of CHECKED) if (!(name in peers)) fail(`peerDependencies.${name} is missing`)
const floors = Object.fromEntries(CHECKED.map((n) => [n, floorOf(n, peers[n])]))
checkAliases()

const work = mkdtempSync(join(tmpdir(), 'grantkit-pack-'))
try {
  const tarball = await pack(work)
  const problems = await Promise.all([
    check('oldest', CHECKED.map((n) => `${n}@${floors[n]}`), tarball),
    // The newest version inside each range, as `npm install` picks it.
    check('newest', CHECKED.map((n) => `${n}@${peers[n]}`), tarball),
  ])
  const failed = problems.filter((p) => p !== null)
  if (failed.length > 0) fail(failed.join('\n\n'))
} finally {
  rmSync(work, { recursive: true, force: true })
}
