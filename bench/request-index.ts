/**
 * Benchmark: what the sweep (expireDue, redactDue, expireDeliveriesDue), `mine`, `pending` and resume read, with
 * 100 and with 10,000 decided requests in an Azurite store beside the same few open ones. They read index rows and
 * the requests those point to, so the rows read must be the same at both sizes (flat).
 *
 * Rows read is the measure that carries over to Azure: Azure Tables finds a point query or a RowKey range within a
 * partition through its (PartitionKey, RowKey) index, so either costs the rows it returns,
 * https://learn.microsoft.com/azure/storage/tables/table-storage-design-for-query
 * Azurite (LokiJS) instead evaluates every query over its whole table, so its milliseconds grow somewhat with the
 * table even when the rows read do not; the comparison line shows what reading every request costs there.
 *
 * The helpers (a request factory, seeding in transactions of 100 rows, a Store that counts the rows it reads) are
 * shared with test/integration/services/request-index.test.ts.
 */
import { performance } from 'node:perf_hooks';
import { TableStore } from '../src/adapters/storage/table-store';
import { loadConfig } from '../src/config';
import type { Actor } from '../src/domain/conversation';
import { createRequest, type AppRequest, type RequestStatus } from '../src/domain/request';
import { requestIdAlphabet, requestIdLength } from '../src/domain/request-id';
import type { RequestForm } from '../src/domain/request-form';
import { createLogger } from '../src/lib/logger';
import { localDefaults } from '../src/local/demo-identities';
import { startAzurite } from '../src/local/azurite';
import { createDeliveryService } from '../src/services/delivery-service';
import type { Provisioner, RangeCollection, RequestTable, RequestTableWrite, Store } from '../src/services/ports';
import { createProvisioningService } from '../src/services/provisioning-service';
import { createApproverPolicy } from '../src/services/request-approvers';
import { REQUEST_PARTITION, indexRowsOf } from '../src/services/request-records';
import { createRequestService } from '../src/services/request-service';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A request id from a number: distinct numbers give distinct ids. */
export function requestIdFor(n: number): string {
  let id = '';
  for (let rest = n, i = 0; i < requestIdLength; i++, rest = Math.floor(rest / requestIdAlphabet.length))
    id = requestIdAlphabet[rest % requestIdAlphabet.length]! + id;
  return id;
}

const form: RequestForm = {
  displayName: 'Orders sync',
  purpose: 'Reads the signed-in user to sync orders.',
  signInAudience: 'AzureADMyOrg',
  platform: 'none',
  redirectUris: [],
  graphPermissions: [],
  otherPermissions: [],
  credential: { kind: 'secret', lifetimeDays: 180 },
  additionalOwnerIds: [],
};

/** A submitted request as createRequest makes it (7 days to decide), with `changes` on top. */
export function sampleRequest(id: string, requester: string, now: Date, changes: Partial<AppRequest> = {}): AppRequest {
  const { request } = createRequest({
    id,
    requester: { aadObjectId: requester, name: requester.slice(0, 8) },
    form,
    permissions: [],
    risk: { level: 'low', items: [], notes: [] },
    approvalsRequired: 1,
    pendingTtlDays: 7,
    now,
  });
  return { ...request, ...changes };
}

const decidedStatuses: readonly RequestStatus[] = ['delivered', 'rejected', 'expired', 'cancelled', 'failed'];

/**
 * Writes requests with their index rows straight into the table, up to 100 rows a transaction (seeding, not a
 * lifecycle: the rows are those any save of the same request writes).
 */
export async function seed(store: Store, requests: readonly AppRequest[]): Promise<void> {
  let batch: RequestTableWrite[] = [];
  const send = async () => {
    if (batch.length > 0) await store.requests.transactWithIndex(REQUEST_PARTITION, batch);
    batch = [];
  };
  for (const request of requests) {
    const indexRows = indexRowsOf(request);
    const writes: RequestTableWrite[] = [
      { on: 'record', op: 'create', row: request.id, value: { ...request, indexRows } },
      ...indexRows.map((row): RequestTableWrite => ({
        on: 'index',
        op: 'upsert',
        row,
        value: { requestId: request.id },
      })),
    ];
    if (batch.length + writes.length > 100) await send();
    batch.push(...writes);
  }
  await send();
}

