/**
 * The storage primitives of the request index, against the run's Azurite: range reads, deletes and upserts in a
 * transaction, the conflict each failed transaction reports, and the two views (records, index rows) of the
 * Requests table.
 */
import { randomBytes } from 'node:crypto';
import { ConflictError } from '../../../src/domain/errors';
import type { Collection, Greeting, IndexedRequestRecord } from '../../../src/services/ports';
import { createTestStore, type TestStore } from '../../helpers/storage';

let testStore: TestStore;
let paged: TestStore;

beforeAll(async () => {
  [testStore, paged] = await Promise.all([createTestStore(), createTestStore({ pageSize: 3 })]);
});

afterAll(async () => {
  await Promise.all([testStore.cleanup(), paged.cleanup()]);
});

const partition = () => `p-${randomBytes(4).toString('hex')}`;
const greeting = (conversationId: string): Greeting => ({ conversationId, greetedAt: '2026-01-01T00:00:00.000Z' });
/** A stand-in record: the table does not look inside values. */
const record = (id: string, status = 'submitted') => ({ id, status }) as unknown as IndexedRequestRecord;

async function rows(items: AsyncIterable<{ row: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const { row } of items) out.push(row);
  return out;
}

async function reasonOf(operation: Promise<unknown>): Promise<string> {
  const err: unknown = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ConflictError)) throw new Error(`expected a ConflictError, got ${String(err)}`);
  return err.reason;
}

describe('listRange', () => {
  const keys = [
    'ix.a.2026-01-01T00:00:00.000Z.X',
    'ix.a.2026-01-02T00:00:00.000Z.Y',
    'ix.a.2026-01-03T00:00:00.000Z.Z',
    'ix.b.1',
    'ix.a',
    'ix.a.',
  ];

  async function filled(collection: Collection<Greeting>): Promise<string> {
    const p = partition();
    await collection.transact(
      p,
      keys.map((row) => ({ op: 'create', row, value: greeting(row) })),
    );
    await collection.create(partition(), 'ix.a.2026-01-01T00:00:00.000Z.other-partition', greeting('x'));
    return p;
  }

  test('when rows are read from a key to another, then exactly the rows in between come back in key order, the upper bound excluded', async () => {
    const greetings = testStore.store.greetings;
    const p = await filled(greetings);

    expect(await rows(greetings.listRange(p, 'ix.a.', 'ix.a.2026-01-03T00:00:00.000Z.Z'))).toEqual([
      'ix.a.',
      'ix.a.2026-01-01T00:00:00.000Z.X',
      'ix.a.2026-01-02T00:00:00.000Z.Y',
    ]);
    expect(await rows(greetings.listRange(p, 'ix.a.', 'ix.a.\uffff'))).toEqual(['ix.a.', ...keys.slice(0, 3)]);
    expect(await rows(greetings.listRange(p, 'ix.c', 'ix.d'))).toEqual([]);
  });

  test('when the range spans several pages or a limit is given, then every row comes back once, and no more than the limit', async () => {
    const greetings = paged.store.greetings;
    const p = await filled(greetings);

    expect(await rows(greetings.listRange(p, 'ix.', 'ix.\uffff'))).toEqual([...keys].sort());
    expect(await rows(greetings.listRange(p, 'ix.', 'ix.\uffff', { limit: 4 }))).toEqual([...keys].sort().slice(0, 4));
    expect(await rows(greetings.listRange(p, 'ix.', 'ix.\uffff', { limit: 0 }))).toEqual([]);
  });
});

