// grantkit on a storage of your own (./storage.mjs): one Map of JSON text
// standing in for a key-value database. Opaque access tokens and refresh
// tokens make every request go through it.
//
//   npx tsup && node examples/custom-storage/server.mjs
import http from 'node:http'
import { createAuthorizationServer } from '../../dist/index.js'
import { toNodeListener } from '../../dist/adapters/node.js'
import { createJsonStorage } from './storage.mjs'

const httpServer = http.createServer()
await new Promise((resolve) => httpServer.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve))
const origin = `http://127.0.0.1:${httpServer.address().port}`

const storage = createJsonStorage()
const server = createAuthorizationServer({
  issuer: origin,
  storage,
  // Opaque tokens are stored (hashed) and looked up on every introspection.
  accessTokenFormat: 'opaque',
  clients: [
    { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' },
    // A command-line tool: password grant with rotating refresh tokens.
    { client_id: 'cli', token_endpoint_auth_method: 'none', grant_types: ['password', 'refresh_token'], scope: 'api:read offline_access' },
    // A resource server that may introspect any token (RFC 7662 §2.1).
    { client_id: 'rs', client_secret: 'rs-secret', grant_types: ['client_credentials'], introspection_allowed: true },
  ],
  users: [{ username: 'alice', password: 'wonderland' }],
})
server.on('token.issued', (e) => console.log(`issued a ${e.grantType} token to ${e.clientId}; storage holds ${storage.size} entries`))
httpServer.on('request', toNodeListener(server))

console.log(`listening on ${origin}`)
console.log(`try: curl -s -d grant_type=password -d client_id=cli -d username=alice -d password=wonderland -d "scope=api:read offline_access" ${origin}/token`)
console.log(`then: curl -s -u rs:rs-secret -d token=ACCESS_TOKEN ${origin}/introspect`)

process.on('SIGTERM', () => {
  httpServer.close(() => process.exit(0))
  httpServer.closeIdleConnections()
})