/** `count` decided requests (delivered with the secret hidden, rejected, expired, cancelled, failed) of `people` people, ids from `firstId`. */
export function decidedRequests(
  count: number,
  options: { people: readonly string[]; firstId: number; now: Date },
): AppRequest[] {
  return Array.from({ length: count }, (_, i) => {
    const status = decidedStatuses[i % decidedStatuses.length]!;
    const createdAt = new Date(options.now.getTime() - 30 * DAY_MS + i * 1000);
    const revealedAt = new Date(createdAt.getTime() + 60_000).toISOString();
    return sampleRequest(requestIdFor(options.firstId + i), options.people[i % options.people.length]!, createdAt, {
      status,
      ...(status === 'delivered'
        ? {
            delivery: {
              kind: 'secret',
              keyId: `key-${i}`,
              hint: 'abc',
              endDateTime: '2027-01-01T00:00:00.000Z',
              revealedAt,
            },
            redactedAt: revealedAt,
          }
        : {}),
    });
  });
}

export interface CountingStore {
  store: Store;
  /** Rows of the Requests table read since the last reset: each record or index row listed, and each point read. */
  reads(): number;
  reset(): void;
}

/** The store, with the rows read from the Requests table counted (the table that grows with every request). */
export function countingStore(inner: Store): CountingStore {
  let reads = 0;
  const count = () => void (reads += 1);
  const requests: RequestTable = {
    ...counted(inner.requests, count),
    index: counted(inner.requests.index, count),
    transactWithIndex: (p, writes) => inner.requests.transactWithIndex(p, writes),
  };
  const store: Store = {
    channels: inner.channels,
    conversations: inner.conversations,
    greetings: inner.greetings,
    requests,
    audit: inner.audit,
    ledger: inner.ledger,
    leases: inner.leases,
    credentials: inner.credentials,
    init: () => inner.init(),
    ping: () => inner.ping(),
  };
  return {
    store,
    reads: () => reads,
    reset: () => void (reads = 0),
  };
}

function counted<T>(inner: RangeCollection<T>, count: () => void): RangeCollection<T> {
  async function* rows<R>(source: AsyncIterable<R>): AsyncIterable<R> {
    for await (const row of source) {
      count();
      yield row;
    }
  }
  return {
    get: (p, r) => (count(), inner.get(p, r)),
    create: (p, r, v) => inner.create(p, r, v),
    replace: (p, r, v, e) => inner.replace(p, r, v, e),
    upsert: (p, r, v) => inner.upsert(p, r, v),
    delete: (p, r, e) => inner.delete(p, r, e),
    list: (p) => rows(inner.list(p)),
    listRange: (p, from, to, options) => rows(inner.listRange(p, from, to, options)),
    transact: (p, operations) => inner.transact(p, operations),
  };
}

/** The readers under test, built as the container builds them, on `store`; nothing here reaches Graph. */
export function readers(store: Store, options: { approverId: string; now: Date }) {
  const config = loadConfig({ APPROVER_IDS: options.approverId }, localDefaults);
  const clock = { now: () => options.now };
  const logger = createLogger({ level: 'silent' });
  // The readers never provision, reveal or look up a permission: any call is a bug in the bench.
  const unused = new Proxy({} as Provisioner, {
    get: (_, name) => () => Promise.reject(new Error(`the bench does not call Graph (${String(name)})`)),
  });
  const approvers = createApproverPolicy({ ids: [options.approverId] }, undefined);
  return {
    requests: createRequestService({
      store,
      provisioner: unused,
      approvers,
      clock,
      random: () => new Uint8Array(8),
      policy: config.policy,
      logger,
    }),
    delivery: createDeliveryService({
      store,
      provisioner: unused,
      clock,
      policy: config.policy,
      logger,
      owners: { ownersOf: async () => [] },
    }),
    provisioning: createProvisioningService({ store, provisioner: unused, approvers, clock, logger }),
    revealTtlMinutes: config.policy.revealTtlMinutes,
  };
}

