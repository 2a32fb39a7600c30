/**
 * The `grantkit` command (package.json "bin"). It parses the command line by
 * hand and hands over to `serve` or `migrate`; it holds no protocol logic.
 *
 * @example
 * npx grantkit serve --port 0
 * npx grantkit serve --config grantkit.json --host 127.0.0.1 --port 4000
 * GRANTKIT_STORAGE=postgres://localhost/auth npx grantkit serve --print-config
 * npx grantkit migrate --storage postgres://localhost/auth
 * npx grantkit cleanup --storage postgres://localhost/auth
 * GRANTKIT_KEY_ENCRYPTION_KEY=… npx grantkit keys seal --storage postgres://localhost/auth
 * npx grantkit clients add --storage redis://localhost --name App --redirect-uri https://app.example/cb
 * npx grantkit grants revoke --sub alice --storage redis://localhost
 * npx grantkit help serve
 */
import { HELP_TOPICS, parseArgs } from './args.js'
import { cleanupStorage } from './cleanup.js'
import { runClients } from './clients.js'
import { runGrants } from './grants.js'
import { misspeltVariables } from './env.js'
import { CliError, EXIT_USAGE } from './errors.js'
import { helpText } from './help.js'
import { sealStorage } from './keys.js'
import { migrateStorage } from './migrate.js'
import { printConfig } from './print-config.js'
import { serve } from './serve.js'
import { packageVersion } from './version.js'

/**
 * Runs the command line `argv` (without `node` and the script) with the
 * settings of `env` that no flag gives. Failures the user can fix print one
 * `grantkit: …` line on stderr and set the exit code; anything else is a bug
 * and is rethrown with its stack.
 *
 * @example
 * await main(['serve', '--port', '0'], process.env)
 */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  // The usage hint points at the page of the command that was typed, when it is one.
  const topic = (HELP_TOPICS as readonly string[]).includes(argv[0] ?? '') ? ` ${argv[0]}` : ''
  try {
    for (const warning of misspeltVariables(env)) process.stderr.write(`grantkit: warning: ${warning}\n`)
    const command = parseArgs(argv, env)
    if (command.command === 'help') {
      process.stdout.write(helpText(command.topic))
      return
    }
    if (command.command === 'version') {
      process.stdout.write(`${packageVersion()}\n`)
      return
    }
    if (command.command === 'keys-seal') {
      await sealStorage(command, env)
      return
    }
    if (command.command === 'migrate') {
      await migrateStorage(command)
      return
    }
    if (command.command === 'clients') {
      await runClients(command)
      return
    }
    if (command.command === 'grants') {
      await runGrants(command)
      return
    }
    if (command.command === 'cleanup') {
      await cleanupStorage(command)
      return
    }
    if (command.printConfig === true) {
      await printConfig(command, env)
      return
    }
    await serve(command, { handleSignals: true })
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    const hint = error.exitCode === EXIT_USAGE ? `\nRun "grantkit help${topic}" for usage.` : ''
    process.stderr.write(`grantkit: ${error.message}${hint}\n`)
    process.exitCode = error.exitCode
  }
}

await main(process.argv.slice(2), process.env)
