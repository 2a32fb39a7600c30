/**
 * Checks on an assertion's raw text, made before any XML parser sees it, so
 * that hostile input costs nothing but a scan. No dependencies.
 */
import { SamlError } from './assertion.js'

/** Largest assertion accepted, in bytes of UTF-8 XML. */
export const MAX_SAML_ASSERTION_BYTES = 65_536

/**
 * Refuses DTDs (entity expansion, external entities) and processing
 * instructions by looking at the text, before any parser sees it. Only an
 * XML declaration, comments and CDATA sections may start with `<?` or `<!`.
 */
function refuseMarkupDeclarations(xml: string): void {
  const body = xml.replace(/^\uFEFF?<\?xml\s[^<>?]*\?>/, '')
  if (body.includes('<?')) throw new SamlError('processing instructions are not allowed')
  if (/<!(?!--|\[CDATA\[)/.test(body)) throw new SamlError('DOCTYPE and other declarations are not allowed')
}

/**
 * Limits on the element tree, checked on the text before any parser runs.
 * Assertions are small and shallow (about 8 levels, rarely a few hundred
 * elements), while verifying costs roughly 0.2 ms per element and thousands of
 * levels make the canonicalizer overflow its stack.
 */
const MAX_DEPTH = 64
const MAX_ELEMENTS = 1_000

/**
 * Counts elements and their deepest nesting from the text. Only a guard: for
 * well-formed XML the counts are exact, and anything else the parser refuses.
 */
function elementShape(xml: string): { depth: number; elements: number } {
  let depth = 0
  let max = 0
  let elements = 0
  let i = xml.indexOf('<')
  while (i !== -1) {
    const skipTo = xml.startsWith('<!--', i) ? '-->' : xml.startsWith('<![CDATA[', i) ? ']]>' : xml[i + 1] === '?' ? '?>' : undefined
    if (skipTo !== undefined) {
      const end = xml.indexOf(skipTo, i)
      if (end === -1) break
      i = xml.indexOf('<', end)
      continue
    }
    let j = i + 1
    let quote = ''
    // A tag ends at the first '>' outside a quoted attribute value.
    for (; j < xml.length; j++) {
      const ch = xml[j]
      if (quote !== '') {
        if (ch === quote) quote = ''
      } else if (ch === '"' || ch === "'") quote = ch
      else if (ch === '>') break
    }
    if (xml[i + 1] === '/') depth--
    else {
      elements++
      if (xml[j - 1] !== '/') max = Math.max(max, ++depth)
    }
    i = xml.indexOf('<', j)
  }
  return { depth: max, elements }
}

/**
 * Refuses text that is too large, carries a DTD or processing instruction, or
 * whose element tree is too deep or too big.
 *
 * @throws SamlError
 * @example
 * checkXmlText(xml, MAX_SAML_ASSERTION_BYTES)
 */
export function checkXmlText(xml: string, maxBytes: number): void {
  if (Buffer.byteLength(xml, 'utf8') > maxBytes) throw new SamlError(`assertion is larger than ${maxBytes} bytes`)
  refuseMarkupDeclarations(xml)
  const shape = elementShape(xml)
  if (shape.depth > MAX_DEPTH) throw new SamlError(`elements nested deeper than ${MAX_DEPTH}`)
  if (shape.elements > MAX_ELEMENTS) throw new SamlError(`more than ${MAX_ELEMENTS} elements`)
}
