/**
 * The one way Registrar's adapters call Microsoft Graph: the connection's token and client, one retry policy
 * (lib/retry.ts with graph-errors.ts' classifier) bounded by a deadline, paging by @odata.nextLink, and waits for
 * reads to show what writes said exists. The Graph client's own RetryHandler is switched off for every call, so a
 * Retry-After is waited once, exactly, and never cut short by the client's 180 s cap
 * (https://learn.microsoft.com/graph/throttling). A failure left after the retries becomes a RegistrarError that
 * says what Registrar was doing and what an administrator can do.
 *
 * It is built once, in container.ts, and handed to the provisioner, the credential source and the directory;
 * withTimeout() gives the same caller with the few seconds a Teams invoke allows.
 */
import type { Logger } from '../../lib/logger';
import { RegistrarError } from '../../domain/errors';
import { realSleep, type RetryAttempt, type RetryDecision, withRetry } from '../../lib/retry';
import { type GraphConnection, NO_CLIENT_RETRY } from './graph-client';
import {
  classifyGraphError,
  type FailureHelp,
  type GraphErrorClass,
  graphRetryClassifier,
  readGraphFailure,
  toRegistrarError,
} from './graph-errors';

export interface GraphTiming {
  /** How long one step (a provisioning step, a page, a lookup) keeps retrying throttling, outages and replication (default 3 minutes). */
  stepTimeoutMs?: number;
  /** First backoff and its cap (defaults 1 s and 30 s): Graph asks clients to back off exponentially (https://learn.microsoft.com/graph/throttling). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface GraphCallerOptions extends GraphTiming {
  connection: GraphConnection;
  /**
   * For this long after an object was created, a 404 about it is replication lag, not absence (default 5 minutes):
   * "a newly created object may return Not Found" while Entra ID replicates
   * (https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/).
   */
  replicationWindowMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** 0..1, for the backoff's jitter. */
  random?: () => number;
}

export type GraphMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface GraphCall {
  /** Default GET. */
  method?: GraphMethod;
  /** A path below /v1.0, or a full @odata.nextLink (which carries its query as Graph wrote it). */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  select?: readonly string[];
  /** Sent URL-encoded: the client puts query values into the URL as they are, and a value may hold & or #. */
  filter?: string;
  top?: number;
  expand?: string;
}

/** A read: a first request (a path and its query) or a nextLink. */
export type GraphGet = Omit<GraphCall, 'method' | 'body'>;

/** What the retry classifier and the failure message need to know about one call. */
export interface CallOptions {
  log: Logger;
  help: FailureHelp;
  /** No retry starts after it (default: now + stepTimeoutMs). A step passes one deadline to all its calls. */
  deadline?: Date;
  /** The ids that may still be replicating (default: none, so every 404 is real). */
  recent?: RecentIds;
  /** The ids this call names (in its path or body): a 404 that names none of them is judged by these. */
  references?: readonly string[];
  /** An upsert by uniqueName: a uniqueName conflict then means the object exists but is still replicating. */
  upsertByUniqueName?: boolean;
  /** The creation of a resource API's service principal by appId (CallContext.resourceServicePrincipal). */
  resourceServicePrincipal?: boolean;
  /**
   * False for a call that must not be repeated when it may have taken effect (addPassword): only the answers that
   * say Graph did nothing (429, 503, a replication refusal) are retried. Default true.
   */
  repeatable?: boolean;
  /** Wraps every attempt, retries included: a budget of requests (graph-credential-source.ts) waits there. */
  gate?: <T>(send: () => Promise<T>) => Promise<T>;
}

export interface WaitOptions {
  log: Logger;
  help: FailureHelp;
  deadline?: Date;
  /**
   * How many reads in a row must show it (default 1). One read that shows an object proves one replica has it;
   * a caller that needs every later read to see it asks for more, as Terraform's azuread provider does (5).
   */
  consecutive?: number;
}

interface Page<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

/** Thrown inside a wait when an object that Graph says exists is not yet visible to reads. */
class NotYetVisible extends Error {}

