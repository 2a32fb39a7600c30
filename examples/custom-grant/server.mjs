// A grant of your own: OAuth 2.0 Token Exchange (RFC 8693, ./token-exchange.mjs)
// next to the built-in grants.
//
//   npx tsup && node examples/custom-grant/server.mjs
import http from 'node:http'
import { createAuthorizationServer, defaultGrants } from '../../dist/index.js'
import { toNodeListener } from '../../dist/adapters/node.js'
import { createTokenExchange, TOKEN_EXCHANGE } from './token-exchange.mjs'

// grantkit has token exchange built in since 0.3; this example replaces it with
// its own, the way any built-in grant can be replaced: leave it out, add yours.
const builtIns = defaultGrants.filter((g) => g.grantType !== TOKEN_EXCHANGE)

const ORDERS_API = 'https://orders.example.com'
const BILLING_API = 'https://billing.example.com'

const httpServer = http.createServer()
await new Promise((resolve) => httpServer.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve))
const origin = `http://127.0.0.1:${httpServer.address().port}`

const server = createAuthorizationServer({
  issuer: origin,
  grants: [...builtIns, createTokenExchange({ targets: [ORDERS_API, BILLING_API] })],
  clients: [
    // Where the person's token comes from (the password grant keeps the demo to curl).
    { client_id: 'cli', token_endpoint_auth_method: 'none', grant_types: ['password'], scope: 'orders:read orders:write profile' },
    // The gateway exchanges a person's token for a narrower one for the orders API.
    { client_id: 'gateway', client_secret: 'gateway-secret', grant_types: [TOKEN_EXCHANGE], scope: 'orders:read orders:write' },
  ],
  users: [{ username: 'alice', password: 'wonderland' }],
})
httpServer.on('request', toNodeListener(server))

console.log(`listening on ${origin}`)
console.log(`1. a person's token: curl -s -d grant_type=password -d client_id=cli -d username=alice -d password=wonderland -d "scope=orders:read orders:write profile" ${origin}/token`)
console.log(
  `2. exchange it: curl -s -u gateway:gateway-secret -d grant_type=${TOKEN_EXCHANGE} -d subject_token=ACCESS_TOKEN` +
    ` -d subject_token_type=urn:ietf:params:oauth:token-type:access_token -d audience=${ORDERS_API} -d scope=orders:read ${origin}/token`,
)

process.on('SIGTERM', () => {
  httpServer.close(() => process.exit(0))
  httpServer.closeIdleConnections()
})
