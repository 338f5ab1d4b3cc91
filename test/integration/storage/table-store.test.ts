/**
 * The Collection contract of TableStore, against the run's Azurite: ETag concurrency, keys, large values,
 * paging, and how unreachable storage is reported.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { TableStore } from '../../../src/adapters/storage/table-store';
import type { ConversationAddress } from '../../../src/domain/conversation';
import { ConflictError, StorageUnavailable } from '../../../src/domain/errors';
import { auditRow, type Collection, type Greeting } from '../../../src/services/ports';
import { createTestStore, type TestStore } from '../../helpers/storage';

let testStore: TestStore;
let greetings: Collection<Greeting>;

beforeAll(async () => {
  testStore = await createTestStore();
  greetings = testStore.store.greetings;
});

afterAll(async () => {
  await testStore.cleanup();
});

/** Each test writes to a partition of its own, so the tests cannot see each other's rows. */
function partition(): string {
  return `p-${randomBytes(4).toString('hex')}`;
}

function greeting(conversationId: string, greetedAt = '2026-01-01T00:00:00.000Z'): Greeting {
  return { conversationId, greetedAt };
}

async function rowsOf<T>(collection: Collection<T>, p: string): Promise<Array<{ row: string; value: T }>> {
  const rows: Array<{ row: string; value: T }> = [];
  for await (const { row, value } of collection.list(p)) rows.push({ row, value });
  return rows.sort((a, b) => (a.row < b.row ? -1 : a.row > b.row ? 1 : 0));
}

async function conflictReason(operation: Promise<unknown>): Promise<string> {
  const err: unknown = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ConflictError)) throw new Error(`expected a ConflictError, got ${String(err)}`);
  return err.reason;
}

async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

test('when a record is created, then get returns its value and the ETag that create returned', async () => {
  const p = partition();
  const created = await greetings.create(p, 'r1', greeting('c1'));

  const read = await greetings.get(p, 'r1');

  expect(read).toEqual({ value: greeting('c1'), etag: created.etag });
  expect(created.etag).not.toBe('');
});

test('when a key was never written, then get returns undefined', async () => {
  await expect(greetings.get(partition(), 'nothing')).resolves.toBeUndefined();
});

test('when the key is taken, then create fails with ConflictError "exists" and the first value stays', async () => {
  const p = partition();
  await greetings.create(p, 'r1', greeting('first'));

  expect(await conflictReason(greetings.create(p, 'r1', greeting('second')))).toBe('exists');
  expect((await greetings.get(p, 'r1'))?.value).toEqual(greeting('first'));
});

test('when replace is given the current ETag, then it succeeds and returns a new ETag that get also sees', async () => {
  const p = partition();
  const created = await greetings.create(p, 'r1', greeting('c1', 'old'));

  const replaced = await greetings.replace(p, 'r1', greeting('c1', 'new'), created.etag);

  expect(replaced.etag).not.toBe(created.etag);
  expect(await greetings.get(p, 'r1')).toEqual({ value: greeting('c1', 'new'), etag: replaced.etag });
});

test('when replace is given a stale ETag, then it fails with ConflictError "changed" and the stored value is unchanged', async () => {
  const p = partition();
  const created = await greetings.create(p, 'r1', greeting('c1', 'v1'));
  const current = await greetings.replace(p, 'r1', greeting('c1', 'v2'), created.etag);

  expect(await conflictReason(greetings.replace(p, 'r1', greeting('c1', 'v3'), created.etag))).toBe('changed');
  expect(await greetings.get(p, 'r1')).toEqual({ value: greeting('c1', 'v2'), etag: current.etag });
});

