// The smallest embedding: grantkit behind node:http, one service client that
// gets tokens with client_credentials (RFC 6749 §4.4).
//
//   npx tsup && node examples/node-minimal/server.mjs
//
// PORT picks the port (default: any free one); the address is printed.
import http from 'node:http'
import { createAuthorizationServer } from '../../dist/index.js'
import { toNodeListener } from '../../dist/adapters/node.js'

const CLIENT = { id: 'reporting', secret: process.env.CLIENT_SECRET ?? 'reporting-secret' }

const httpServer = http.createServer()
await new Promise((resolve) => httpServer.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve))
// The issuer is this server's own origin, known once the port is.
const origin = `http://127.0.0.1:${httpServer.address().port}`

const server = createAuthorizationServer({
  issuer: origin,
  clients: [
    {
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      grant_types: ['client_credentials'],
      scope: 'reports:read reports:write',
    },
  ],
})
server.on('token.issued', (e) => console.log(`issued ${e.grantType} token to ${e.clientId} (scope "${e.scope}")`))
httpServer.on('request', toNodeListener(server))

console.log(`listening on ${origin}`)
console.log(`try: curl -s -u ${CLIENT.id}:${CLIENT.secret} -d grant_type=client_credentials -d scope=reports:read ${origin}/token`)

process.on('SIGTERM', () => {
  // Stop accepting, let in-flight requests finish, then exit.
  httpServer.close(() => process.exit(0))
  httpServer.closeIdleConnections()
})
