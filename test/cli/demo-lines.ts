/**
 * Reads the demo printout back as a person pasting it would, and lists every
 * place where it names something the server's discovery document does not:
 * an endpoint URL, a grant type, a response type or a PKCE method.
 */

/** Splits a POSIX shell line into words, undoing the single quotes `curlCommand` adds. */
function shellWords(line: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (c === "'") {
      const end = line.indexOf("'", i + 1)
      if (end === -1) throw new Error(`unterminated quote in: ${line}`)
      word += line.slice(i + 1, end)
      i = end
      inWord = true
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i]
      inWord = true
    } else if (c === ' ') {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += c
      inWord = true
    }
  }
  if (inWord) words.push(word)
  return words
}

/** What a printed line asks of the server. */
interface PrintedUse {
  line: string
  url: URL
  /** Form fields of a curl line; query parameters of a browser URL. */
  params: URLSearchParams
}

/** Every curl line and browser URL of the printout (indented by two spaces, as printed). */
export function printedUses(text: string): PrintedUse[] {
  const uses: PrintedUse[] = []
  for (const line of text.split('\n')) {
    if (line.startsWith('  curl ')) {
      const words = shellWords(line.trim())
      const params = new URLSearchParams()
      for (let i = 1; i < words.length - 1; i++) {
        const flag = words[i]
        if (flag === '-d' || flag === '--data-urlencode') {
          const field = words[++i]!
          const eq = field.indexOf('=')
          params.append(field.slice(0, eq), field.slice(eq + 1))
        }
      }
      uses.push({ line, url: new URL(words[words.length - 1]!), params })
    } else if (/^ {2}https?:\/\//.test(line)) {
      const url = new URL(line.trim())
      uses.push({ line, url, params: url.searchParams })
    }
  }
  return uses
}

const ENDPOINT_FIELDS = [
  'token_endpoint',
  'authorization_endpoint',
  'device_authorization_endpoint',
  'introspection_endpoint',
  'revocation_endpoint',
  'userinfo_endpoint',
  'jwks_uri',
] as const

/**
 * The lines that use an endpoint, grant type, response type or PKCE method
 * that `discovery` (the server's own document, read at `discoveryUrl`) does not advertise.
 */
export function unadvertisedUses(text: string, discovery: Record<string, unknown>, discoveryUrl: string): string[] {
  const endpoints = new Set<string>([discoveryUrl, ...ENDPOINT_FIELDS.map((f) => discovery[f]).filter((v): v is string => typeof v === 'string')])
  const list = (field: string): string[] => (Array.isArray(discovery[field]) ? (discovery[field] as string[]) : [])
  const problems: string[] = []
  for (const use of printedUses(text)) {
    const endpoint = use.url.origin + use.url.pathname
    if (!endpoints.has(endpoint)) problems.push(`${endpoint} is not an advertised endpoint: ${use.line.trim()}`)
    const checks = [
      ['grant_type', 'grant_types_supported'],
      ['response_type', 'response_types_supported'],
      ['code_challenge_method', 'code_challenge_methods_supported'],
    ] as const
    for (const [param, field] of checks) {
      const value = use.params.get(param)
      if (value !== null && !list(field).includes(value)) problems.push(`${param} ${value} is not in ${field}: ${use.line.trim()}`)
    }
    // A grant at an endpoint other than the token endpoint would fail even if the grant is supported.
    if (use.params.has('grant_type') && endpoint !== discovery.token_endpoint) problems.push(`grant_type sent to ${endpoint}, not the token_endpoint: ${use.line.trim()}`)
  }
  return problems
}
