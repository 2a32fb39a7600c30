// An MCP server whose tools need a token, and the grantkit authorization
// server that issues them, set up with the MCP profile (docs/mcp.md):
//
//   - the MCP server, http://127.0.0.1:PORT/mcp (Streamable HTTP, stateless),
//     answers 401 with `WWW-Authenticate: Bearer ... resource_metadata="..."`
//     and serves its RFC 9728 document at /.well-known/oauth-protected-resource/mcp;
//   - the authorization server, on a second port, is the issuer that document
//     names: PKCE S256 only, `resource` required, tokens with aud = the MCP
//     server's URL, client ID metadata documents and dynamic registration.
//
//   npx tsup && node examples/mcp/server.mjs
//
// PORT picks the MCP server's port (default: any free one; the authorization
// server takes any free one). Sign in as alice / wonderland.
import http from 'node:http'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { z } from 'zod'
import { createAuthorizationServer, createResourceProtector, mcpProfile } from '../../dist/index.js'
import { protect, resourceMetadata, toNodeListener } from '../../dist/adapters/node.js'

const listen = async (server, port) => {
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
  return `http://127.0.0.1:${server.address().port}`
}

// Both listeners first: each side names the other by its URL.
let onMcp = (_req, res) => res.writeHead(503).end()
let onAuth = (_req, res) => res.writeHead(503).end()
const mcpHttp = http.createServer((req, res) => onMcp(req, res))
const authHttp = http.createServer((req, res) => onAuth(req, res))
const mcpOrigin = await listen(mcpHttp, Number(process.env.PORT ?? 0))
const issuer = await listen(authHttp, 0)

// The MCP server's canonical URI: clients connect to it and name it as `resource`.
const mcpUrl = `${mcpOrigin}/mcp`
// Another API of the same organisation: its tokens must not open the MCP server.
const reportsUrl = `${mcpOrigin}/reports`

const authorizationServer = createAuthorizationServer({
  ...mcpProfile({
    servers: [
      { resource: mcpUrl, scopes: ['notes:read', 'notes:write'] },
      { resource: reportsUrl, scopes: ['reports:read'] },
    ],
    // Clients older than client ID metadata documents register themselves (RFC 7591).
    registration: true,
  }),
  issuer,
  // Only for the example's test, which serves a client ID metadata document
  // from 127.0.0.1: a real server fetches documents from public hosts only.
  allowPrivateNetworkFetches: process.env.MCP_EXAMPLE_LOOPBACK_DOCUMENTS === '1',
  scopes: ['openid', 'offline_access', 'notes:read', 'notes:write', 'reports:read'],
  users: [{ username: 'alice', password: 'wonderland', claims: { name: 'Alice' } }],
  clients: [{ client_id: 'reporter', client_secret: 'reporter-secret', grant_types: ['client_credentials'], scope: 'reports:read' }],
})
onAuth = toNodeListener(authorizationServer)

// Same process: tokens are checked locally (signature, expiry, revocation) and
// their `aud` must be this MCP server's URL.
const protector = createResourceProtector({ server: authorizationServer, resource: mcpUrl, metadata: { resourceName: 'Notes (grantkit MCP example)' } })
const metadata = resourceMetadata(protector)
const guard = protect(protector, ['notes:read'])

const notes = new Map() // sub -> string[]

function notesServer() {
  const mcp = new McpServer({ name: 'grantkit-notes', version: '1.0.0' })
  mcp.registerTool('list_notes', { description: 'The notes of the signed-in person.', inputSchema: {} }, async (_args, extra) => {
    const sub = extra.authInfo.extra.sub
    return { content: [{ type: 'text', text: JSON.stringify({ for: sub, notes: notes.get(sub) ?? [] }) }] }
  })
  mcp.registerTool('add_note', { description: 'Adds a note (needs notes:write).', inputSchema: { text: z.string().max(500) } }, async ({ text }, extra) => {
    if (!extra.authInfo.scopes.includes('notes:write')) return { isError: true, content: [{ type: 'text', text: 'the token lacks notes:write' }] }
    const sub = extra.authInfo.extra.sub
    notes.set(sub, [...(notes.get(sub) ?? []), text])
    return { content: [{ type: 'text', text: `saved (${notes.get(sub).length})` }] }
  })
  return mcp
}

onMcp = async (req, res) => {
  try {
    if (metadata(req, res)) return // RFC 9728 document
    const path = new URL(req.url ?? '/', mcpOrigin).pathname
    if (path !== '/mcp') return void res.writeHead(404).end()
    const token = await guard(req, res) // 401 with resource_metadata, 403 insufficient_scope, or the token
    if (token === undefined) return
    // What the SDK hands the tools as extra.authInfo. The raw token stays out:
    // a tool has no use for it, and must not pass it on to other APIs.
    req.auth = { token: '', clientId: token.clientId, scopes: token.scope, expiresAt: token.exp, extra: { sub: token.sub } }
    // Stateless Streamable HTTP: one server and transport per request.
    const mcp = notesServer()
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
    res.on('close', () => void transport.close().then(() => mcp.close()))
    await mcp.connect(transport)
    await transport.handleRequest(req, res)
  } catch (err) {
    console.error(err)
    if (!res.headersSent) res.writeHead(500).end()
  }
}

console.log(`listening on ${mcpOrigin}`)
console.log(`MCP server: ${mcpUrl}`)
console.log(`authorization server: ${issuer}`)

process.on('SIGTERM', () => {
  let open = 2
  const done = () => --open === 0 && process.exit(0)
  for (const s of [mcpHttp, authHttp]) {
    s.close(done)
    s.closeIdleConnections()
  }
})