/**
 * Which ids may still be replicating, for one step: those its context says were created within the replication
 * window, and those the step itself writes. It lives as long as the step; nothing is remembered between steps.
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  private constructor(private readonly fresh: boolean) {}

  /** `ids` are recent when `createdAt` (when they were created) is within `windowMs` of `now`. */
  static of(ids: readonly string[], createdAt: Date | undefined, now: number, windowMs: number): RecentIds {
    const recent = new RecentIds(createdAt !== undefined && now - createdAt.getTime() < windowMs);
    for (const id of ids) recent.addIfFresh(id);
    return recent;
  }

  /** Written by this step moments ago: reads may miss it for a while, whatever the answer. */
  add(id: string): void {
    this.ids.add(id.toLowerCase());
  }

  /** Found by this step: as recent as what the step's context names. */
  addIfFresh(id: string): void {
    if (this.fresh) this.add(id);
  }

  has(id: string): boolean {
    return this.ids.has(id.toLowerCase());
  }
}

export class GraphCaller {
  readonly connection: GraphConnection;
  readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly stepTimeoutMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly replicationWindowMs: number;

  constructor(private readonly options: GraphCallerOptions) {
    this.connection = options.connection;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.stepTimeoutMs = options.stepTimeoutMs ?? 180_000;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.replicationWindowMs = options.replicationWindowMs ?? 300_000;
  }

  /** The same caller with another retry budget (inside a Teams invoke, a few seconds). */
  withTimeout(stepTimeoutMs: number): GraphCaller {
    return new GraphCaller({ ...this.options, stepTimeoutMs });
  }

  /** When a step that starts now stops retrying. */
  deadline(): Date {
    return new Date(this.now() + this.stepTimeoutMs);
  }

  /** The ids a step names, recent when its context says they were created within the replication window. */
  recent(ids: readonly string[], createdAt: Date | undefined): RecentIds {
    return RecentIds.of(ids, createdAt, this.now(), this.replicationWindowMs);
  }

  /** How the policy reads this failure of a call (for the callers that adopt an "already exists"). */
  classify(
    error: unknown,
    options: Pick<CallOptions, 'recent' | 'references' | 'upsertByUniqueName'>,
  ): GraphErrorClass {
    return classifyGraphError(error, this.callContext(options));
  }

  /** One call through the retry policy; what is left of a failure is thrown as Graph gave it (see fail()). */
  async attempt<T>(call: GraphCall, options: CallOptions): Promise<T> {
    const gate = options.gate;
    const send = () => this.request<T>(call);
    return this.retry(gate ? () => gate(send) : send, {
      classify: graphRetryClassifier(this.callContext(options), options.repeatable ?? true),
      deadline: options.deadline ?? this.deadline(),
      onRetry: ({ attempt, delayMs, reason, error }) => {
        const f = readGraphFailure(error);
        options.log.info({ attempt, delayMs, reason, status: f.status, code: f.code }, 'graph call retried');
      },
    });
  }

  /** One call through the retry policy; a failure that is left becomes a RegistrarError. */
  async send<T>(call: GraphCall, options: CallOptions): Promise<T> {
    try {
      return await this.attempt<T>(call, options);
    } catch (err) {
      throw this.fail(err, options);
    }
  }

  get<T>(call: GraphGet | string, options: CallOptions): Promise<T> {
    return this.send<T>(typeof call === 'string' ? { path: call } : call, options);
  }

  /**
   * Every page of a collection, one at a time (follows @odata.nextLink), each as `map` makes it: the page Graph
   * sent is not kept while the consumer works and the next one is read. `options` may differ per page number.
   */
  async *pages<T, R = T[]>(
    first: GraphGet,
    options: CallOptions | ((page: number) => CallOptions),
    map?: (items: T[]) => R,
  ): AsyncGenerator<R> {
    const optionsOf = typeof options === 'function' ? options : () => options;
    let target: GraphGet | undefined = first;
    for (let number = 1; target; number += 1) {
      const read: { mapped: R; next?: string } = await this.page<T, R>(
        target,
        optionsOf(number),
        map ?? ((items) => items as unknown as R),
      );
      const { mapped, next } = read;
      target = next ? { path: next } : undefined;
      yield mapped;
    }
  }

  /** Every item of a collection (follows @odata.nextLink). */
  async list<T>(first: GraphGet, options: CallOptions): Promise<T[]> {
    const items: T[] = [];
    for await (const page of this.pages<T>(first, options)) items.push(...page);
    return items;
  }

