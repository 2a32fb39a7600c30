import { context, metrics, propagation, trace, type Attributes } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'

/** An SDK pair that keeps everything in memory: spans as they end, metrics on `collect()`. */
export interface MemoryTelemetry {
  tracerProvider: BasicTracerProvider
  meterProvider: MeterProvider
  spans(): ReadableSpan[]
  /** Exports the metrics now and returns each metric by name. */
  collect(): Promise<Map<string, MetricData>>
  shutdown(): Promise<void>
}

/**
 * In-memory OpenTelemetry SDK providers, not registered globally. A context
 * manager is (as the Node SDK does), so that storage spans find their parent.
 */
export function memoryTelemetry(): MemoryTelemetry {
  const spanExporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] })
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  // The interval never fires in a test: collect() flushes by hand.
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  return {
    tracerProvider,
    meterProvider,
    spans: () => spanExporter.getFinishedSpans(),
    async collect() {
      metricExporter.reset()
      await reader.forceFlush()
      const out = new Map<string, MetricData>()
      for (const rm of metricExporter.getMetrics()) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) out.set(m.descriptor.name, m)
      return out
    },
    async shutdown() {
      await tracerProvider.shutdown()
      await meterProvider.shutdown()
    },
  }
}

/** Registers the async context manager for the test file; returns the undo. */
export function useContextManager(): () => void {
  const manager = new AsyncLocalStorageContextManager().enable()
  context.setGlobalContextManager(manager)
  return () => {
    context.disable()
  }
}

/** Forgets every global provider, propagator and context manager. */
export function resetGlobals(): void {
  trace.disable()
  metrics.disable()
  propagation.disable()
  context.disable()
}

/** The value of the counter point whose attributes include `match`. */
export function sumOf(metric: MetricData | undefined, match: Attributes): number {
  if (metric === undefined) return 0
  return (metric.dataPoints as DataPoint<number>[]).filter((p) => matches(p.attributes, match)).reduce((n, p) => n + p.value, 0)
}

/** The histogram points whose attributes include `match`. */
export function histogramPoints(metric: MetricData | undefined, match: Attributes): Histogram[] {
  if (metric === undefined) return []
  return (metric.dataPoints as DataPoint<Histogram>[]).filter((p) => matches(p.attributes, match)).map((p) => p.value)
}

function matches(attributes: Attributes, match: Attributes): boolean {
  return Object.entries(match).every(([k, v]) => attributes[k] === v)
}
