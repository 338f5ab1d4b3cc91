/**
 * Store on Azure Table Storage (Azurite locally and in tests): one table per collection, each value a JSON
 * document, ETags for optimistic concurrency.
 */
import { TableClient, odata, type TableEntity, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import type { ChannelBinding, ConversationAddress } from '../../domain/conversation';
import type { AuditEvent, RequestRecord } from '../../domain/request';
import { ConflictError, StorageUnavailable } from '../../domain/errors';
import type { Collection, Greeting, Lease, LedgerEntry, Store, Stored } from '../../services/ports';

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

export class TableStore implements Store {
  readonly channels: Collection<ChannelBinding>;
  readonly conversations: Collection<ConversationAddress>;
  readonly greetings: Collection<Greeting>;
  readonly requests: Collection<RequestRecord>;
  readonly audit: Collection<AuditEvent>;
  readonly ledger: Collection<LedgerEntry>;
  readonly leases: Collection<Lease>;
  private readonly tables: readonly TableClient[];

  constructor(options: TableStoreOptions) {
    const channels = tableClient(options, `${options.tablePrefix}Channels`);
    const conversations = tableClient(options, `${options.tablePrefix}Conversations`);
    const greetings = tableClient(options, `${options.tablePrefix}Greetings`);
    const requests = tableClient(options, `${options.tablePrefix}Requests`);
    const audit = tableClient(options, `${options.tablePrefix}Audit`);
    const ledger = tableClient(options, `${options.tablePrefix}Ledger`);
    const leases = tableClient(options, `${options.tablePrefix}Leases`);
    this.tables = [channels, conversations, greetings, requests, audit, ledger, leases];
    this.channels = new TableCollection(channels, options.pageSize);
    this.conversations = new TableCollection(conversations, options.pageSize);
    this.greetings = new TableCollection(greetings, options.pageSize);
    this.requests = new TableCollection(requests, options.pageSize);
    this.audit = new TableCollection(audit, options.pageSize);
    this.ledger = new TableCollection(ledger, options.pageSize);
    this.leases = new TableCollection(leases, options.pageSize);
  }

  async init(): Promise<void> {
    // createTable already treats "TableAlreadyExists" as success, so this is safe on every start.
    await Promise.all(this.tables.map((table) => guard(`creating table ${table.tableName}`, () => table.createTable())));
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
    return TableClient.fromConnectionString(options.connectionString, tableName, { allowInsecureConnection: isHttp(url) });
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

class TableCollection<T> implements Collection<T> {
  constructor(
    private readonly table: TableClient,
    private readonly pageSize?: number,
  ) {}

  async get(partition: string, row: string): Promise<Stored<T> | undefined> {
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
    const { etag } = await this.write('creating', partition, row, { 409: 'exists' }, () =>
      this.table.createEntity(toEntity(partition, row, value)),
    );
    return { value, etag: etag! };
  }

  async replace(partition: string, row: string, value: T, etag: string): Promise<Stored<T>> {
    const result = await this.write('replacing', partition, row, { 412: 'changed', 404: 'missing' }, () =>
      this.table.updateEntity(toEntity(partition, row, value), 'Replace', { etag }),
    );
    return { value, etag: result.etag! };
  }

  async upsert(partition: string, row: string, value: T): Promise<Stored<T>> {
    const { etag } = await this.write('upserting', partition, row, {}, () =>
      this.table.upsertEntity(toEntity(partition, row, value), 'Replace'),
    );
    return { value, etag: etag! };
  }

  async delete(partition: string, row: string, etag?: string): Promise<void> {
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

  async *list(partition: string): AsyncIterable<Stored<T> & { row: string }> {
    const pages = this.table
      .listEntities<Properties>({ queryOptions: { filter: odata`PartitionKey eq ${encodeKey(partition)}` } })
      .byPage({ maxPageSize: this.pageSize });
    const doing = `listing partition ${partition} of ${this.table.tableName}`;
    for (;;) {
      // One page in memory at a time: partitions such as audit trails may grow large.
      const page = await guard(doing, () => pages.next());
      if (page.done) return;
      for (const entity of page.value) {
        yield { row: decodeKey(entity.rowKey ?? ''), value: readValue<T>(entity), etag: entity.etag };
      }
    }
  }

  async transact(partition: string, operations: ReadonlyArray<{ op: 'create'; row: string; value: T } | { op: 'replace'; row: string; value: T; etag: string }>): Promise<string[]> {
    if (operations.length === 0) return [];
    if (operations.length > MAX_TRANSACTION) throw new Error(`a transaction holds at most ${MAX_TRANSACTION} operations, not ${operations.length}`);
    const actions: TransactionAction[] = operations.map((o) =>
      o.op === 'create' ? ['create', toEntity(partition, o.row, o.value)] : ['update', toEntity(partition, o.row, o.value), 'Replace', { etag: o.etag }],
    );
    let response: Awaited<ReturnType<TableClient['submitTransaction']>>;
    try {
      response = await this.table.submitTransaction(actions);
    } catch (err) {
      const status = statusOf(err);
      if (status === 409 || status === 412 || status === 404) throw new ConflictError('changed', `${this.table.tableName}(${partition}, ${operations.length} rows)`);
      throw failure(`writing ${operations.length} rows of partition ${partition} of ${this.table.tableName}`, err);
    }
    // The answers come in the order of the operations.
    return operations.map((o, i) => {
      const etag = response.subResponses[i]?.etag;
      if (!etag) throw new Error(`the transaction on ${this.table.tableName}(${partition}) returned no ETag for row ${o.row}`);
      return etag;
    });
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

/*
 * Keys. Azure forbids / \ # ? and control characters in keys, the SDK puts keys in the URL path (where '%',
 * '+' and quotes are easily mangled) and Azurite sends them back in continuation headers, which must be
 * ASCII. Teams ids hold ':' ';' '@' '=' and more. So everything but a small safe ASCII set becomes ~XXXX
 * (the UTF-16 code unit in hex): reversible, and the usual ids stay readable in Storage Explorer.
 */
const unsafeInKey = /[^A-Za-z0-9\-_.:@]/g;

function encodeKey(key: string): string {
  return key.replace(unsafeInKey, (c) => `~${hex4(c)}`);
}

function decodeKey(key: string): string {
  return key.replace(/~([0-9A-F]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/*
 * Values. A string property holds at most 32K UTF-16 characters but an entity 1 MiB, so the JSON is cut
 * into data0, data1, ... and joined again on read. It is written in ASCII (\uXXXX escapes, still valid
 * JSON): Azurite corrupts a multi-byte UTF-8 character that straddles two chunks of a request body
 * (Azure/Azurite#2670), which happens exactly to the large documents cut here; and ASCII can be cut anywhere.
 */
const chunkLength = 32 * 1024;

function toEntity(partition: string, row: string, value: unknown): TableEntity<Record<string, string>> {
  const entity: TableEntity<Record<string, string>> = { partitionKey: encodeKey(partition), rowKey: encodeKey(row) };
  const json = JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${hex4(c)}`);
  for (let index = 0; index * chunkLength < json.length; index += 1) {
    entity[`data${index}`] = json.slice(index * chunkLength, (index + 1) * chunkLength);
  }
  return entity;
}

function readValue<T>(entity: Properties): T {
  let json = '';
  for (let index = 0; typeof entity[`data${index}`] === 'string'; index += 1) json += entity[`data${index}`] as string;
  return JSON.parse(json) as T;
}

function hex4(c: string): string {
  return c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
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
