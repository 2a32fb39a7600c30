// grantkit inside a Hono app, served on Node.js by @hono/node-server. The
// middleware answers grantkit's paths (/token, /jwks, discovery, …) and passes
// every other request on to the app's own routes.
//
//   npx tsup && node examples/hono-app/server.mjs
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createAuthorizationServer } from '../../dist/index.js'
import { toHonoHandler } from '../../dist/adapters/hono.js'

// The issuer is the origin, which is known once the port is; the app is built then.
let app
const httpServer = serve({ fetch: (req, env) => app.fetch(req, env), port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' })
await new Promise((resolve) => httpServer.once('listening', resolve))
const origin = `http://127.0.0.1:${httpServer.address().port}`

const server = createAuthorizationServer({
  issuer: origin,
  clients: [{ client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], scope: 'api:read' }],
})

app = new Hono()
app.use('*', toHonoHandler(server))
// The app's own route, next to grantkit's.
app.get('/', (c) => c.json({ service: 'hono-app', issuer: origin, discovery: `${origin}/.well-known/oauth-authorization-server` }))

console.log(`listening on ${origin}`)
console.log(`try: curl -s -u svc:svc-secret -d grant_type=client_credentials ${origin}/token`)

process.on('SIGTERM', () => {
  httpServer.close(() => process.exit(0))
  httpServer.closeIdleConnections?.()
})
