/** Exit code of a command line the CLI does not understand. */
export const EXIT_USAGE = 2

/** Exit code of every other failure: bad config, port in use, unavailable feature. */
export const EXIT_FAILURE = 1

/**
 * A failure the CLI reports as one line on stderr (`grantkit: <message>`) and
 * turns into an exit code. Anything else thrown is a bug and keeps its stack.
 *
 * @example
 * throw new CliError('--port: "http" is not a port number', EXIT_USAGE)
 */
export class CliError extends Error {
  constructor(
    message: string,
    /** Process exit code: `EXIT_USAGE` (2) or `EXIT_FAILURE` (1). */
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message)
    this.name = 'CliError'
  }
}
