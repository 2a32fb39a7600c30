/**
 * `npm run docs`: regenerates the pages of docs/ that are derived from the
 * code, and the API reference in api-docs/ (TypeDoc, git-ignored). With
 * `--check` it writes nothing and exits 1 when a page is stale or TypeDoc
 * warns (a broken link, an unexported type in the API).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { buildApiDocs } from './docs/api.js'
import { renderConfigurationPage } from './docs/configuration.js'

const pages: Array<{ file: string; render: (current: string) => string }> = [
  { file: 'docs/configuration.md', render: renderConfigurationPage },
]

const check = process.argv.includes('--check')
let stale = 0
for (const { file, render } of pages) {
  const path = fileURLToPath(new URL(`../${file}`, import.meta.url))
  const current = readFileSync(path, 'utf8')
  const next = render(current)
  if (next === current) continue
  stale++
  if (check) console.error(`${file} is stale: run npm run docs`)
  else {
    writeFileSync(path, next)
    console.log(`wrote ${file}`)
  }
}

const api = await buildApiDocs({ emit: !check })
for (const problem of api.problems) console.error(`api-docs: ${problem}`)
if (api.problems.length === 0 && !check) console.log(`wrote api-docs/ (${api.modules.join(', ')})`)
if ((check && stale > 0) || api.problems.length > 0) process.exit(1)
