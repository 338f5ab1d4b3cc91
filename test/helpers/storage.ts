/**
 * A TableStore of its own for each test, in the run's Azurite: a unique table prefix means that tests in
 * parallel workers never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import { TableServiceClient } from '@azure/data-tables';
import { TableStore } from '../../src/adapters/storage/table-store';

export interface TestStore {
  store: TableStore;
  tablePrefix: string;
  connectionString: string;
  /** Deletes the store's tables. */
  cleanup(): Promise<void>;
}

export function testStorageConnectionString(): string {
  const value = process.env.TEST_STORAGE_CONNECTION_STRING;
  if (!value) throw new Error('TEST_STORAGE_CONNECTION_STRING is not set: run the tests through jest, whose global setup starts Azurite');
  return value;
}

/** `pageSize` lets a test see list() cross pages without writing a thousand rows. */
export async function createTestStore(options: { pageSize?: number } = {}): Promise<TestStore> {
  const connectionString = testStorageConnectionString();
  const tablePrefix = `t${randomBytes(6).toString('hex')}`;
  const store = new TableStore({ connectionString, tablePrefix, pageSize: options.pageSize });
  await store.init();
  return {
    store,
    tablePrefix,
    connectionString,
    async cleanup() {
      const service = TableServiceClient.fromConnectionString(connectionString, { allowInsecureConnection: true });
      for await (const table of service.listTables()) {
        if (table.name?.startsWith(tablePrefix)) await service.deleteTable(table.name);
      }
    },
  };
}
