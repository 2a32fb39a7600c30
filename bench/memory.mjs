// Bytes per record of memory storage: fills it with COUNT live records of one kind and reports the
// heapUsed growth after a full GC, divided by COUNT. One child process per kind, so no kind's
// garbage or caches count toward another's.
//
//   node bench/memory.mjs                     # every kind, 1,000,000 records each (about a minute)
//   node bench/memory.mjs 200000              # every kind, fewer records
//   node bench/memory.mjs 1000000 access-token,refresh-token
//
// Every record lives an hour or more (codes, interactions and replay markers a day instead of their
// usual minutes): longer than the fill takes even on a slow machine, since records that expired during
// the fill would be swept and not counted. Records are shaped as grantkit's endpoints make them: hashes are SHA-256 base64url strings, ids
// flat 36-character UUIDs, scope strings made per request (split and joined, as resolveScope does).
// "access token through the server" issues the tokens with real client_credentials requests
// (server.handle, opaque format), so it counts whatever the token endpoint keeps per token.
// Measures the built package (dist/, or GRANTKIT_DIST), like the rest of the benchmark.
import { spawn } from 'node:child_process'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { AUTHORIZATION, FORM_BODY, FORM_CONTENT_TYPE, ISSUER, TOKEN_PATH, loadGrantkit, missingDistFiles, serverOptions } from './common.mjs'

const KINDS = {
  'access-token': 'opaque access token',
  'access-token-server': 'opaque access token, issued through the server',
  'refresh-token': 'refresh token',
  'refresh-token-rotated': 'refresh token, rotated away (kept for reuse detection) + its successor',
  code: 'authorization code',
  consent: 'consent',
  session: 'browser session (with its sid and person indexes)',
  interaction: 'interaction (login/consent step in progress)',
  replay: 'replay marker (jti)',
  'revoked-jti': 'revoked JWT jti',
}

const SELF = fileURLToPath(import.meta.url)
const [countArg, kindArg, childFlag] = process.argv.slice(2)
const COUNT = Number(countArg ?? 1_000_000)

async function parent() {
  const missing = missingDistFiles()
  if (missing.length > 0) throw new Error(`build first (npm run build): missing ${missing.join(', ')}`)
  const kinds = kindArg === undefined ? Object.keys(KINDS) : kindArg.split(',')
  for (const k of kinds) if (!(k in KINDS)) throw new Error(`unknown kind ${k}; kinds: ${Object.keys(KINDS).join(', ')}`)
  const rows = []
  for (const kind of kinds) rows.push(await runChild(kind))
  const lines = [
    `Memory storage, bytes per live record (heapUsed after a full GC, ${COUNT.toLocaleString('en')} records of one kind per process; Node ${process.version})`,
    '',
    '| record | bytes per record | heap for all MiB | fill seconds | peak RSS MiB |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${KINDS[r.kind]} | ${r.bytesPerRecord.toFixed(0)} | ${(r.heapDelta / 2 ** 20).toFixed(1)} | ${r.seconds.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} |`),
  ]
  process.stdout.write(lines.join('\n') + '\n')
}

