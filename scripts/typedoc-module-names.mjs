// TypeDoc plugin: names each module of the API docs after the import that
// reaches it (`grantkit/node`), not after its path in the repository
// (`adapters/node`).
import { relative, resolve } from 'node:path'
import { Converter, ReflectionKind } from 'typedoc'
import { ENTRY_POINTS } from './entry-points.mjs'

const root = resolve(import.meta.dirname, '..')
const byFile = new Map(Object.entries(ENTRY_POINTS).map(([name, file]) => [file, name]))

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.getReflectionsByKind(ReflectionKind.Module)) {
      // From the symbol, not `module.sources`: sources are off (disableSources), since a clone's git remote is a path TypeDoc cannot link to.
      const file = context.getSymbolFromReflection(module)?.declarations?.[0]?.getSourceFile().fileName
      const name = file === undefined ? undefined : byFile.get(relative(root, file).replaceAll('\\', '/'))
      if (name !== undefined) module.name = name
    }
  })
}