test('when two replaces race with the same ETag, then exactly one wins and its value is stored', async () => {
  const p = partition();
  const created = await greetings.create(p, 'r1', greeting('c1', 'v0'));

  const results = await Promise.allSettled([
    greetings.replace(p, 'r1', greeting('c1', 'a'), created.etag),
    greetings.replace(p, 'r1', greeting('c1', 'b'), created.etag),
  ]);

  const winners = results.filter((r) => r.status === 'fulfilled');
  const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  expect(winners).toHaveLength(1);
  expect(losers).toHaveLength(1);
  expect(losers[0]?.reason).toBeInstanceOf(ConflictError);
  expect((losers[0]?.reason as ConflictError).reason).toBe('changed');
  const stored = await greetings.get(p, 'r1');
  expect(winners[0]?.status === 'fulfilled' && winners[0].value).toEqual(stored);
});

test('when the record was deleted, then replace fails with ConflictError "missing"', async () => {
  const p = partition();
  const created = await greetings.create(p, 'r1', greeting('c1'));
  await greetings.delete(p, 'r1');

  expect(await conflictReason(greetings.replace(p, 'r1', greeting('c1', 'late'), created.etag))).toBe('missing');
  expect(await greetings.get(p, 'r1')).toBeUndefined();
});

test('when upsert writes a new key and then an existing one, then the last value is stored under the returned ETag', async () => {
  const p = partition();
  const first = await greetings.upsert(p, 'r1', greeting('c1', 'v1'));
  const second = await greetings.upsert(p, 'r1', greeting('c1', 'v2'));

  expect(second.etag).not.toBe(first.etag);
  expect(await greetings.get(p, 'r1')).toEqual({ value: greeting('c1', 'v2'), etag: second.etag });
  // The ETag upsert returns guards the next replace like any other.
  await expect(greetings.replace(p, 'r1', greeting('c1', 'v3'), second.etag)).resolves.toMatchObject({
    value: greeting('c1', 'v3'),
  });
});

test('when delete is given a stale ETag, then it is refused with "changed" and the record stays; the current ETag deletes it', async () => {
  const p = partition();
  const created = await greetings.create(p, 'r1', greeting('c1', 'v1'));
  const current = await greetings.replace(p, 'r1', greeting('c1', 'v2'), created.etag);

  expect(await conflictReason(greetings.delete(p, 'r1', created.etag))).toBe('changed');
  expect((await greetings.get(p, 'r1'))?.value).toEqual(greeting('c1', 'v2'));

  await greetings.delete(p, 'r1', current.etag);
  expect(await greetings.get(p, 'r1')).toBeUndefined();
});

test('when the key is not there, then delete succeeds, with or without an ETag', async () => {
  const p = partition();
  const created = await greetings.create(p, 'gone', greeting('c1'));
  await greetings.delete(p, 'gone');

  await expect(greetings.delete(p, 'gone')).resolves.toBeUndefined();
  await expect(greetings.delete(p, 'gone', created.etag)).resolves.toBeUndefined();
  await expect(greetings.delete(p, 'never-there')).resolves.toBeUndefined();
});

test('when keys hold characters Azure forbids or URLs mangle, then they round-trip through get and list unchanged', async () => {
  const p = `team/19:abc@thread.tacv2;messageid=1#?\\ 'quoted' "x" %41+ ~007E é ${partition()}`;
  const rows = [
    '19:3c5bd8a1d8b24aaf9cf6c6a6b6b6b6b6@thread.tacv2;messageid=1712345678901',
    'a:1Xy/z+w==?x#y',
    '29:1AbC-dEf_gHi',
    'tab\there\nnewline\u0000nul\u007fdel\u0085c1',
    'ünïcødé 漢字 😀 ~ ~0041 %2F',
    ':',
    '~003A', // must not collide with ':' once escaped
    'lone \ud800 surrogate',
  ];
  for (const [index, row] of rows.entries()) await greetings.create(p, row, greeting(`c${index}`));

  for (const [index, row] of rows.entries()) {
    expect((await greetings.get(p, row))?.value).toEqual(greeting(`c${index}`));
  }
  const listed = await rowsOf(greetings, p);
  expect(listed.map((r) => r.row).sort()).toEqual([...rows].sort());
  expect(listed.find((r) => r.row === ':')?.value).toEqual(greeting(`c${rows.indexOf(':')}`));
});

