// An API gateway that hosts the authorization server AND protects the API
// behind it (RFC 6750): Express, grantkit at the root, /api/reports needing a
// bearer token with the reports:read scope.
//
//   npx tsup && node examples/protected-api/server.mjs
//
// PORT picks the port (default: any free one); the address is printed.
import http from 'node:http'
import express from 'express'
import { createAuthorizationServer, createResourceProtector } from '../../dist/index.js'
import { protect, toExpressHandler } from '../../dist/adapters/express.js'

const app = express()
const httpServer = http.createServer(app)
await new Promise((resolve) => httpServer.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve))
const origin = `http://127.0.0.1:${httpServer.address().port}`

const server = createAuthorizationServer({
  issuer: origin,
  accessTokenFormat: process.env.TOKEN_FORMAT === 'opaque' ? 'opaque' : 'jwt',
  clients: [
    { client_id: 'dashboard', client_secret: 'dashboard-secret', grant_types: ['client_credentials'], scope: 'reports:read reports:write' },
    { client_id: 'metrics', client_secret: 'metrics-secret', grant_types: ['client_credentials'], scope: 'metrics:read' },
  ],
})
// Same process: JWT and opaque tokens are checked locally, revocation included.
const protector = createResourceProtector({ server })

app.use(toExpressHandler(server))
app.get('/api/reports', protect(protector, ['reports:read']), (req, res) => {
  res.json({ reports: ['q1', 'q2'], for: req.grantkit.token.clientId })
})

console.log(`listening on ${origin}`)
console.log(`try: TOKEN=$(curl -s -u dashboard:dashboard-secret -d grant_type=client_credentials -d scope=reports:read ${origin}/token | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')`)
console.log(`     curl -s -H "Authorization: Bearer $TOKEN" ${origin}/api/reports`)

process.on('SIGTERM', () => {
  httpServer.close(() => process.exit(0))
  httpServer.closeIdleConnections()
})
