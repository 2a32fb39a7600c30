// Shared by the benchmark's parent and child processes: the server under test,
// the request every measurement sends, and the check applied to its answer.
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** The built package. GRANTKIT_DIST points elsewhere (a scratch build) when ../dist cannot be built. */
export const DIST_DIR = process.env.GRANTKIT_DIST
  ? resolve(process.env.GRANTKIT_DIST)
  : fileURLToPath(new URL('../dist/', import.meta.url))

export function distFile(name) {
  return resolve(DIST_DIR, name)
}

export function missingDistFiles() {
  return ['index.js', 'adapters/node.js'].map(distFile).filter((f) => !existsSync(f))
}

export async function loadGrantkit() {
  return import(pathToFileURL(distFile('index.js')).href)
}

export async function loadNodeAdapter() {
  return import(pathToFileURL(distFile('adapters/node.js')).href)
}

// http is accepted for a loopback issuer; only the path is used for routing.
export const ISSUER = 'http://127.0.0.1'
export const TOKEN_PATH = '/token'
export const CLIENT_ID = 'bench-client'
export const CLIENT_SECRET = 'bench-secret-6f1c0d2a9e8b4c7d'
export const SCOPE = 'api:read'
/** The form body every request sends: client_credentials with one scope (percent-encoded, as clients send it). */
export const FORM_BODY = `grant_type=client_credentials&scope=${encodeURIComponent(SCOPE)}`
/** RFC 6749 §2.3.1: id and secret are form-encoded, joined by ':' and base64-encoded. */
export const AUTHORIZATION = `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64')}`
export const WRONG_AUTHORIZATION = `Basic ${Buffer.from(`${CLIENT_ID}:not-the-secret`).toString('base64')}`
export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded'

/** Options of the server under test: the defaults (ES256 key generated at start, memory storage) plus one client. */
export function serverOptions(format) {
  return {
    issuer: ISSUER,
    accessTokenFormat: format,
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        scope: 'api:read api:write',
      },
    ],
  }
}

/**
 * Checks one successful token response in full, so that a benchmark never
 * measures a server that answers 200 with the wrong thing. Returns an error
 * message, or null when the response is what `format` should produce.
 */
export function checkTokenResponse(format, status, bodyText) {
  if (status !== 200) return `status ${status}: ${String(bodyText).slice(0, 200)}`
  let body
  try {
    body = JSON.parse(bodyText)
  } catch {
    return `body is not JSON: ${String(bodyText).slice(0, 200)}`
  }
  if (body.token_type !== 'Bearer') return `token_type is ${body.token_type}`
  if (typeof body.access_token !== 'string') return 'no access_token'
  if (body.scope !== SCOPE) return `scope is ${body.scope}`
  const token = body.access_token
  if (format === 'jwt') {
    const parts = token.split('.')
    if (parts.length !== 3) return 'access_token is not a compact JWS'
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'))
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'))
    if (header.typ !== 'at+jwt' || header.alg !== 'ES256') return `unexpected JWT header ${JSON.stringify(header)}`
    if (claims.client_id !== CLIENT_ID || claims.sub !== CLIENT_ID) return 'unexpected JWT claims'
  } else if (format === 'opaque') {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return 'opaque access_token is not 256 bits of base64url'
  }
  return null
}

/** Percentile of an ascending-sorted typed array, nearest rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]
}
