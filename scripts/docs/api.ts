/**
 * The API reference: TypeDoc over every public entry point (typedoc.json),
 * written as HTML to api-docs/ (git-ignored). A broken `{@link}`, a type the
 * API uses but does not export, or any other TypeDoc warning fails it.
 */
import { fileURLToPath } from 'node:url'
import { Application, type LogLevel, Logger, type ProjectReflection } from 'typedoc'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** What a run produced: its warnings and errors, and the modules it documented. */
export interface ApiDocsResult {
  problems: string[]
  modules: string[]
}

/** Keeps what TypeDoc reports instead of printing it, so a caller decides what to show. */
class CollectingLogger extends Logger {
  readonly messages: string[] = []
  override log(message: string, level: LogLevel): void {
    super.log(message, level)
    // LogLevel: Verbose 0, Info 1, Warn 2, Error 3.
    if (level >= 2) this.messages.push(message)
  }
}

/**
 * Runs TypeDoc with typedoc.json. With `emit`, writes api-docs/; without,
 * converts and validates only (what the test and `npm run docs -- --check` do).
 */
export async function buildApiDocs(options: { emit: boolean }): Promise<ApiDocsResult> {
  const logger = new CollectingLogger()
  const app = await Application.bootstrapWithPlugins({ options: `${root}/typedoc.json` })
  app.logger = logger
  const project: ProjectReflection | undefined = await app.convert()
  if (project === undefined) return { problems: logger.messages.length > 0 ? logger.messages : ['TypeDoc could not convert the project'], modules: [] }
  app.validate(project)
  if (options.emit && logger.messages.length === 0) await app.generateOutputs(project)
  return { problems: logger.messages, modules: (project.children ?? []).map((m) => m.name) }
}
