import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CliError } from './errors.js'

/**
 * The version of the grantkit package this command belongs to, from its
 * package.json. The file is looked for upwards from this module, because the
 * module sits at different depths in the sources (`src/cli/`), the build
 * (`dist/cli/`, maybe a chunk in `dist/`) and an installed package
 * (`node_modules/grantkit/dist/…`); the first package.json named `grantkit`
 * is ours.
 *
 * @param from a URL or path inside the package; default this module
 * @throws CliError when no grantkit package.json is found above it
 * @example
 * packageVersion() // '0.1.0'
 */
export function packageVersion(from: string | URL = import.meta.url): string {
  const start = dirname(typeof from === 'string' && !from.startsWith('file:') ? from : fileURLToPath(from))
  let dir = start
  for (;;) {
    const manifest = readManifest(join(dir, 'package.json'))
    if (manifest?.name === 'grantkit' && typeof manifest.version === 'string') return manifest.version
    const parent = dirname(dir)
    if (parent === dir) throw new CliError(`cannot find the package.json of grantkit in ${start} or above`)
    dir = parent
  }
}

function readManifest(file: string): { name?: unknown; version?: unknown } | undefined {
  try {
    const data: unknown = JSON.parse(readFileSync(file, 'utf8'))
    return typeof data === 'object' && data !== null ? data : undefined
  } catch {
    // Absent or unreadable: keep looking further up.
    return undefined
  }
}