/**
 * The open requests beside the decided ones, the same at every size: `person`'s 10 (3 of them submitted), 20 more
 * submitted of which 5 are due, 3 approved or being provisioned, 2 provisioned of which 1 is past DELIVERY_TTL_DAYS,
 * and 4 secrets still on their card of which 2 are past REVEAL_TTL.
 */
export function openRequests(options: {
  person: string;
  others: readonly string[];
  firstId: number;
  now: Date;
  revealTtlMinutes: number;
}): AppRequest[] {
  const { now, person, others } = options;
  let next = options.firstId;
  const id = () => requestIdFor(next++);
  const at = (msAgo: number) => new Date(now.getTime() - msAgo);
  const out: AppRequest[] = [];
  for (let i = 0; i < 10; i++)
    out.push(
      sampleRequest(
        id(),
        person,
        at((i + 1) * DAY_MS),
        i < 3 ? {} : { status: decidedStatuses[i % decidedStatuses.length]! },
      ),
    );
  // Submitted 8 days ago: 7 days to decide, so due; submitted a day ago: not yet.
  for (let i = 0; i < 20; i++)
    out.push(sampleRequest(id(), others[i % others.length]!, at((i < 5 ? 8 : 1) * DAY_MS + i * 1000)));
  // Approved or being provisioned: what resume picks up (it fails them here, after the measurement: no Graph).
  for (let i = 0; i < 3; i++)
    out.push(
      sampleRequest(id(), others[i % others.length]!, at(DAY_MS), {
        status: i < 2 ? 'approved' : 'provisioning',
        updatedAt: at(60_000 * (i + 1)).toISOString(),
      }),
    );
  // Provisioned, the delivery card not posted yet (what catch-up looks for): one a minute ago, one past DELIVERY_TTL_DAYS.
  out.push(
    sampleRequest(id(), others[0]!, at(DAY_MS), { status: 'provisioned', provisionedAt: at(60_000).toISOString() }),
  );
  out.push(
    sampleRequest(id(), others[1 % others.length]!, at(20 * DAY_MS), {
      status: 'provisioned',
      provisionedAt: at(15 * DAY_MS).toISOString(),
    }),
  );
  for (let i = 0; i < 4; i++) {
    const revealedAt = at((i < 2 ? options.revealTtlMinutes + 5 : 1) * 60_000).toISOString();
    out.push(
      sampleRequest(id(), others[i % others.length]!, at(DAY_MS), {
        status: 'delivered',
        delivery: {
          kind: 'secret',
          keyId: `open-${i}`,
          hint: 'abc',
          endDateTime: '2027-01-01T00:00:00.000Z',
          revealedAt,
        },
      }),
    );
  }
  return out;
}

export interface ReaderCost {
  rows: number;
  ms: number;
}

export interface RequestIndexResult {
  decided: number;
  seedMs: number;
  sweep: ReaderCost & { expired: number; redacted: number; deliveriesExpired: number };
  mine: ReaderCost & { listed: number };
  pending: ReaderCost & { listed: number };
  resume: ReaderCost & { resumed: number };
  /** A read of every record, what each of these readers did before the index. */
  everything: ReaderCost;
}

const person = 'aaaaaaaa-0000-4000-8000-000000000001';
const approver = 'bbbbbbbb-0000-4000-8000-00000000000a';
const others = Array.from({ length: 50 }, (_, i) => `cccccccc-0000-4000-8000-${String(i).padStart(12, '0')}`);

