import { CliError } from './errors.js'
import type { Output } from './serve.js'

/**
 * The OpenTelemetry SDK that `grantkit serve` starts. An optional peer
 * dependency: it brings every exporter (and gRPC), which only those who
 * export need.
 */
export const OTEL_SDK_PACKAGE = '@opentelemetry/sdk-node'

/**
 * Variables of the OpenTelemetry SDK environment specification that ask for
 * OTLP export. Any one of them, non-empty, starts the SDK; the SDK itself then
 * reads every `OTEL_*` variable (protocol, headers, intervals, sampler, …).
 */
export const OTLP_ENDPOINT_VARIABLES = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'] as const

/** The part of `@opentelemetry/sdk-node` that serve uses. */
export interface NodeSdkModule {
  NodeSDK: new (configuration?: { serviceName?: string }) => { start(): void; shutdown(): Promise<void> }
}

/** A started SDK. */
export interface ServeTelemetry {
  /** Exports what is buffered (spans, the last metrics) and stops. Never rejects. */
  shutdown(): Promise<void>
}

/**
 * Whether `env` asks for export: an OTLP endpoint variable is set and
 * `OTEL_SDK_DISABLED` is not `true` (the specification's switch, case-insensitive).
 *
 * @example
 * wantsTelemetry({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }) // true
 */
export function wantsTelemetry(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false
  return OTLP_ENDPOINT_VARIABLES.some((name) => (env[name]?.trim() ?? '') !== '')
}

async function loadSdk(): Promise<NodeSdkModule> {
  return (await import('@opentelemetry/sdk-node')) as unknown as NodeSdkModule
}

const isModuleNotFound = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && ['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'].includes((error as { code?: string }).code ?? '')

/**
 * Starts the OpenTelemetry Node SDK when `env` asks for OTLP export, so that
 * the servers built afterwards find its providers. Call it before building
 * any server: grantkit decides at construction whether to instrument.
 * The SDK reads the rest of its configuration from the `OTEL_*` variables of
 * the process; the service is named `grantkit` unless they name it.
 *
 * @throws CliError naming the package to install when the SDK is missing; nothing listens then
 * @example
 * const telemetry = await startTelemetry(process.env, out)
 * await telemetry?.shutdown()
 */
export async function startTelemetry(env: NodeJS.ProcessEnv, out: Output, load: () => Promise<NodeSdkModule> = loadSdk): Promise<ServeTelemetry | undefined> {
  if (!wantsTelemetry(env)) return undefined
  const asking = OTLP_ENDPOINT_VARIABLES.find((name) => (env[name]?.trim() ?? '') !== '')!
  let sdkModule: NodeSdkModule
  try {
    sdkModule = await load()
  } catch (error) {
    if (isModuleNotFound(error)) {
      throw new CliError(`${asking} is set, which exports traces and metrics over OTLP, but the package "${OTEL_SDK_PACKAGE}" is not installed; install it with: npm install ${OTEL_SDK_PACKAGE} (or unset ${asking})`)
    }
    throw new CliError(`${asking} is set, but the package "${OTEL_SDK_PACKAGE}" could not be loaded: ${error instanceof Error ? error.message : String(error)}`)
  }
  const named = (env.OTEL_SERVICE_NAME?.trim() ?? '') !== '' || /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '')
  // The SDK's `serviceName` overrides the variables, so it is passed only when they say nothing.
  const sdk = new sdkModule.NodeSDK(named ? {} : { serviceName: 'grantkit' })
  sdk.start()
  // The endpoint is not echoed: a collector URL may carry credentials.
  out.stdout(`grantkit: exporting traces and metrics over OTLP (${asking})\n`)
  let stopped: Promise<void> | undefined
  return {
    shutdown() {
      stopped ??= sdk.shutdown().catch(() => {
        out.stderr('grantkit: warning: OpenTelemetry: could not export the last spans and metrics on shutdown\n')
      })
      return stopped
    },
  }
}

/**
 * What `opening` resolves to, with a `close()` that also stops telemetry
 * (after the storage, so the last storage spans are exported); when opening
 * fails, telemetry stops before the error goes on.
 *
 * @example
 * const opened = await closingTelemetry(telemetry, openStorage(url, options))
 */
export async function closingTelemetry<T extends { close(): Promise<void> }>(telemetry: ServeTelemetry | undefined, opening: Promise<T>): Promise<T> {
  if (telemetry === undefined) return opening
  let opened: T
  try {
    opened = await opening
  } catch (error) {
    await telemetry.shutdown()
    throw error
  }
  return {
    ...opened,
    close: async () => {
      try {
        await opened.close()
      } finally {
        await telemetry.shutdown()
      }
    },
  }
}
