/**
 * The expiry bench's credentials table and ledger: Azure Tables modelled in a process of their own, since Azurite
 * cannot stand in for them. Azurite keeps a table in LokiJS with binary indices on PartitionKey and RowKey, so every
 * write and point read in a partition costs time in proportion to the partition's size: 9,000 rows take 35 s to
 * write in one partition, and the ledger keeps its rows in one ('ledger').
 * Azure Tables does not slow down so; its documented limits are a target of 2,000 entities a second per partition
 * and 20,000 a second per account (https://learn.microsoft.com/azure/storage/tables/scalability-targets). The model
 * answers each request after `latencyMs` (a round trip in the region), keeps rows sorted by row key as Azure Tables
 * returns them, and counts the entities written and read per partition, from which the bench reports the time the
 * partition target alone would take. Its rows live in the child process, so they are not the bench's memory.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { ConflictError } from '../src/domain/errors';
import type { RangeCollection, RowWrite, Stored } from '../src/services/ports';

/** Azure Tables' page of a query. */
const PAGE_ROWS = 1000;
/** Azure Tables' target for one partition, entities a second. */
export const PARTITION_ENTITIES_PER_SECOND = 2000;
/** Azure Tables' target for a storage account, entities (of 1 KiB) a second. */
export const ACCOUNT_ENTITIES_PER_SECOND = 20_000;

type Row = { value: unknown; etag: string };

type Request =
  | { op: 'get'; partition: string; row: string }
  | { op: 'transact'; partition: string; operations: ReadonlyArray<RowWrite<unknown>> }
  | { op: 'page'; partition: string; from: string; to: string | null; after: string | null; limit: number }
  | { op: 'stats' };

export interface TableStats {
  requests: number;
  /** Per partition: entities written and read. */
  partitions: Record<string, { written: number; read: number }>;
}

/** The table process: rows by partition, answered over IPC. */
export function tableProcess(): void {
  const partitions = new Map<string, { rows: Map<string, Row>; sorted?: string[] }>();
  const stats: TableStats = { requests: 0, partitions: {} };
  let etags = 0;
  const partitionOf = (name: string) => {
    let p = partitions.get(name);
    if (!p) partitions.set(name, (p = { rows: new Map() }));
    stats.partitions[name] ??= { written: 0, read: 0 };
    return p;
  };
  const conflict = (reason: 'exists' | 'changed' | 'missing', row: string) => ({ conflict: reason, row });

  function transact(name: string, operations: ReadonlyArray<RowWrite<unknown>>) {
    const p = partitionOf(name);
    // All or none: check every operation first.
    for (const o of operations) {
      const there = p.rows.get(o.row);
      if (o.op === 'create' && there) return conflict('exists', o.row);
      if (o.op === 'replace' && !there) return conflict('missing', o.row);
      if (o.op === 'replace' && there!.etag !== o.etag) return conflict('changed', o.row);
    }
    const result: Array<string | undefined> = [];
    for (const o of operations) {
      if (o.op === 'delete') {
        // Left in the sorted keys (skipped when read): a sweep deletes while it lists.
        p.rows.delete(o.row);
        result.push(undefined);
        continue;
      }
      if (!p.rows.has(o.row)) p.sorted = undefined;
      const etag = `W/"${++etags}"`;
      p.rows.set(o.row, { value: o.value, etag });
      result.push(etag);
    }
    stats.partitions[name]!.written += operations.length;
    return { etags: result };
  }

  function page(name: string, from: string, to: string | null, after: string | null, limit: number) {
    const p = partitionOf(name);
    p.sorted ??= [...p.rows.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const keys = p.sorted;
    const start = after ?? from;
    // The first key at or after `start` (after: strictly after).
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (keys[mid]! < start || (after !== null && keys[mid] === start)) lo = mid + 1;
      else hi = mid;
    }
    const rows: Array<{ row: string; value: unknown; etag: string }> = [];
    for (let i = lo; i < keys.length && rows.length < limit; i += 1) {
      const key = keys[i]!;
      if (to !== null && key >= to) break;
      const row = p.rows.get(key);
      if (row) rows.push({ row: key, ...row });
    }
    stats.partitions[name]!.read += rows.length;
    return { rows, next: rows.length >= limit ? rows[rows.length - 1]!.row : null };
  }

  process.on('message', (message: { id: number; request: Request }) => {
    const { id, request } = message;
    stats.requests += 1;
    let answer: unknown;
    switch (request.op) {
      case 'get': {
        const row = partitionOf(request.partition).rows.get(request.row);
        if (row) stats.partitions[request.partition]!.read += 1;
        answer = { row: row ?? null };
        break;
      }
      case 'transact':
        answer = transact(request.partition, request.operations);
        break;
      case 'page':
        answer = page(request.partition, request.from, request.to, request.after, request.limit);
        break;
      case 'stats':
        stats.requests -= 1;
        answer = structuredClone(stats);
        stats.requests = 0;
        stats.partitions = {};
        break;
    }
    process.send?.({ id, answer });
  });
  process.once('disconnect', () => process.exit(0));
  process.send?.({ ready: true });
}

