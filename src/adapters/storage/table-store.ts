/**
 * Store on Azure Table Storage (Azurite locally and in tests): one table per collection, each value a JSON
 * document, ETags for optimistic concurrency.
 */
import { TableClient, odata, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { ChannelBinding, ConversationAddress } from '../../domain/conversation';
import type { AuditEvent } from '../../domain/request';
import { ConflictError, StorageUnavailable } from '../../domain/errors';
import {
  REQUEST_INDEX_PREFIX,
  type CredentialIndexRow,
  type Greeting,
  type IndexedRequestRecord,
  type Lease,
  type LedgerEntry,
  type RangeCollection,
  type RequestIndexRow,
  type RequestTable,
  type RequestTableWrite,
  type RowWrite,
  type Store,
  type Stored,
} from '../../services/ports';
import { decodeKey, encodeKey, readValue, toEntity } from './table-encoding';

export type TableStoreOptions = {
  /** Letters and digits; lets deployments share an account. */
  tablePrefix: string;
  /** Rows per list() request; the service's maximum (1000) unless a test wants to see paging cheaply. */
  pageSize?: number;
} & ({ connectionString: string } | { accountUrl: string; credential: TokenCredential });

/** /readyz must answer quickly even when the storage hangs. */
const pingTimeoutMs = 2000;
/** Azure Tables' limit on an entity-group transaction. */
const MAX_TRANSACTION = 100;
/** The most rows the service returns in one page. */
const MAX_PAGE = 1000;

export class TableStore implements Store {
  readonly channels: RangeCollection<ChannelBinding>;
  readonly conversations: RangeCollection<ConversationAddress>;
  readonly greetings: RangeCollection<Greeting>;
  readonly requests: RequestTable;
  readonly audit: RangeCollection<AuditEvent>;
  readonly ledger: RangeCollection<LedgerEntry>;
  readonly leases: RangeCollection<Lease>;
  readonly credentials: RangeCollection<CredentialIndexRow>;
  private readonly tables: readonly TableClient[];

  constructor(options: TableStoreOptions) {
    const channels = tableClient(options, `${options.tablePrefix}Channels`);
    const conversations = tableClient(options, `${options.tablePrefix}Conversations`);
    const greetings = tableClient(options, `${options.tablePrefix}Greetings`);
    const requests = tableClient(options, `${options.tablePrefix}Requests`);
    const audit = tableClient(options, `${options.tablePrefix}Audit`);
    const ledger = tableClient(options, `${options.tablePrefix}Ledger`);
    const leases = tableClient(options, `${options.tablePrefix}Leases`);
    const credentials = tableClient(options, `${options.tablePrefix}Credentials`);
    this.tables = [channels, conversations, greetings, requests, audit, ledger, leases, credentials];
    this.channels = new TableCollection(channels, options.pageSize);
    this.conversations = new TableCollection(conversations, options.pageSize);
    this.greetings = new TableCollection(greetings, options.pageSize);
    this.requests = new TableRequests(requests, options.pageSize);
    this.audit = new TableCollection(audit, options.pageSize);
    this.ledger = new TableCollection(ledger, options.pageSize);
    this.leases = new TableCollection(leases, options.pageSize);
    this.credentials = new TableCollection(credentials, options.pageSize);
  }

  async init(): Promise<void> {
    // createTable already treats "TableAlreadyExists" as success, so this is safe on every start.
    await Promise.all(
      this.tables.map((table) => guard(`creating table ${table.tableName}`, () => table.createTable())),
    );
  }

  async ping(): Promise<void> {
    const table = this.tables[0]!;
    try {
      // One row of one table: a data-plane read that the "Table Data Reader" role allows, unlike service properties.
      const pages = table
        .listEntities({ abortSignal: AbortSignal.timeout(pingTimeoutMs), queryOptions: { select: ['PartitionKey'] } })
        .byPage({ maxPageSize: 1 });
      await pages.next();
    } catch (err) {
      // A missing table or a refused credential means "not ready" just as much as a timeout.
      throw new StorageUnavailable(`checking table ${table.tableName}`, err);
    }
  }
}

function tableClient(options: TableStoreOptions, tableName: string): TableClient {
  if ('connectionString' in options) {
    // The endpoint is only known once the SDK has parsed the connection string (it may say UseDevelopmentStorage).
    const { url } = TableClient.fromConnectionString(options.connectionString, tableName);
    return TableClient.fromConnectionString(options.connectionString, tableName, {
      allowInsecureConnection: isHttp(url),
    });
  }
  return new TableClient(options.accountUrl, tableName, options.credential, {
    allowInsecureConnection: isHttp(options.accountUrl),
  });
}

/** Only Azurite is reached over plain http; the SDK refuses it unless told. */
function isHttp(url: string): boolean {
  return url.toLowerCase().startsWith('http:');
}

type Properties = Record<string, unknown>;
type Conflicts = Partial<Record<number, ConflictError['reason']>>;

/** The rows of a table that a collection sees: all, only those under a prefix, or all but those. */
type RowScope = { kind: 'all' } | { kind: 'inside' | 'outside'; prefix: string };

const allRows: RowScope = { kind: 'all' };

class TableCollection<T> implements RangeCollection<T> {
  constructor(
    protected readonly table: TableClient,
    private readonly pageSize?: number,
    private readonly scope: RowScope = allRows,
  ) {}

  async get(partition: string, row: string): Promise<Stored<T> | undefined> {
    this.mustSee(row);
    let entity: TableEntityResult<Properties>;
    try {
      entity = await this.table.getEntity<Properties>(encodeKey(partition), encodeKey(row));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw failure(`reading ${this.describe(partition, row)}`, err);
    }
    return { value: readValue<T>(entity), etag: entity.etag };
  }

  async create(partition: string, row: string, value: T): Promise<Stored<T>> {
    this.mustSee(row);
    const { etag } = await this.write('creating', partition, row, { 409: 'exists' }, () =>
      this.table.createEntity(toEntity(partition, row, value)),
    );
    return { value, etag: etag! };
  }

  async replace(partition: string, row: string, value: T, etag: string): Promise<Stored<T>> {
    this.mustSee(row);
    const result = await this.write('replacing', partition, row, { 412: 'changed', 404: 'missing' }, () =>
      this.table.updateEntity(toEntity(partition, row, value), 'Replace', { etag }),
    );
    return { value, etag: result.etag! };
  }

  async upsert(partition: string, row: string, value: T): Promise<Stored<T>> {
    this.mustSee(row);
    const { etag } = await this.write('upserting', partition, row, {}, () =>
      this.table.upsertEntity(toEntity(partition, row, value), 'Replace'),
    );
    return { value, etag: etag! };
  }

  async delete(partition: string, row: string, etag?: string): Promise<void> {
    this.mustSee(row);
    try {
      await this.table.deleteEntity(encodeKey(partition), encodeKey(row), { etag: etag ?? '*' });
    } catch (err) {
      const status = statusOf(err);
      // Already gone is what the caller wanted, whatever ETag it held.
      if (status === 404) return;
      if (status === 412) throw new ConflictError('changed', this.describe(partition, row));
      throw failure(`deleting ${this.describe(partition, row)}`, err);
    }
  }

  list(partition: string): AsyncIterable<Stored<T> & { row: string }> {
    return this.query(partition, this.scopeFilter(), `listing partition ${partition} of ${this.table.tableName}`);
  }

  listRange(
    partition: string,
    fromRow: string,
    toRow: string,
    options: { limit?: number } = {},
  ): AsyncIterable<Stored<T> & { row: string }> {
    const range = odata`RowKey ge ${encodeKey(fromRow)} and RowKey lt ${encodeKey(toRow)}`;
    const scope = this.scopeFilter();
    const doing = `listing rows ${fromRow} to ${toRow} of partition ${partition} of ${this.table.tableName}`;
    return this.query(partition, scope ? `${scope} and ${range}` : range, doing, options.limit);
  }

  async transact(partition: string, operations: ReadonlyArray<RowWrite<T>>): Promise<Array<string | undefined>> {
    return submitWrites(
      this.table,
      partition,
      operations.map((o) => this.prepare(partition, o)),
    );
  }

  /** The write as a transaction action, once its row is known to be one this collection sees. */
  prepare(partition: string, o: RowWrite<T>): PreparedWrite {
    this.mustSee(o.row);
    switch (o.op) {
      case 'create':
        return { op: o.op, row: o.row, action: ['create', toEntity(partition, o.row, o.value)] };
      case 'replace':
        return {
          op: o.op,
          row: o.row,
          action: ['update', toEntity(partition, o.row, o.value), 'Replace', { etag: o.etag }],
        };
      case 'upsert':
        return { op: o.op, row: o.row, action: ['upsert', toEntity(partition, o.row, o.value), 'Replace'] };
      case 'delete':
        return {
          op: o.op,
          row: o.row,
          action: ['delete', { partitionKey: encodeKey(partition), rowKey: encodeKey(o.row) }],
        };
    }
  }

  private async *query(
    partition: string,
    rowFilter: string | undefined,
    doing: string,
    limit = Infinity,
  ): AsyncIterable<Stored<T> & { row: string }> {
    if (limit <= 0) return;
    const partitionFilter = odata`PartitionKey eq ${encodeKey(partition)}`;
    const pages = this.table
      .listEntities<Properties>({
        queryOptions: { filter: rowFilter ? `${partitionFilter} and ${rowFilter}` : partitionFilter },
      })
      .byPage({ maxPageSize: Math.min(limit, this.pageSize ?? MAX_PAGE) });
    let yielded = 0;
    for (;;) {
      // One page in memory at a time: partitions such as audit trails may grow large.
      const page = await guard(doing, () => pages.next());
      if (page.done) return;
      for (const entity of page.value) {
        yield { row: decodeKey(entity.rowKey ?? ''), value: readValue<T>(entity), etag: entity.etag };
        if (++yielded >= limit) return;
      }
    }
  }

  /** The filter on RowKey that keeps to this collection's rows, or undefined when it sees them all. */
  private scopeFilter(): string | undefined {
    if (this.scope.kind === 'all') return undefined;
    const from = encodeKey(this.scope.prefix);
    // The first key after every key that starts with the prefix: its last character, one higher.
    const to = from.slice(0, -1) + String.fromCharCode(from.charCodeAt(from.length - 1) + 1);
    return this.scope.kind === 'inside'
      ? odata`(RowKey ge ${from} and RowKey lt ${to})`
      : odata`(RowKey lt ${from} or RowKey ge ${to})`;
  }

  /** A row of another view is a bug in the caller: its value would be read as the wrong type. */
  private mustSee(row: string): void {
    if (this.scope.kind === 'all' || row.startsWith(this.scope.prefix) === (this.scope.kind === 'inside')) return;
    throw new Error(
      `row ${row} of ${this.table.tableName} is ${this.scope.kind === 'inside' ? 'outside' : 'inside'} ${this.scope.prefix}, which this view does not hold`,
    );
  }

  private async write<R extends { etag?: string }>(
    doing: string,
    partition: string,
    row: string,
    conflicts: Conflicts,
    operation: () => Promise<R>,
  ): Promise<R> {
    try {
      return await operation();
    } catch (err) {
      const reason = conflicts[statusOf(err) ?? 0];
      if (reason) throw new ConflictError(reason, this.describe(partition, row));
      throw failure(`${doing} ${this.describe(partition, row)}`, err);
    }
  }

  private describe(partition: string, row: string): string {
    return `${this.table.tableName}(${partition}, ${row})`;
  }
}

/** The Requests table: records outside REQUEST_INDEX_PREFIX, index rows inside it, one transaction for both. */
class TableRequests extends TableCollection<IndexedRequestRecord> implements RequestTable {
  readonly index: TableCollection<RequestIndexRow>;

  constructor(table: TableClient, pageSize?: number) {
    super(table, pageSize, { kind: 'outside', prefix: REQUEST_INDEX_PREFIX });
    this.index = new TableCollection(table, pageSize, { kind: 'inside', prefix: REQUEST_INDEX_PREFIX });
  }

  async transactWithIndex(
    partition: string,
    writes: ReadonlyArray<RequestTableWrite>,
  ): Promise<Array<string | undefined>> {
    return submitWrites(
      this.table,
      partition,
      writes.map((w) => {
        if (w.on === 'record') {
          const { on: _on, ...write } = w;
          return this.prepare(partition, write);
        }
        const { on: _on, ...write } = w;
        return this.index.prepare(partition, write);
      }),
    );
  }
}

interface PreparedWrite {
  op: RowWrite<unknown>['op'];
  row: string;
  action: TransactionAction;
}

/**
 * Submits an entity-group transaction. A delete of a row that is not there is taken out and the rest sent again
 * (a missing row is what the delete wanted); any other failed operation fails the whole batch, and the
 * service says which one ("<index>:<message>"), so that the ConflictError names what happened to it.
 */
async function submitWrites(
  table: TableClient,
  partition: string,
  writes: readonly PreparedWrite[],
): Promise<Array<string | undefined>> {
  if (writes.length > MAX_TRANSACTION)
    throw new Error(`a transaction holds at most ${MAX_TRANSACTION} operations, not ${writes.length}`);
  const sent = writes.map((write, index) => ({ write, index }));
  const etags: Array<string | undefined> = writes.map(() => undefined);
  const where = () => `${table.tableName}(${partition}, ${writes.length} rows)`;
  while (sent.length > 0) {
    let response: Awaited<ReturnType<TableClient['submitTransaction']>>;
    try {
      response = await table.submitTransaction(sent.map((s) => s.write.action));
    } catch (err) {
      const status = statusOf(err);
      const failed = failedOperation(err, sent.length);
      const op = failed === undefined ? undefined : sent[failed]?.write.op;
      if (status === 404 && op === 'delete') {
        sent.splice(failed!, 1);
        continue;
      }
      if (status === 409) throw new ConflictError('exists', where());
      if (status === 412) throw new ConflictError('changed', where());
      if (status === 404) throw new ConflictError(op === 'replace' ? 'missing' : 'changed', where());
      throw failure(`writing ${writes.length} rows of partition ${partition} of ${table.tableName}`, err);
    }
    // The answers come in the order of the operations.
    sent.forEach(({ write, index }, i) => {
      if (write.op === 'delete') return;
      const etag = response.subResponses[i]?.etag;
      if (!etag)
        throw new Error(`the transaction on ${table.tableName}(${partition}) returned no ETag for row ${write.row}`);
      etags[index] = etag;
    });
    return etags;
  }
  return etags;
}

/** Which operation of a failed transaction failed: the service's message starts with its index. */
function failedOperation(err: unknown, count: number): number | undefined {
  const match = /^(\d+):/.exec(err instanceof Error ? err.message : '');
  const index = match ? Number(match[1]) : NaN;
  return Number.isInteger(index) && index < count ? index : undefined;
}

/*
 * Errors. Whatever says the storage cannot be used right now (no HTTP answer, a timeout, throttling, a
 * server error, a refused credential) is StorageUnavailable; anything else is a bug and keeps its cause.
 */
function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function failure(doing: string, err: unknown): Error {
  const status = statusOf(err);
  if (status === undefined || status >= 500 || [401, 403, 408, 429].includes(status)) {
    return new StorageUnavailable(doing, err);
  }
  return new Error(`${doing}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

async function guard<R>(doing: string, operation: () => Promise<R>): Promise<R> {
  try {
    return await operation();
  } catch (err) {
    throw failure(doing, err);
  }
}
