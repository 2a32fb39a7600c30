/**
 * The TypeScript code blocks of the documentation, type-checked as a reader
 * would paste them: under the repository's `strict` options, with `grantkit`
 * and `grantkit/*` resolved to the sources of the package's entry points.
 *
 * Conventions, in the Markdown just above a ```ts fence:
 * - `<!-- not-checked -->`: the block is a signature or a fragment; skip it.
 * - `<!-- check-with: declare const user: { id: string } -->`: code the block
 *   assumes (your own values, an earlier block's); prepended, never shown.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { ENTRY_POINTS } from '../../scripts/entry-points.mjs'

export interface Snippet {
  /** The Markdown file, relative to the repository root. */
  file: string
  /** 1-based line of the block's first code line in that file. */
  line: number
  code: string
  /** Lines of `check-with` code prepended to `code`. */
  preamble: string[]
}

export interface SnippetError {
  file: string
  line: number
  message: string
}

const FENCE = /^```(ts|typescript)\s*$/
const NOT_CHECKED = /^<!--\s*not-checked\s*-->$/
const CHECK_WITH = /^<!--\s*check-with:\s*([\s\S]*?)\s*-->$/

/** The checked ```ts blocks of one Markdown text. */
export function extractSnippets(markdown: string, file: string): Snippet[] {
  const lines = markdown.split('\n')
  const snippets: Snippet[] = []
  for (let i = 0; i < lines.length; i++) {
    const fence = lines[i]!.trim()
    if (!fence.startsWith('```')) continue
    let end = i + 1
    while (end < lines.length && lines[end]!.trim() !== '```') end++
    if (FENCE.test(fence)) {
      // The directives are the comment lines right above the fence.
      const preamble: string[] = []
      let skip = false
      for (let j = i - 1; j >= 0 && lines[j]!.trim().startsWith('<!--'); j--) {
        const directive = lines[j]!.trim()
        if (NOT_CHECKED.test(directive)) skip = true
        const withCode = CHECK_WITH.exec(directive)
        if (withCode !== null) preamble.unshift(withCode[1]!)
      }
      if (!skip) snippets.push({ file, line: i + 2, code: lines.slice(i + 1, end).join('\n'), preamble })
    }
    i = end
  }
  return snippets
}

/** README.md and every Markdown file under docs/ (generated API docs excepted). */
export function documentationFiles(root: string): string[] {
  const files = ['README.md']
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory() && path !== join('docs', 'api')) walk(path)
      else if (entry.isFile() && entry.name.endsWith('.md')) files.push(path)
    }
  }
  walk('docs')
  return files.sort()
}

/** The file a snippet is compiled as: inside the repository, so that its node_modules resolve, but never written. */
function virtualPath(root: string, s: Snippet): string {
  return join(root, '.snippets', `${s.file.replace(/[\\/]/g, '__')}-L${s.line}.ts`)
}

/**
 * Type-checks the snippets in one program and returns every error in a
 * snippet, located in its Markdown file. The compiler is synchronous; this
 * yields to the event loop between files, so that a test runner's worker
 * keeps answering while it works.
 */
export async function checkSnippets(root: string, snippets: readonly Snippet[]): Promise<SnippetError[]> {
  const configPath = join(root, 'tsconfig.json')
  const config = ts.readConfigFile(configPath, ts.sys.readFile)
  if (config.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'))
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, configPath)
  options.paths = Object.fromEntries(Object.entries(ENTRY_POINTS).map(([name, path]) => [name, [join(root, path)]]))
  options.noEmit = true
  // Each snippet is its own module: `export {}` makes it one even without imports, so top-level await is allowed.
  const sources = new Map(snippets.map((s) => [virtualPath(root, s), { snippet: s, text: [...s.preamble, s.code, 'export {}', ''].join('\n') }]))
  const host = ts.createCompilerHost(options)
  const { fileExists, readFile, getSourceFile } = host
  host.fileExists = (name) => sources.has(name) || fileExists.call(host, name)
  host.readFile = (name) => sources.get(name)?.text ?? readFile.call(host, name)
  host.getSourceFile = (name, version, onError, create) => {
    const own = sources.get(name)
    return own !== undefined ? ts.createSourceFile(name, own.text, version, true) : getSourceFile.call(host, name, version, onError, create)
  }
  const pause = () => new Promise<void>((resolve) => setImmediate(resolve))
  await pause()
  const program = ts.createProgram([...sources.keys()], options, host)
  await pause()
  // Errors outside the snippets (a bad option, a broken entry point) must not pass unseen either.
  const diagnostics: ts.Diagnostic[] = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()]
  for (const name of sources.keys()) {
    await pause()
    const file = program.getSourceFile(name)!
    diagnostics.push(...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file))
  }
  const errors: SnippetError[] = []
  for (const d of diagnostics) {
    const own = d.file === undefined ? undefined : sources.get(d.file.fileName)
    if (own === undefined) {
      errors.push({ file: d.file === undefined ? '(program)' : relative(root, d.file.fileName), line: 0, message: ts.flattenDiagnosticMessageText(d.messageText, '\n') })
      continue
    }
    const at = d.start === undefined ? 0 : d.file!.getLineAndCharacterOfPosition(d.start).line
    const inCode = at - own.snippet.preamble.length
    errors.push({
      file: own.snippet.file,
      line: inCode >= 0 ? own.snippet.line + inCode : own.snippet.line - 2,
      message: (inCode < 0 ? '(in check-with) ' : '') + ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    })
  }
  return errors
}

/** Every checked snippet of the documentation. */
export function documentationSnippets(root: string): Snippet[] {
  return documentationFiles(root).flatMap((file) => extractSnippets(readFileSync(join(root, file), 'utf8'), file))
}
