import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { checkSnippets, documentationSnippets, extractSnippets, type Snippet, type SnippetError } from './snippets.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

describe('extracting the TypeScript blocks of a page', () => {
  const page = [
    '# Page', //                                         1
    '```ts', //                                          2
    "const a: number = 1", //                            3
    '```', //                                            4
    '<!-- not-checked -->', //                           5
    '```ts', //                                          6
    'server.details(req: GrantkitRequest)', //           7
    '```', //                                            8
    '<!-- check-with: declare const user: { id: string } -->',
    '```ts', //                                         10
    'user.id.toUpperCase()', //                         11
    '```', //                                           12
    '```js', //                                         13
    'anything goes', //                                 14
    '```',
  ].join('\n')

  it('takes ```ts blocks with the line of their first code line, skips <!-- not-checked --> and other languages, keeps check-with code', () => {
    expect(extractSnippets(page, 'docs/p.md')).toEqual([
      { file: 'docs/p.md', line: 3, code: 'const a: number = 1', preamble: [] },
      { file: 'docs/p.md', line: 11, code: 'user.id.toUpperCase()', preamble: ['declare const user: { id: string }'] },
    ])
  })

})

/** Blocks with known errors, checked in the same program as the docs' own (one program: they take long to build). */
const BAD: Snippet[] = [
  { file: 'docs/(bad-p).md', line: 10, code: "import { createAuthorizationServer } from 'grantkit'\nconst x: string = createAuthorizationServer", preamble: [] },
  { file: 'docs/(bad-q).md', line: 20, code: 'user.id', preamble: ['declare const user: { id: strin }'] },
]

describe('the TypeScript in README.md and docs/', () => {
  const snippets = documentationSnippets(root)
  let errors: SnippetError[] = []
  beforeAll(async () => {
    errors = await checkSnippets(root, [...snippets, ...BAD])
  }, 180_000)

  it('reports an error in a block with its Markdown file and line, and one in check-with code as such', () => {
    expect(errors).toContainEqual(expect.objectContaining({ file: 'docs/(bad-p).md', line: 11, message: expect.stringContaining('is not assignable to type') }))
    expect(errors).toContainEqual(expect.objectContaining({ file: 'docs/(bad-q).md', message: expect.stringContaining('(in check-with) Cannot find name') }))
  })

  it('finds the blocks, the interaction guide among them', () => {
    expect(snippets.filter((s) => s.file === 'docs/interaction.md').length).toBeGreaterThan(0)
    expect(snippets.length).toBeGreaterThan(10)
  })

  it.each([...new Set(snippets.map((s) => s.file))])('%s type-checks under strict', (file) => {
    const mine = errors.filter((e) => e.file === file || e.line === 0)
    expect(mine.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n')).toBe('')
  })
})