describe('transactions with upserts and deletes', () => {
  test('when a transaction upserts, deletes and creates, then all are done, and a delete of a row that is not there is skipped', async () => {
    const { greetings } = testStore.store;
    const p = partition();
    await greetings.create(p, 'a', greeting('a'));
    await greetings.create(p, 'b', greeting('b'));

    const etags = await greetings.transact(p, [
      { op: 'upsert', row: 'a', value: greeting('a2') },
      { op: 'delete', row: 'never-there' },
      { op: 'delete', row: 'b' },
      { op: 'upsert', row: 'c', value: greeting('c') },
    ]);

    expect(etags[1]).toBeUndefined();
    expect(etags[2]).toBeUndefined();
    expect(await greetings.get(p, 'a')).toEqual({ value: greeting('a2'), etag: etags[0] });
    expect((await greetings.get(p, 'c'))?.etag).toBe(etags[3]);
    expect(await rows(greetings.list(p))).toEqual(['a', 'c']);
  });

  test('when a transaction fails, then the ConflictError says why: a create whose row exists, an ETag that changed, a replace whose row is gone; and nothing is written', async () => {
    const { greetings } = testStore.store;
    const p = partition();
    const first = await greetings.create(p, 'a', greeting('a'));
    await greetings.replace(p, 'a', greeting('a-changed'), first.etag);
    const gone = await greetings.create(p, 'gone', greeting('gone'));
    await greetings.delete(p, 'gone');

    expect(
      await reasonOf(
        greetings.transact(p, [
          { op: 'upsert', row: 'n', value: greeting('n') },
          { op: 'create', row: 'a', value: greeting('a') },
        ]),
      ),
    ).toBe('exists');
    expect(
      await reasonOf(
        greetings.transact(p, [
          { op: 'upsert', row: 'n', value: greeting('n') },
          { op: 'replace', row: 'a', value: greeting('a'), etag: first.etag },
        ]),
      ),
    ).toBe('changed');
    expect(
      await reasonOf(
        greetings.transact(p, [
          { op: 'delete', row: 'a' },
          { op: 'replace', row: 'gone', value: greeting('g'), etag: gone.etag },
        ]),
      ),
    ).toBe('missing');

    expect(await rows(greetings.list(p))).toEqual(['a']);
    expect((await greetings.get(p, 'a'))?.value).toEqual(greeting('a-changed'));
  });
});

describe('the Requests table: records and index rows', () => {
  test('when records and index rows are in one partition, then each view lists only its own rows', async () => {
    const { requests } = testStore.store;
    const p = partition();
    await requests.transactWithIndex(p, [
      { on: 'record', op: 'create', row: 'AAAA0001', value: record('AAAA0001') },
      {
        on: 'index',
        op: 'upsert',
        row: 'ix.state.submitted.2026-01-01T00:00:00.000Z.AAAA0001',
        value: { requestId: 'AAAA0001' },
      },
      { on: 'index', op: 'upsert', row: 'ix.by.someone.AAAA0001', value: { requestId: 'AAAA0001' } },
    ]);
    await requests.create(p, 'zz-after-the-index', record('zz-after-the-index'));

    expect(await rows(requests.list(p))).toEqual(['AAAA0001', 'zz-after-the-index']);
    expect(await rows(requests.index.list(p))).toEqual([
      'ix.by.someone.AAAA0001',
      'ix.state.submitted.2026-01-01T00:00:00.000Z.AAAA0001',
    ]);
    expect(await rows(requests.listRange(p, '', '\uffff'))).toEqual(['AAAA0001', 'zz-after-the-index']);
    expect((await requests.index.get(p, 'ix.by.someone.AAAA0001'))?.value).toEqual({ requestId: 'AAAA0001' });
  });

  test('when a row of one view is given to the other, then it is refused before anything is written', async () => {
    const { requests } = testStore.store;
    const p = partition();

    await expect(requests.create(p, 'ix.by.x', record('ix.by.x'))).rejects.toThrow(/does not hold/);
    await expect(requests.index.create(p, 'AAAA0002', { requestId: 'AAAA0002' })).rejects.toThrow(/does not hold/);
    await expect(
      requests.transactWithIndex(p, [{ on: 'index', op: 'upsert', row: 'AAAA0002', value: { requestId: 'AAAA0002' } }]),
    ).rejects.toThrow(/does not hold/);
    expect(await rows(requests.list(p))).toEqual([]);
    expect(await rows(requests.index.list(p))).toEqual([]);
  });

  test('when the record of a transaction with index rows exists or changed, then it fails with "exists" or "changed" and no index row is written', async () => {
    const { requests } = testStore.store;
    const p = partition();
    const created = await requests.create(p, 'AAAA0003', record('AAAA0003'));
    await requests.replace(p, 'AAAA0003', record('AAAA0003', 'approved'), created.etag);
    const index = {
      on: 'index',
      op: 'upsert',
      row: 'ix.open.someone.AAAA0003',
      value: { requestId: 'AAAA0003' },
    } as const;

    expect(
      await reasonOf(
        requests.transactWithIndex(p, [
          { on: 'record', op: 'create', row: 'AAAA0003', value: record('AAAA0003') },
          index,
        ]),
      ),
    ).toBe('exists');
    expect(
      await reasonOf(
        requests.transactWithIndex(p, [
          index,
          { on: 'record', op: 'replace', row: 'AAAA0003', value: record('AAAA0003', 'rejected'), etag: created.etag },
        ]),
      ),
    ).toBe('changed');

    expect(await rows(requests.index.list(p))).toEqual([]);
    expect((await requests.get(p, 'AAAA0003'))?.value.status).toBe('approved');
  });
});