test('when a value is about 200 KB of JSON, then it round-trips, and a smaller replacement leaves nothing of it behind', async () => {
  const conversations = testStore.store.conversations;
  const p = partition();
  // Astral characters (two UTF-16 units each) land on the property boundaries, which must not split them.
  const name = `${'x'.repeat(70_000)}${'😀'.repeat(40_000)}${'é'.repeat(50_000)}`;
  const big: ConversationAddress = {
    channelId: 'msteams',
    serviceUrl: 'https://smba.trafficmanager.net/emea/',
    conversation: { id: 'a:big', name },
    bot: { id: '28:bot' },
  };
  expect(JSON.stringify(big).length).toBeGreaterThan(200_000);

  const created = await conversations.create(p, 'big', big);
  expect(await conversations.get(p, 'big')).toEqual({ value: big, etag: created.etag });

  const small: ConversationAddress = { ...big, conversation: { id: 'a:big', name: 'small' } };
  await conversations.replace(p, 'big', small, created.etag);
  expect((await conversations.get(p, 'big'))?.value).toEqual(small);
  expect((await rowsOf(conversations, p)).map((r) => r.value)).toEqual([small]);
});

test('when a partition spans several pages, then list returns every row of it and nothing of other partitions', async () => {
  const paged = await createTestStore({ pageSize: 7 });
  try {
    const collection = paged.store.greetings;
    const wanted = partition();
    const other = partition();
    const rows = Array.from({ length: 30 }, (_, i) => `row:${String(i).padStart(2, '0')}`);
    await Promise.all(rows.map((row) => collection.create(wanted, row, greeting(row))));
    await Promise.all(['a', 'b', 'c'].map((row) => collection.create(other, row, greeting(row))));

    const listed = await rowsOf(collection, wanted);

    expect(listed).toEqual(rows.map((row) => ({ row, value: greeting(row) })));
    expect(await rowsOf(collection, other)).toHaveLength(3);
    expect(await rowsOf(collection, partition())).toEqual([]);
  } finally {
    await paged.cleanup();
  }
});

test('when list yields a row, then its ETag guards a replace like the one get returns', async () => {
  const p = partition();
  await greetings.create(p, 'r1', greeting('c1', 'v1'));
  const [listed] = await (async () => {
    const all = [];
    for await (const item of greetings.list(p)) all.push(item);
    return all;
  })();

  await expect(greetings.replace(p, 'r1', greeting('c1', 'v2'), listed!.etag)).resolves.toMatchObject({
    value: greeting('c1', 'v2'),
  });
});

test('when a new TableStore opens the same prefix, then it reads what the first one wrote, and init is safe to repeat', async () => {
  const p = partition();
  const written = await testStore.store.channels.create(p, 'approvals', {
    purpose: 'approvals',
    address: {
      channelId: 'msteams',
      serviceUrl: 'https://example.test/',
      conversation: { id: '19:c@thread.tacv2' },
      bot: { id: '28:b' },
    },
    setBy: { aadObjectId: '00000000-0000-0000-0000-000000000001', name: 'Ada' },
    setAt: '2026-01-01T00:00:00.000Z',
  });

  const reopened = new TableStore({ connectionString: testStore.connectionString, tablePrefix: testStore.tablePrefix });
  await reopened.init();

  expect(await reopened.channels.get(p, 'approvals')).toEqual(written);
});

test('when the storage answers, then ping succeeds', async () => {
  await expect(testStore.store.ping()).resolves.toBeUndefined();
});

describe('when nothing listens at the storage endpoint', () => {
  let unreachable: TableStore;

  beforeAll(async () => {
    const port = await closedPort();
    const connectionString = testStore.connectionString.replace(
      /TableEndpoint=[^;]+/,
      `TableEndpoint=http://127.0.0.1:${port}/devstoreaccount1`,
    );
    unreachable = new TableStore({ connectionString, tablePrefix: 'unreachable' });
  });

  test('then ping fails with StorageUnavailable within a few seconds', async () => {
    const started = Date.now();
    const err: unknown = await unreachable.ping().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(StorageUnavailable);
    expect(Date.now() - started).toBeLessThan(3500);
  });

  test('then a read fails with StorageUnavailable that says what was being done', async () => {
    const err: unknown = await unreachable.greetings.get('p', 'r').catch((e: unknown) => e);

    expect(err).toBeInstanceOf(StorageUnavailable);
    expect((err as StorageUnavailable).message).toContain('reading unreachableGreetings(p, r)');
  });
});

