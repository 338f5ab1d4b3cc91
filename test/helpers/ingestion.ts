/**
 * A local Application Insights ingestion endpoint: what a connection string's IngestionEndpoint names. The Azure
 * Monitor exporter POSTs envelopes (a JSON array, gzip'd) to <endpoint>/v2.1/track; this keeps every one and
 * answers as Breeze does, so the exporter neither retries nor keeps them on disk. It serves https (the exporter
 * speaks TLS even to an http:// endpoint) with the local tenant's certificate, which the test workers and the
 * bot processes they start trust through NODE_EXTRA_CA_CERTS (see global-setup.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ensureDevCertificate } from '../../src/local/tenant/dev-cert';

/** One telemetry item as the exporter sends it (Microsoft.ApplicationInsights.Request, .RemoteDependency, .Exception, ...). */
export interface Envelope {
  name: string;
  time: string;
  iKey?: string;
  tags?: Record<string, string>;
  data?: { baseType?: string; baseData?: Record<string, unknown> & { properties?: Record<string, string> } };
}

export class IngestionEndpoint {
  readonly envelopes: Envelope[] = [];
  /** Every HTTP request that reached the endpoint, on any path. */
  readonly hits: Array<{ method: string; path: string }> = [];
  /** The raw bodies (unzipped), to check that no secret was sent. */
  readonly bodies: string[] = [];
  private server?: https.Server;

  get url(): string {
    if (!this.server) throw new Error('ingestion endpoint not started');
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A connection string naming this endpoint (the instrumentation key must be a GUID). */
  connectionString(instrumentationKey = '00000000-0000-0000-0000-000000000000'): string {
    return `InstrumentationKey=${instrumentationKey};IngestionEndpoint=${this.url}/`;
  }

  async start(): Promise<this> {
    const dir = process.env.TEST_TENANT_CERT_DIR;
    if (!dir)
      throw new Error(
        'TEST_TENANT_CERT_DIR is not set: run the tests through jest, whose global setup makes the certificate',
      );
    const certificate = await ensureDevCertificate(dir);
    this.server = https.createServer(
      { cert: certificate.certPem, key: certificate.keyPem },
      (req, res) => void this.handle(req, res),
    );
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Envelopes of one type: 'Request', 'RemoteDependency', 'Exception', 'Metric', ... */
  ofType(type: string): Envelope[] {
    return this.envelopes.filter(
      (e) => e.name === `Microsoft.ApplicationInsights.${type}` || e.name.endsWith(`.${type}`),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    this.hits.push({ method: req.method ?? '', path: req.url ?? '' });
    let body = Buffer.concat(chunks);
    try {
      if (/gzip/i.test(String(req.headers['content-encoding'] ?? ''))) body = gunzipSync(body);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const text = body.toString('utf8');
    this.bodies.push(text);
    let items: Envelope[] = [];
    try {
      const parsed: unknown = text ? JSON.parse(text) : [];
      items = Array.isArray(parsed) ? (parsed as Envelope[]) : [parsed as Envelope];
    } catch {
      // not JSON: counted as a hit, kept as a body
    }
    this.envelopes.push(...items);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ itemsReceived: items.length, itemsAccepted: items.length, appId: null, errors: [] }));
  }
}