function runChild(kind) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=8192', SELF, String(COUNT), kind, '--child'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    p.stdout.on('data', (c) => (out += c))
    p.on('error', reject)
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${kind}: child exited ${code}`))
      resolve(JSON.parse(out.trim().split('\n').pop()))
    })
  })
}

/** A fresh SHA-256 base64url string, as hashToken makes for a token, code or session secret. */
const hash = () => createHash('sha256').update(randomBytes(32)).digest('base64url')
/** A flat 36-character UUID string, as randomId makes. */
const ID = Buffer.allocUnsafe(36)
const id = () => (ID.write(randomUUID(), 0, 'latin1'), ID.toString('latin1', 0, 36))
/** A scope string made per request, as resolveScope does (split, checked, joined). */
const scopeOf = (s) => s.split(' ').join(' ')
const DAY = 86_400

async function heapAfterGc() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc()
    await new Promise((r) => setImmediate(r))
  }
  return process.memoryUsage().heapUsed
}

async function child(kind, count) {
  const grantkit = await loadGrantkit()
  const nowS = Math.floor(Date.now() / 1000)
  const storage = grantkit.createMemoryStorage()
  const client = 'bench-web'
  let server
  let request
  if (kind === 'access-token-server') {
    server = grantkit.createAuthorizationServer({ ...serverOptions('opaque', grantkit), storage })
    const url = new URL(ISSUER + TOKEN_PATH)
    const headers = { host: '127.0.0.1', 'content-type': FORM_CONTENT_TYPE, authorization: AUTHORIZATION }
    request = () => ({ method: 'POST', url, headers, body: FORM_BODY })
    // The first request builds the server's caches, which are not per token.
    if ((await server.handle(request())).status !== 200) throw new Error('token request failed')
  }
  // Things made once per process (code, caches) stay out of the measurement.
  await storage.accessTokens.find('warm')
  const before = await heapAfterGc()
  const t0 = performance.now()
  const grantId = () => id()
  for (let i = 0; i < count; i++) {
    switch (kind) {
      case 'access-token':
        await storage.accessTokens.save({ id: id(), tokenHash: hash(), clientId: 'bench-client', sub: 'bench-client', scope: scopeOf('api:read'), audience: [ISSUER], issuedAt: nowS, expiresAt: nowS + 3600 })
        break
      case 'access-token-server': {
        const res = await server.handle(request())
        if (res.status !== 200) throw new Error(`token request ${i} failed: ${res.status}`)
        break
      }
      case 'refresh-token':
        await storage.refreshTokens.save({ tokenHash: hash(), grantId: grantId(), clientId: client, sub: 'alice', scope: scopeOf('offline_access api:read'), issuedAt: nowS, expiresAt: nowS + 1_209_600, absoluteExpiresAt: nowS + 2_592_000, authTime: nowS })
        break
      case 'refresh-token-rotated': {
        // Half the records: a chain of two, the first rotated away. Counted as two records.
        if (i % 2 === 1) break
        const first = { tokenHash: hash(), grantId: grantId(), clientId: client, sub: 'alice', scope: scopeOf('offline_access api:read'), issuedAt: nowS, expiresAt: nowS + 1_209_600, absoluteExpiresAt: nowS + 2_592_000, authTime: nowS }
        await storage.refreshTokens.save(first)
        const outcome = await storage.refreshTokens.rotate(first.tokenHash, { ...first, tokenHash: hash(), scope: scopeOf('offline_access api:read') })
        if (outcome !== 'rotated') throw new Error(outcome)
        break
      }
      case 'code':
        await storage.authorizationCodes.save({ codeHash: hash(), clientId: client, redirectUri: 'http://127.0.0.1:9/cb', redirectUriSent: true, scope: scopeOf('offline_access api:read'), sub: 'alice', grantId: grantId(), authTime: nowS, codeChallenge: hash(), codeChallengeMethod: 'S256', issuedAt: nowS, expiresAt: nowS + DAY })
        break
      case 'consent':
        await storage.consents.save(`user-${i}`, client, scopeOf('offline_access api:read'), nowS + 31_536_000)
        break
      case 'session':
        await storage.sessions.save({ idHash: hash(), sub: `user-${i}`, authTime: nowS, expiresAt: nowS + 1_209_600, sid: id(), clients: [client] })
        break
      case 'interaction':
        await storage.interactions.save({
          uid: id(),
          request: { clientId: client, redirectUri: 'http://127.0.0.1:9/cb', redirectUriSent: true, responseType: 'code', responseMode: 'query', scope: scopeOf('offline_access api:read'), state: id(), codeChallenge: hash(), codeChallengeMethod: 'S256', prompt: ['consent'] },
          browserHash: hash(),
          csrf: hash(),
          expiresAt: nowS + DAY,
        })
        break
      case 'replay':
        if (!(await storage.replay.markUsed(`jti:${client}:${id()}`, nowS + DAY))) throw new Error('replay')
        break
      case 'revoked-jti':
        await storage.accessTokens.revokeJti(id(), nowS + 3600)
        break
      default:
        throw new Error(`unknown kind ${kind}`)
    }
  }
  const seconds = (performance.now() - t0) / 1000
  const after = await heapAfterGc()
  // Keeps the storage (and the server) alive until after the measurement.
  if ((await storage.accessTokens.find('never')) !== null || (server !== undefined && typeof server.handle !== 'function')) throw new Error('unreachable')
  const status = await import('node:fs').then((fs) => fs.readFileSync('/proc/self/status', 'utf8'))
  const peakRssMiB = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
  process.stdout.write(JSON.stringify({ kind, count, heapDelta: after - before, bytesPerRecord: (after - before) / count, seconds, peakRssMiB }) + '\n')
}

if (childFlag === '--child') await child(kindArg, COUNT)
else await parent()
