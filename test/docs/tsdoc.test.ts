import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** The public entry points: the package root, every subpath and every adapter. */
const entries = [
  join(root, 'src/index.ts'),
  join(root, 'src/oauth-client/index.ts'),
  join(root, 'src/storage/postgres/index.ts'),
  join(root, 'src/storage/redis/index.ts'),
  join(root, 'src/testing/index.ts'),
  ...readdirSync(join(root, 'adapters'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => join(root, 'adapters', f)),
]

/** Exports allowed without a summary: none. */
const PENDING: ReadonlySet<string> = new Set<string>([])

function program(): ts.Program {
  const configPath = join(root, 'tsconfig.json')
  const config = ts.readConfigFile(configPath, ts.sys.readFile)
  if (config.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'))
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, configPath)
  return ts.createProgram(entries, parsed.options)
}

interface Undocumented {
  entry: string
  name: string
  declaredIn: string
}

/** Every export of every entry whose declaration has no TSDoc summary. */
function undocumentedExports(): { checked: number; missing: Undocumented[] } {
  const p = program()
  const checker = p.getTypeChecker()
  const missing: Undocumented[] = []
  let checked = 0
  for (const entry of entries) {
    const source = p.getSourceFile(entry)
    if (source === undefined) throw new Error(`cannot read ${entry}`)
    const moduleSymbol = checker.getSymbolAtLocation(source)
    if (moduleSymbol === undefined) continue
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      checked++
      // `export { x } from './y.js'` and `export type * from …` are aliases: judge the declaration.
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
      const summary = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim()
      if (summary !== '') continue
      const declaration = symbol.declarations?.[0]
      missing.push({
        entry: relative(root, entry),
        name: exported.name,
        declaredIn: declaration === undefined ? '?' : relative(root, declaration.getSourceFile().fileName),
      })
    }
  }
  return { checked, missing }
}

describe('TSDoc of the public API', () => {
  it('gives every export of every public entry point a summary', () => {
    const { checked, missing } = undocumentedExports()
    expect(checked, 'no exports found: is the program built from the right files?').toBeGreaterThan(50)
    const offenders = missing.filter((m) => !PENDING.has(m.name))
    const list = offenders.map((m) => `  ${m.name} (exported by ${m.entry}, declared in ${m.declaredIn})`).join('\n')
    expect(offenders, `exports without a TSDoc summary:\n${list}`).toEqual([])
  }, 60_000)
})