/** The bench's side: a RangeCollection over the table process, each request answered after `latencyMs`. */
export class ModelledTable<T> implements RangeCollection<T> {
  private next = 0;
  private readonly waiting = new Map<number, (answer: unknown) => void>();

  private constructor(
    private readonly child: ChildProcess,
    private readonly latencyMs: number,
  ) {
    child.on('message', (message: { id?: number; answer?: unknown }) => {
      if (message.id === undefined) return;
      this.waiting.get(message.id)?.(message.answer);
      this.waiting.delete(message.id);
    });
  }

  static async start<T>(modulePath: string, latencyMs: number): Promise<ModelledTable<T>> {
    const child = fork(modulePath, ['table'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(() => Promise.reject(new Error('the table process exited before it was ready'))),
    ]);
    return new ModelledTable<T>(child, latencyMs);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.disconnect();
    await exited;
  }

  private async ask<A>(request: Request, latency = true): Promise<A> {
    if (latency && this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const id = ++this.next;
    const answer = new Promise<unknown>((resolve) => this.waiting.set(id, resolve));
    this.child.send({ id, request });
    return (await answer) as A;
  }

  /** Requests and entities since the last call (and starts counting again). */
  stats(): Promise<TableStats> {
    return this.ask<TableStats>({ op: 'stats' }, false);
  }

  async get(partition: string, row: string): Promise<Stored<T> | undefined> {
    const { row: found } = await this.ask<{ row: Row | null }>({ op: 'get', partition, row });
    return found ? { value: found.value as T, etag: found.etag } : undefined;
  }

  async transact(partition: string, operations: ReadonlyArray<RowWrite<T>>): Promise<Array<string | undefined>> {
    const answer = await this.ask<{ etags?: Array<string | null>; conflict?: ConflictError['reason']; row?: string }>({
      op: 'transact',
      partition,
      operations,
    });
    if (answer.conflict) throw new ConflictError(answer.conflict, `${partition}/${answer.row}`);
    // undefined crosses IPC as null.
    return answer.etags!.map((e) => e ?? undefined);
  }

  private async one(partition: string, write: RowWrite<T>): Promise<Stored<T>> {
    const [etag] = await this.transact(partition, [write]);
    return { value: (write as { value: T }).value, etag: etag! };
  }

  create(partition: string, row: string, value: T): Promise<Stored<T>> {
    return this.one(partition, { op: 'create', row, value });
  }

  replace(partition: string, row: string, value: T, etag: string): Promise<Stored<T>> {
    return this.one(partition, { op: 'replace', row, value, etag });
  }

  upsert(partition: string, row: string, value: T): Promise<Stored<T>> {
    return this.one(partition, { op: 'upsert', row, value });
  }

  async delete(partition: string, row: string, etag?: string): Promise<void> {
    if (etag !== undefined) {
      const there = await this.get(partition, row);
      if (!there) return;
      if (there.etag !== etag) throw new ConflictError('changed', `${partition}/${row}`);
    }
    await this.transact(partition, [{ op: 'delete', row }]);
  }

  list(partition: string): AsyncIterable<Stored<T> & { row: string }> {
    return this.pages(partition, '', null, Infinity);
  }

  listRange(
    partition: string,
    fromRow: string,
    toRow: string,
    options: { limit?: number } = {},
  ): AsyncIterable<Stored<T> & { row: string }> {
    return this.pages(partition, fromRow, toRow, options.limit ?? Infinity);
  }

  private async *pages(
    partition: string,
    from: string,
    to: string | null,
    limit: number,
  ): AsyncIterable<Stored<T> & { row: string }> {
    let after: string | null = null;
    let yielded = 0;
    for (;;) {
      const page: { rows: Array<{ row: string; value: T; etag: string }>; next: string | null } = await this.ask({
        op: 'page',
        partition,
        from,
        to,
        after,
        limit: Math.min(PAGE_ROWS, limit - yielded),
      });
      for (const r of page.rows) {
        yield r;
        yielded += 1;
      }
      if (page.next === null || yielded >= limit) return;
      after = page.next;
    }
  }
}
