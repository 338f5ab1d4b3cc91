/**
 * JSON batching (https://learn.microsoft.com/graph/json-batching): POST /v1.0/$batch with at most 20 requests. Each request goes through the same
 * pipeline as a direct call (token, faults, permissions), so it is throttled and counted on its own. Requests run
 * one at a time in an order that honours dependsOn (Graph allows any order for independent requests); a request
 * whose dependency failed is not run and answers 424 Failed Dependency.
 */
import { GraphError, type GraphResponse } from './http';

export const MAX_BATCH_REQUESTS = 20;

export interface BatchItem {
  id: string;
  method: string;
  /** Relative to /v1.0: "/applications?$top=1" or "applications/{id}". */
  url: string;
  headers: Record<string, string>;
  body?: unknown;
  dependsOn: string[];
}

export interface BatchItemResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

/** Runs one inner request through the Graph pipeline. */
export type InnerDispatch = (item: BatchItem) => Promise<GraphResponse & { lose?: boolean }>;

const malformed = (message: string) => new GraphError(400, 'BadRequest', message);
const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT']);

/** Checks the batch document and orders its requests so that each comes after what it depends on. Throws a 400 GraphError. */
export function parseBatch(body: unknown): BatchItem[] {
  const requests = (body as { requests?: unknown } | undefined)?.requests;
  if (!body || typeof body !== 'object' || !Array.isArray(requests)) throw malformed('Invalid batch payload format.');
  if (requests.length > MAX_BATCH_REQUESTS) {
    // Graph's text is not in the sources read (the batching page says only "400"); this is the SDKs' wording of the limit.
    throw malformed(`Number of batch request steps exceeds the maximum value of ${MAX_BATCH_REQUESTS}.`);
  }
  const items: BatchItem[] = requests.map((raw: unknown) => {
    const r = (raw ?? {}) as Record<string, unknown>;
    if (typeof r.id !== 'string' || r.id === '' || typeof r.method !== 'string' || typeof r.url !== 'string') {
      throw malformed('Invalid batch payload format. Every request needs a string id, method and url.');
    }
    if (/^https?:/i.test(r.url))
      throw malformed(`Invalid request URL '${r.url}': batch request URLs are relative, such as /applications.`);
    const headers = Object.fromEntries(
      Object.entries((r.headers ?? {}) as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), String(v)]),
    );
    const dependsOn = Array.isArray(r.dependsOn) ? r.dependsOn.map(String) : [];
    return { id: r.id, method: r.method.toUpperCase(), url: r.url, headers, body: r.body, dependsOn };
  });
  const ids = new Map(items.map((item) => [item.id.toLowerCase(), item]));
  if (ids.size !== items.length)
    throw malformed('Batch request contains duplicate request ids: ids must be unique (case-insensitive).');
  for (const item of items) {
    for (const dep of item.dependsOn) {
      if (!ids.has(dep.toLowerCase()))
        throw malformed(`Request '${item.id}' depends on '${dep}', which is not in the batch.`);
    }
  }
  // Topological order, stable on the order given.
  const ordered: BatchItem[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (item: BatchItem): void => {
    const key = item.id.toLowerCase();
    if (state.get(key) === 'done') return;
    if (state.get(key) === 'visiting') throw malformed(`The dependsOn of request '${item.id}' form a cycle.`);
    state.set(key, 'visiting');
    for (const dep of item.dependsOn) visit(ids.get(dep.toLowerCase())!);
    state.set(key, 'done');
    ordered.push(item);
  };
  items.forEach(visit);
  return ordered;
}

/** Runs the batch; `lose` when a write inside asked for its response to be lost (the whole connection drops). */
export async function runBatch(
  items: readonly BatchItem[],
  dispatch: InnerDispatch,
  errorFor: (item: BatchItem, error: GraphError) => unknown,
): Promise<{ responses: BatchItemResponse[]; lose: boolean }> {
  const responses: BatchItemResponse[] = [];
  const status = new Map<string, number>();
  let lose = false;
  for (const item of items) {
    const failed = item.dependsOn.find((dep) => {
      const s = status.get(dep.toLowerCase());
      return s === undefined || s < 200 || s > 299;
    });
    let response: BatchItemResponse;
    if (failed !== undefined) {
      const error = new GraphError(
        424,
        'FailedDependency',
        `The request was not run because request '${failed}' it depends on failed.`,
      );
      response = {
        id: item.id,
        status: 424,
        headers: { 'content-type': 'application/json' },
        body: errorFor(item, error),
      };
    } else if (WRITE_METHODS.has(item.method) && (item.body === undefined || !item.headers['content-type'])) {
      // Observed Graph answer for a write without Content-Type or body inside a batch.
      const error = new GraphError(
        400,
        'BadRequest',
        `Write request id : ${item.id} does not contain Content-Type header or body.`,
      );
      response = {
        id: item.id,
        status: 400,
        headers: { 'content-type': 'application/json' },
        body: errorFor(item, error),
      };
    } else {
      const result = await dispatch(item);
      lose ||= result.lose === true;
      const headers: Record<string, string> = { ...result.headers };
      if (result.text !== undefined) headers['content-type'] = 'text/plain';
      else if (result.body !== undefined) headers['content-type'] = 'application/json';
      response = {
        id: item.id,
        status: result.status,
        headers,
        ...(result.text !== undefined ? { body: result.text } : result.body !== undefined ? { body: result.body } : {}),
      };
    }
    status.set(item.id.toLowerCase(), response.status);
    responses.push(response);
  }
  return { responses, lose };
}