  /**
   * Re-reads until Graph's reads show what its writes said exists, `consecutive` times in a row, or the deadline
   * passes (https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/).
   */
  async waitUntil<T>(read: () => Promise<T | undefined>, options: WaitOptions): Promise<T> {
    const wanted = Math.max(1, options.consecutive ?? 1);
    const deadline = options.deadline ?? this.deadline();
    let seen = 0;
    try {
      for (;;) {
        // Confirmations are spaced like a first backoff, and none starts after the deadline.
        if (seen > 0) {
          if (this.now() + this.baseDelayMs > deadline.getTime())
            throw new NotYetVisible('not confirmed before the deadline');
          await this.sleep(this.baseDelayMs);
        }
        const found = await this.retry(
          async () => {
            const value = await read();
            if (value === undefined) {
              seen = 0;
              throw new NotYetVisible('not yet visible');
            }
            return value;
          },
          {
            classify: (err) => (err instanceof NotYetVisible ? 'retry' : 'fail'),
            deadline,
            onRetry: ({ attempt, delayMs }) => options.log.info({ attempt, delayMs }, 'waiting for replication'),
          },
        );
        seen += 1;
        if (seen >= wanted) return found;
      }
    } catch (err) {
      if (!(err instanceof NotYetVisible)) throw err;
      throw new RegistrarError(
        'unavailable',
        'Microsoft Entra ID is still replicating a change. Try again in a few minutes; nothing will be duplicated.',
        {
          detail: `${options.help.doing}: Graph said the object exists but reads did not show it before the deadline.`,
        },
      );
    }
  }

  /** Any operation under this caller's backoff and clock (the token endpoint's wait for a new secret). */
  retry<T>(
    operation: () => Promise<T>,
    options: { classify: (error: unknown) => RetryDecision; deadline: Date; onRetry?: (attempt: RetryAttempt) => void },
  ): Promise<T> {
    return withRetry(operation, {
      ...options,
      baseDelayMs: this.baseDelayMs,
      maxDelayMs: this.maxDelayMs,
      now: this.now,
      sleep: this.sleep,
      random: this.random,
    });
  }

  /** A failure of a call, for the user and the operator; logged once here. */
  fail(err: unknown, options: Pick<CallOptions, 'help' | 'log'>): RegistrarError {
    const error = toRegistrarError(err, options.help);
    // Refused for a missing permission: once an administrator grants it, the next call must not reuse a token
    // issued before the grant (it would be refused again until it expires).
    if (error.code === 'not-authorized') this.connection.renewToken();
    if (!(err instanceof RegistrarError)) {
      const f = readGraphFailure(err);
      options.log.warn(
        { status: f.status, code: f.code, graphMessage: f.message, doing: options.help.doing },
        'graph call failed',
      );
    }
    return error;
  }

  private async page<T, R>(
    target: GraphGet,
    options: CallOptions,
    map: (items: T[]) => R,
  ): Promise<{ mapped: R; next?: string }> {
    const page = await this.get<Page<T>>(target, options);
    return { mapped: map(page.value ?? []), next: page['@odata.nextLink'] };
  }

  private callContext(
    options: Pick<CallOptions, 'recent' | 'references' | 'upsertByUniqueName' | 'resourceServicePrincipal'>,
  ) {
    const recent = options.recent;
    return {
      isRecent: (id: string) => recent?.has(id) ?? false,
      references: options.references ?? [],
      upsertByUniqueName: options.upsertByUniqueName ?? false,
      resourceServicePrincipal: options.resourceServicePrincipal ?? false,
    };
  }

  private request<T>(call: GraphCall): Promise<T> {
    let request = this.connection.client.api(call.path).middlewareOptions([NO_CLIENT_RETRY]);
    if (call.headers) request = request.headers(call.headers);
    if (call.select) request = request.select([...call.select]);
    if (call.top) request = request.top(call.top);
    if (call.expand) request = request.expand(call.expand);
    if (call.filter) request = request.filter(encodeURIComponent(call.filter));
    switch (call.method ?? 'GET') {
      case 'GET':
        return request.get() as Promise<T>;
      case 'POST':
        return request.post(call.body) as Promise<T>;
      case 'PATCH':
        return request.patch(call.body) as Promise<T>;
      case 'DELETE':
        return request.delete() as Promise<T>;
    }
  }
}

/** An OData key literal in a path: single quotes doubled, then URL-encoded. */
export function keyLiteral(value: string): string {
  return encodeURIComponent(value.replace(/'/g, "''"));
}

/** An OData string literal in a $filter: single quotes doubled. */
export function stringLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
