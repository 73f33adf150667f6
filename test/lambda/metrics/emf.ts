import type { MetricsLogger } from '../../../lambda/metrics';

/** One EMF document as Powertools Metrics prints it. */
export interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

/**
 * Captures what is written to stdout (where Powertools Metrics prints its EMF lines) while
 * installed. `documents()` parses the EMF lines; `restore()` puts stdout back.
 */
export function captureStdout(): { documents(): EmfDocument[]; text(): string; restore(): void } {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(chunk.toString());
    return true;
  });
  return {
    documents: () => parseEmf(chunks.join('')),
    text: () => chunks.join(''),
    restore: () => spy.mockRestore(),
  };
}

/** The EMF documents among the lines of `text`. */
export function parseEmf(text: string): EmfDocument[] {
  return text
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as EmfDocument);
}

/**
 * The value of metric `name` in the document whose dimension set is exactly
 * service + Stage (+ `extra`), or undefined when no document holds it.
 */
export function metricValue(
  documents: readonly EmfDocument[],
  name: string,
  extra: Record<string, string> = {},
): number | undefined {
  const wanted = ['service', 'Stage', ...Object.keys(extra)].sort().join(',');
  for (const document of documents) {
    const [directive] = document._aws.CloudWatchMetrics;
    if (!directive?.Metrics.some((metric) => metric.Name === name)) continue;
    const dimensionSets = directive.Dimensions.map((set) => [...set].sort().join(','));
    if (!dimensionSets.includes(wanted)) continue;
    if (!Object.entries(extra).every(([key, value]) => document[key] === value)) continue;
    return document[name] as number;
  }
  return undefined;
}

/** A logger that records what it was told. */
export function recordingLogger(): MetricsLogger & {
  entries: { level: string; message: string; attributes: Record<string, unknown> }[];
} {
  const entries: { level: string; message: string; attributes: Record<string, unknown> }[] = [];
  const record =
    (level: string) =>
    (message: string, ...attributes: Record<string, unknown>[]) => {
      entries.push({ level, message, attributes: Object.assign({}, ...attributes) });
    };
  return { entries, info: record('info'), warn: record('warn'), error: record('error') };
}
