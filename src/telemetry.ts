/**
 * Application Insights through the Azure Monitor OpenTelemetry distro, only when APPLICATIONINSIGHTS_CONNECTION_STRING
 * is set (config.telemetry): incoming requests, dependencies (Microsoft Graph, sign-in, Azure Tables, the Bot
 * Connector) and the exceptions of failed turns. Unset, nothing here loads OpenTelemetry and nothing is sent.
 *
 * startTelemetry must run before http, https, restify, botbuilder, the Graph client or the Azure SDK are loaded
 * (src/index.ts loads the runtime after it), or their calls are not instrumented.
 *
 * - http instrumentation: every request and every outgoing http(s) call, one dependency each: Azure Tables, the
 *   token requests of @azure/identity, the Bot Connector. The Azure SDK instrumentation is off: over http it
 *   doubled every storage call, added an in-process item per entity of a batch, and reported each expected 404
 *   lookup as an exception.
 * - Graph: the Graph client calls the global fetch (undici), which instrumentation-http does not see, and
 *   @opentelemetry/instrumentation-undici is not installed: a thin wrapper of globalThis.fetch makes one client
 *   span per call, with the attributes instrumentation-http sets (its duration ends when the headers arrive).
 * - No secret is sent: no request or response header is captured (no headersToSpanAttributes), so Authorization
 *   and the job token stay; bodies are never recorded (the token request's client_secret, a revealed secret);
 *   signature query parameters (sig, Signature) read REDACTED; exceptions are redacted like logs (redactText).
 * - Not traced: /healthz and /readyz probes, and what runs inside untraced() (the 30-second sweep).
 * - No live metrics, no statsbeat (the SDK's usage reports to Microsoft's own resource), no log export.
 */
import type { AzureMonitorOpenTelemetryOptions } from '@azure/monitor-opentelemetry';
import type { HttpInstrumentationConfig } from '@opentelemetry/instrumentation-http';
import type * as OpenTelemetryApi from '@opentelemetry/api';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { ConfigError } from './config';
import { redactText } from './lib/logger';

export interface TelemetrySettings {
  connectionString?: string;
}

export interface Telemetry {
  /** Exports what is buffered and stops; gives up after `timeoutMs` (an unreachable endpoint must not hold a stop). */
  shutdown(timeoutMs?: number): Promise<void>;
}

/** Set once startTelemetry ran: the OpenTelemetry API, loaded only then. */
let otel: typeof OpenTelemetryApi | undefined;
let suppressTracing: ((context: OpenTelemetryApi.Context) => OpenTelemetryApi.Context) | undefined;

/** Requests that are never traced: liveness and readiness probes arrive every few seconds and say nothing. */
const untracedPaths = new Set(['/healthz', '/readyz']);

/** Query parameters whose values are signatures (the http instrumentation's default list, applied to fetch too). */
const secretQueryParameters = ['sig', 'Signature', 'AWSAccessKeyId', 'X-Goog-Signature'];

/**
 * Starts the distro with the connection string from config (never from the environment on its own); returns
 * undefined, and loads nothing, when there is none.
 */