/** One size: a fresh store with `decided` decided requests of 50 other people and the open ones, then each reader once. */
async function measure(connectionString: string, decided: number): Promise<RequestIndexResult> {
  const now = new Date('2026-06-01T12:00:00.000Z');
  const table = new TableStore({ connectionString, tablePrefix: `bench${decided}` });
  await table.init();
  const counting = countingStore(table);
  const { requests, delivery, provisioning, revealTtlMinutes } = readers(counting.store, { approverId: approver, now });
  const seedStarted = performance.now();
  await seed(table, [
    ...decidedRequests(decided, { people: others, firstId: 1_000_000, now }),
    ...openRequests({ person, others, firstId: 1, now, revealTtlMinutes }),
  ]);
  const seedMs = performance.now() - seedStarted;

  async function cost<R>(run: () => Promise<R>): Promise<ReaderCost & { result: R }> {
    counting.reset();
    const started = performance.now();
    const result = await run();
    return { rows: counting.reads(), ms: performance.now() - started, result };
  }
  const actor = (aadObjectId: string): Actor => ({
    id: `29:${aadObjectId}`,
    name: aadObjectId.slice(0, 8),
    aadObjectId,
  });
  // The 30-second sweep of runtime.ts: undecided requests past their expiry, secrets past REVEAL_TTL, deliveries past DELIVERY_TTL_DAYS.
  const sweep = await cost(async () => ({
    expired: (await requests.expireDue(now)).length,
    redacted: (await delivery.redactDue(now)).length,
    deliveriesExpired: (await delivery.expireDeliveriesDue(now)).length,
  }));
  const mine = await cost(() => requests.mine(actor(person)));
  const pending = await cost(() => requests.pending(actor(approver)));
  const resume = await cost(() => provisioning.resumeUnfinished());
  await provisioning.stop();
  const everything = await cost(async () => {
    for await (const _ of counting.store.requests.list(REQUEST_PARTITION));
  });
  return {
    decided,
    seedMs,
    sweep: { rows: sweep.rows, ms: sweep.ms, ...sweep.result },
    mine: { rows: mine.rows, ms: mine.ms, listed: mine.result.requests.length },
    pending: { rows: pending.rows, ms: pending.ms, listed: pending.result.length },
    resume: { rows: resume.rows, ms: resume.ms, resumed: resume.result.length },
    everything: { rows: everything.rows, ms: everything.ms },
  };
}

/** Both sizes, each in a store of its own in one in-memory Azurite. */
export async function benchRequestIndex(sizes: readonly number[] = [100, 10_000]): Promise<RequestIndexResult[]> {
  const azurite = await startAzurite({ inMemory: true, port: 0 });
  try {
    const results: RequestIndexResult[] = [];
    for (const size of sizes) results.push(await measure(azurite.connectionString, size));
    return results;
  } finally {
    await azurite.stop();
  }
}

/** The lines `npm run bench` prints; false when the rows read are not the same at every size. */
export function reportRequestIndex(results: readonly RequestIndexResult[]): { lines: string[]; flat: boolean } {
  const lines = [
    'request-index: Requests table rows read (records and index rows) and time, by decided requests in the store',
  ];
  for (const r of results) {
    lines.push(
      `  ${r.decided} decided requests (seeded in ${(r.seedMs / 1000).toFixed(1)} s):`,
      `    sweep ${r.sweep.rows} rows ${r.sweep.ms.toFixed(0)} ms (${r.sweep.expired} expired, ${r.sweep.redacted} hidden, ${r.sweep.deliveriesExpired} deliveries expired) | ` +
        `mine ${r.mine.rows} rows ${r.mine.ms.toFixed(0)} ms (${r.mine.listed} listed) | ` +
        `pending ${r.pending.rows} rows ${r.pending.ms.toFixed(0)} ms (${r.pending.listed} listed) | ` +
        `resume ${r.resume.rows} rows ${r.resume.ms.toFixed(0)} ms (${r.resume.resumed} resumed)`,
      `    for comparison, a read of every request (what each of them did before the index): ${r.everything.rows} rows ${r.everything.ms.toFixed(0)} ms`,
    );
  }
  const shape = (r: RequestIndexResult) => [r.sweep.rows, r.mine.rows, r.pending.rows, r.resume.rows].join(',');
  const flat = results.every((r) => shape(r) === shape(results[0]!));
  lines.push(
    `  rows read ${flat ? 'are the same at every size (flat)' : 'GROW with the decided requests'}; ` +
      "Azurite's milliseconds grow a little with the table because it scans the whole table for every query (Azure Tables seeks its key index)",
  );
  return { lines, flat };
}
