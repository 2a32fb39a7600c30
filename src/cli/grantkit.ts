/**
 * The `grantkit` command (package.json "bin"). It parses the command line by
 * hand and hands over to `serve` or `migrate`; it holds no protocol logic.
 *
 * @example
 * npx grantkit serve --port 0
 * npx grantkit serve --config grantkit.json --host 127.0.0.1 --port 4000
 * npx grantkit migrate --storage postgres://localhost/auth
 * npx grantkit cleanup --storage postgres://localhost/auth
 * GRANTKIT_KEY_ENCRYPTION_KEY=… npx grantkit keys seal --storage postgres://localhost/auth
 */
import { parseArgs, USAGE } from './args.js'
import { CliError, EXIT_USAGE } from './errors.js'
import { cleanupStorage } from './cleanup.js'
import { sealStorage } from './keys.js'
import { migrateStorage } from './migrate.js'
import { serve } from './serve.js'

/**
 * Runs the command line `argv` (without `node` and the script). Failures the
 * user can fix print one `grantkit: …` line on stderr and set the exit code;
 * anything else is a bug and is rethrown with its stack.
 *
 * @example
 * await main(['serve', '--port', '0'])
 */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    const command = parseArgs(argv)
    if (command.command === 'help') {
      process.stdout.write(USAGE)
      return
    }
    if (command.command === 'keys-seal') {
      await sealStorage(command, process.env)
      return
    }
    if (command.command === 'migrate') {
      await migrateStorage(command)
      return
    }
    if (command.command === 'cleanup') {
      await cleanupStorage(command)
      return
    }
    await serve(command, { handleSignals: true })
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    const hint = error.exitCode === EXIT_USAGE ? '\nRun "grantkit --help" for usage.' : ''
    process.stderr.write(`grantkit: ${error.message}${hint}\n`)
    process.exitCode = error.exitCode
  }
}

await main(process.argv.slice(2))