export function startTelemetry(settings: TelemetrySettings): Telemetry | undefined {
  const connectionString = settings.connectionString;
  if (!connectionString) return undefined;
  // Statsbeat reports SDK usage to Microsoft's own Application Insights resource, outside the configured one;
  // the exporter reads only this switch to turn it off. A write, not configuration.
  // eslint-disable-next-line no-restricted-properties
  process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';

  const http: HttpInstrumentationConfig = {
    enabled: true,
    ignoreIncomingRequestHook: (request: IncomingMessage) => untracedPaths.has((request.url ?? '').split('?')[0] ?? ''),
  };
  const options: AzureMonitorOpenTelemetryOptions = {
    azureMonitorExporterOptions: { connectionString },
    // Every trace is kept: a few turns a minute, and a failed one must not be sampled away.
    samplingRatio: 1,
    tracesPerSecond: 0,
    enableLiveMetrics: false,
    enableStandardMetrics: true,
    enablePerformanceCounters: false,
    instrumentationOptions: {
      http,
      azureSdk: { enabled: false },
      mongoDb: { enabled: false },
      mySql: { enabled: false },
      postgreSql: { enabled: false },
      redis: { enabled: false },
      redis4: { enabled: false },
      bunyan: { enabled: false },
      winston: { enabled: false },
    },
  };

  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only when telemetry is on */
  const distro = require('@azure/monitor-opentelemetry') as typeof import('@azure/monitor-opentelemetry');
  const api = require('@opentelemetry/api') as typeof OpenTelemetryApi;
  /* eslint-enable @typescript-eslint/no-require-imports */
  // The distro's own copies of @opentelemetry/resources and core (2.x): another package installs 1.x at the top level.
  const distroRequire = createRequire(require.resolve('@azure/monitor-opentelemetry'));
  const resources = distroRequire('@opentelemetry/resources') as {
    resourceFromAttributes(
      attributes: Record<string, string>,
    ): NonNullable<AzureMonitorOpenTelemetryOptions['resource']>;
  };
  const core = distroRequire('@opentelemetry/core') as {
    suppressTracing(context: OpenTelemetryApi.Context): OpenTelemetryApi.Context;
  };
  // The cloud role Application Insights groups by (its Application Map node).
  options.resource = resources.resourceFromAttributes({ 'service.name': 'registrar' });
  try {
    distro.useAzureMonitor(options);
  } catch (err) {
    // The exporter checks the connection string further than config does (the instrumentation key must be a GUID).
    throw new ConfigError([
      `APPLICATIONINSIGHTS_CONNECTION_STRING was not accepted by the Azure Monitor exporter: ${err instanceof Error ? err.message : String(err)}`,
    ]);
  }
  otel = api;
  suppressTracing = core.suppressTracing;
  traceFetch(api);

  let stopped: Promise<void> | undefined;
  return {
    shutdown(timeoutMs = 10_000) {
      stopped ??= Promise.race([
        Promise.resolve(distro.shutdownAzureMonitor()).catch(() => undefined),
        new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]);
      return stopped;
    },
  };
}

/** Runs `work` with nothing traced (routine background work that would only add noise); as is when telemetry is off. */
export function untraced<T>(work: () => T): T {
  const api = otel;
  if (!api || !suppressTracing) return work();
  return api.context.with(suppressTracing(api.context.active()), work);
}

/**
 * Records an error on the active span (the request of the turn that failed) and marks it failed, so that
 * Application Insights shows an exception in that request's operation; without an active span, on a span of its
 * own. Does nothing when telemetry is off.
 */
export function recordException(err: unknown): void {
  const api = otel;
  if (!api) return;
  const exception = toException(err);
  const active = api.trace.getActiveSpan();
  const span = active?.isRecording()
    ? active
    : api.trace.getTracer('registrar').startSpan('unhandled error', { kind: api.SpanKind.INTERNAL });
  span.recordException(exception);
  span.setStatus({ code: api.SpanStatusCode.ERROR, message: exception.message });
  if (span !== active) span.end();
}

function toException(err: unknown): { name: string; message: string; stack?: string } {
  if (err instanceof Error)
    return { name: err.name, message: redactText(err.message), ...(err.stack ? { stack: redactText(err.stack) } : {}) };
  return { name: 'Error', message: redactText(String(err)) };
}

function redactedUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  for (const name of secretQueryParameters) if (copy.searchParams.has(name)) copy.searchParams.set(name, 'REDACTED');
  return copy.href;
}

/** One client span per global fetch call (the Graph client's transport), named and attributed as instrumentation-http does. */
function traceFetch(api: typeof OpenTelemetryApi): void {
  const original = globalThis.fetch;
  const tracer = api.trace.getTracer('registrar-fetch');
  globalThis.fetch = async function tracedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    let url: URL;
    try {
      url = new URL(input instanceof Request ? input.url : String(input));
    } catch {
      return original(input, init);
    }
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const span = tracer.startSpan(method, {
      kind: api.SpanKind.CLIENT,
      attributes: {
        'http.method': method,
        'http.url': redactedUrl(url),
        'http.host': url.host,
        'http.scheme': url.protocol.replace(/:$/, ''),
        'net.peer.name': url.hostname,
        'net.peer.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      },
    });
    try {
      const response = await original(input, init);
      span.setAttribute('http.status_code', response.status);
      if (response.status >= 400) span.setStatus({ code: api.SpanStatusCode.ERROR });
      return response;
    } catch (err) {
      const exception = toException(err);
      span.recordException(exception);
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: exception.message });
      throw err;
    } finally {
      span.end();
    }
  };
}
