/**
 * A TableStore of its own for each test, in the run's Azurite: a unique table prefix means that tests in
 * parallel workers never see each other's rows.
 */
import { TableStore } from '../../src/adapters/storage/table-store';
import { deleteTables, testStorageConnectionString, uniqueTablePrefix } from './registrar';

export { testStorageConnectionString };

export interface TestStore {
  store: TableStore;
  tablePrefix: string;
  connectionString: string;
  /** Deletes the store's tables. */
  cleanup(): Promise<void>;
}

/** `pageSize` lets a test see list() cross pages without writing a thousand rows. */
export async function createTestStore(options: { pageSize?: number } = {}): Promise<TestStore> {
  const connectionString = testStorageConnectionString();
  const tablePrefix = uniqueTablePrefix();
  const store = new TableStore({ connectionString, tablePrefix, pageSize: options.pageSize });
  await store.init();
  return {
    store,
    tablePrefix,
    connectionString,
    cleanup: () => deleteTables(connectionString, tablePrefix),
  };
}