describe('requests and their audit trail', () => {
  test('when audit events are written with auditRow, then list returns them in the order they happened', async () => {
    const requestId = `r${randomBytes(3).toString('hex')}`;
    const { audit } = testStore.store;
    for (const sequence of [10, 2, 1, 100]) {
      await audit.create(requestId, auditRow(sequence), {
        at: `2026-01-01T00:00:${String(sequence % 60).padStart(2, '0')}Z`,
        sequence,
      } as never);
    }

    const rows = (await rowsOfInStoreOrder(audit, requestId)).map((r) => r.row);

    expect(rows).toEqual(['000001', '000002', '000010', '000100']);
  });

  test('when two processes decide one request at once, then exactly one write lands', async () => {
    const id = `r${randomBytes(3).toString('hex')}`;
    const { requests } = testStore.store;
    const created = await requests.create('request', id, { id, status: 'submitted' } as never);

    const outcomes = await Promise.allSettled([
      requests.replace('request', id, { id, status: 'approved' } as never, created.etag),
      requests.replace('request', id, { id, status: 'rejected' } as never, created.etag),
    ]);

    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof ConflictError)).toHaveLength(1);
  });
});

/** Rows as the store returns them, without sorting: the order is the store's own. */
async function rowsOfInStoreOrder<T>(collection: Collection<T>, p: string): Promise<Array<{ row: string }>> {
  const rows: Array<{ row: string }> = [];
  for await (const { row } of collection.list(p)) rows.push({ row });
  return rows;
}

describe('transactions', () => {
  test('when creates and a replace go in one transaction, then all are written', async () => {
    const p = partition();
    const first = await greetings.create(p, 'a', greeting('a'));

    const etags = await greetings.transact(p, [
      { op: 'replace', row: 'a', value: greeting('a', '2026-02-02T00:00:00.000Z'), etag: first.etag },
      { op: 'create', row: 'b', value: greeting('b') },
      { op: 'create', row: 'c', value: greeting('c') },
    ]);

    // The ETags returned are those the rows now have: a replace with one of them succeeds.
    expect(etags).toHaveLength(3);
    await greetings.replace(p, 'b', greeting('b', '2026-04-04T00:00:00.000Z'), etags[1]!);
    await greetings.replace(p, 'b', greeting('b'), (await greetings.get(p, 'b'))!.etag);

    expect(await rowsOf(greetings, p)).toEqual([
      { row: 'a', value: greeting('a', '2026-02-02T00:00:00.000Z') },
      { row: 'b', value: greeting('b') },
      { row: 'c', value: greeting('c') },
    ]);
  });

  test('when one row of a transaction conflicts (it exists, or its ETag changed), then it fails with ConflictError and nothing is written', async () => {
    const p = partition();
    const first = await greetings.create(p, 'a', greeting('a'));
    await greetings.replace(p, 'a', greeting('a', '2026-03-03T00:00:00.000Z'), first.etag);

    const exists = greetings.transact(p, [
      { op: 'create', row: 'new', value: greeting('new') },
      { op: 'create', row: 'a', value: greeting('a') },
    ]);
    await expect(exists).rejects.toBeInstanceOf(ConflictError);
    const stale = greetings.transact(p, [
      { op: 'create', row: 'new', value: greeting('new') },
      { op: 'replace', row: 'a', value: greeting('a'), etag: first.etag },
    ]);
    await expect(stale).rejects.toBeInstanceOf(ConflictError);

    expect(await rowsOf(greetings, p)).toEqual([{ row: 'a', value: greeting('a', '2026-03-03T00:00:00.000Z') }]);
  });
});
