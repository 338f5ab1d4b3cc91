/**
 * The credentials table (credential-index.ts) over a TableStore in the run's Azurite, its requests counted: a full
 * scan's page writes only the holders that changed and reads no credential row, the sweep reads holder rows only,
 * rows spread over the sixteen partitions are found again in expiry order, and a rewrite that stops mid-way loses
 * nothing and counts nothing twice.
 */
import type { CredentialInfo } from '../../../src/domain/expiry';
import { newObjectId } from '../../../src/local/tenant/state';
import {
  CREDENTIAL_PARTITIONS,
  createCredentialIndex,
  credentialPartition,
  expiryRow,
  holderRow,
  LEGACY_PARTITION,
} from '../../../src/services/credential-index';
import type { CredentialHolderRow, CredentialIndexRow, RangeCollection, RowWrite } from '../../../src/services/ports';
import { createTestStore } from '../../helpers/storage';

const DAY = 86_400_000;
const now = Date.parse('2026-03-02T09:00:00.000Z');
const until = new Date(now + 68 * DAY);

interface Seen {
  gets: string[];
  ranges: Array<{ partition: string; from: string; to: string }>;
  lists: string[];
  writes: Array<{ partition: string; op: RowWrite<unknown>['op']; row: string }>;
}

/** The table, its calls recorded; `failAt` makes the n-th transaction from now on throw before it is sent. */
function recording(inner: RangeCollection<CredentialIndexRow>): {
  table: RangeCollection<CredentialIndexRow>;
  seen: Seen;
  reset(): void;
  failAt(n: number): void;
} {
  const seen: Seen = { gets: [], ranges: [], lists: [], writes: [] };
  let failing: number | undefined;
  const table: RangeCollection<CredentialIndexRow> = {
    get: (p, r) => (seen.gets.push(`${p}/${r}`), inner.get(p, r)),
    create: (p, r, v) => inner.create(p, r, v),
    replace: (p, r, v, e) => inner.replace(p, r, v, e),
    upsert: (p, r, v) => inner.upsert(p, r, v),
    delete: (p, r, e) => inner.delete(p, r, e),
    list: (p) => (seen.lists.push(p), inner.list(p)),
    listRange: (p, from, to, o) => (seen.ranges.push({ partition: p, from, to }), inner.listRange(p, from, to, o)),
    async transact(p, operations) {
      if (failing !== undefined && (failing -= 1) === 0) throw new Error('connection reset');
      for (const o of operations) seen.writes.push({ partition: p, op: o.op, row: o.row });
      return inner.transact(p, operations);
    },
  };
  return {
    table,
    seen,
    reset: () => Object.assign(seen, { gets: [], ranges: [], lists: [], writes: [] }),
    failAt: (n) => (failing = n),
  };
}

function credential(holder: string, days: number, overrides: Partial<CredentialInfo> = {}): CredentialInfo {
  return {
    applicationObjectId: holder,
    source: 'application',
    appId: newObjectId(),
    appName: `app ${holder.slice(0, 8)}`,
    kind: 'secret',
    keyId: newObjectId(),
    endDateTime: new Date(now + days * DAY).toISOString(),
    managed: false,
    samlSigning: false,
    ...overrides,
  };
}

async function setup() {
  const testStore = await createTestStore();
  const recorded = recording(testStore.store.credentials);
  return { ...recorded, testStore, index: createCredentialIndex(recorded.table) };
}

async function rowsOf(table: RangeCollection<CredentialIndexRow>, partition: string): Promise<string[]> {
  const rows: string[] = [];
  for await (const { row } of table.list(partition)) rows.push(row);
  return rows;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

test("a page's holders go to their partitions, only credentials ending before `until`; found again in expiry order", async () => {
  const { index, table, testStore } = await setup();
  cleanups.push(testStore.cleanup);
  const holders = Array.from({ length: 40 }, () => newObjectId());
  // Each holder: one credential due within the reach, one a year out (not indexed).
  const page = holders.flatMap((id, i) => [credential(id, (i * 7) % 60), credential(id, 365)]);
  await index.put(page, 'g1', until);
  await index.flush();

  const partitions = new Set(holders.map(credentialPartition));
  expect(partitions.size).toBeGreaterThan(8);
  for (const id of holders) {
    const holder = await table.get(credentialPartition(id), holderRow(id));
    expect(holder?.value).toMatchObject({ type: 'holder', generation: 'g1', rows: [expect.stringMatching(/^e\./)] });
  }
  const found: CredentialInfo[] = [];
  for await (const p of index.endingBefore(until, 7)) found.push(...p);
  const expected = page.filter((c) => Date.parse(c.endDateTime) < until.getTime());
  expect(found).toHaveLength(40);
  expect(found.map(expiryRow)).toEqual(expected.map(expiryRow).sort());
  // And only up to where it is asked.
  const soon: CredentialInfo[] = [];
  for await (const p of index.endingBefore(new Date(now + 10 * DAY))) soon.push(...p);
  expect(soon.map(expiryRow)).toEqual(
    expected
      .filter((c) => Date.parse(c.endDateTime) < now + 10 * DAY)
      .map(expiryRow)
      .sort(),
  );
});

test('a full scan of an unchanged page stamps the holder rows and writes no credential row; a changed holder is rewritten', async () => {
  const { index, table, testStore, seen, reset } = await setup();
  cleanups.push(testStore.cleanup);
  const holders = Array.from({ length: 30 }, () => newObjectId());
  const far = newObjectId();
  const page = [...holders.map((id) => credential(id, 20)), credential(far, 400)];
  await index.put(page, 'g1', until);
  await index.flush();
  reset();

  // The same page, one holder's secret renewed (new keyId, within the reach).
  const renewed = credential(holders[0]!, 50);
  const next = [renewed, ...page.slice(1)];
  await index.put(next, 'g2', until);
  await index.flush();

  // One point read a holder with something to index (none for the holder whose credential is a year out), and
  // no credential row read.
  expect(seen.gets.sort()).toEqual(holders.map((id) => `${credentialPartition(id)}/${holderRow(id)}`).sort());
  expect(seen.ranges).toEqual([]);
  expect(seen.lists).toEqual([]);
  const credentialWrites = seen.writes.filter((w) => w.row.startsWith('e.'));
  expect(credentialWrites).toEqual([
    { partition: credentialPartition(holders[0]!), op: 'upsert', row: expiryRow(renewed) },
    { partition: credentialPartition(holders[0]!), op: 'delete', row: expiryRow(page[0]!) },
  ]);
  expect(seen.writes.filter((w) => w.row.startsWith('o.'))).toHaveLength(30);
  expect(await table.get(credentialPartition(holders[0]!), expiryRow(page[0]!))).toBeUndefined();
  expect((await index.listed([{ credential: renewed }, { credential: page[0]! }])).map((c) => c.credential)).toEqual([
    renewed,
  ]);
});

test('the sweep reads holder rows only, and removes the holders the scan did not stamp with their rows (and an earlier layout)', async () => {
  const { index, table, testStore, seen, reset } = await setup();
  cleanups.push(testStore.cleanup);
  const kept = Array.from({ length: 10 }, () => newObjectId());
  const gone = Array.from({ length: 5 }, () => newObjectId());
  await index.put(
    [...kept, ...gone].map((id) => credential(id, 5)),
    'g1',
    until,
  );
  await index.flush();
  // A row of the one-partition layout an earlier version wrote.
  await table.upsert(LEGACY_PARTITION, 'e.2026-03-03T00:00:00.000Z.x.y', {
    type: 'expiry',
    credential: credential(newObjectId(), 1),
    generation: 'old',
  });
  await index.put(
    kept.map((id) => credential(id, 5)),
    'g2',
    until,
  );
  await index.flush();
  // kept's credentials changed keyIds: rewritten, so its old rows went already; gone's are still there.
  reset();

  const swept = await index.sweep('g2');

  expect(swept).toBe(5 * 2 + 1);
  expect(seen.ranges.map((r) => r.partition).sort()).toEqual([...CREDENTIAL_PARTITIONS].sort());
  expect(seen.ranges.every((r) => r.from === 'o.' && r.to === 'o/')).toBe(true);
  expect(seen.lists).toEqual([LEGACY_PARTITION]);
  for (const id of gone) expect(await table.get(credentialPartition(id), holderRow(id))).toBeUndefined();
  for (const id of kept) expect(await table.get(credentialPartition(id), holderRow(id))).toBeDefined();
  const left: string[] = [];
  for (const partition of CREDENTIAL_PARTITIONS) left.push(...(await rowsOf(table, partition)));
  expect(left.filter((r) => r.startsWith('e.'))).toHaveLength(10);
  expect(left.filter((r) => r.startsWith('o.'))).toHaveLength(10);
  expect(await rowsOf(table, LEGACY_PARTITION)).toEqual([]);
  // Nothing left to sweep.
  expect(await index.sweep('g2')).toBe(0);
});

test('a holder with more credentials than one transaction takes, rewritten by a scan that stops between transactions: nothing counted twice, nothing lost, the rows it dropped deleted by the next full scan', async () => {
  const { index, table, testStore, failAt } = await setup();
  cleanups.push(testStore.cleanup);
  const id = newObjectId();
  const partition = credentialPartition(id);
  const before = Array.from({ length: 80 }, (_, i) => credential(id, 1 + (i % 50)));
  await index.put(before, 'g1', until);
  await index.flush();

  // 60 renewed (new keyIds), 20 kept: 80 upserts, the holder row, 60 deletes, in two transactions. The second
  // (the deletes after the holder row) fails.
  const after = [...before.slice(0, 20), ...Array.from({ length: 60 }, (_, i) => credential(id, 2 + (i % 40)))];
  failAt(2);
  await index.put(after, 'g2', until);
  await expect(index.flush()).rejects.toThrow('connection reset');

  const holder = (await table.get(partition, holderRow(id)))!.value as CredentialHolderRow;
  expect(holder.rows.sort()).toEqual(after.map(expiryRow).sort());
  expect(holder.retired).toHaveLength(60);
  // The first transaction held 19 of the deletes; the other 41 dropped rows are still in the table, but their
  // holder no longer lists them: they count for nothing.
  const dropped = before.slice(20);
  expect(await table.get(partition, expiryRow(dropped[0]!))).toBeUndefined();
  expect(await table.get(partition, expiryRow(dropped[59]!))).toBeDefined();
  const all: CredentialInfo[] = [];
  for await (const p of index.endingBefore(until)) all.push(...p);
  expect(all).toHaveLength(80 + 41);
  const counted = await index.listed(all.map((credential) => ({ credential })));
  expect(counted.map((c) => expiryRow(c.credential)).sort()).toEqual(after.map(expiryRow).sort());

  // The next full scan, the tenant unchanged: the retired rows go, and the holder row forgets them.
  await index.put(after, 'g3', until);
  await index.flush();
  const clean = (await table.get(partition, holderRow(id)))!.value as CredentialHolderRow;
  expect(clean.retired ?? []).toEqual([]);
  expect(clean.generation).toBe('g3');
  const rows = (await rowsOf(table, partition)).filter((r) => r.startsWith('e.'));
  expect(rows.sort()).toEqual(after.map(expiryRow).sort());
});

test("a change through delta: a holder's rows replaced in one transaction; a holder left with nothing to index goes", async () => {
  const { index, table, testStore } = await setup();
  cleanups.push(testStore.cleanup);
  const id = newObjectId();
  const partition = credentialPartition(id);
  const [a, b] = [credential(id, 3), credential(id, 30)];
  await index.put([a, b], 'g1', until);
  await index.flush();

  const c = credential(id, 10);
  await index.apply({ holder: { applicationObjectId: id, source: 'application' }, credentials: [b, c] }, 'g1', until);
  expect((await rowsOf(table, partition)).sort()).toEqual([expiryRow(b), expiryRow(c), holderRow(id)].sort());

  // Renewed a year out: nothing within the reach, so no rows at all.
  await index.apply(
    { holder: { applicationObjectId: id, source: 'application' }, credentials: [credential(id, 365)] },
    'g1',
    until,
  );
  expect(await rowsOf(table, partition)).toEqual([]);
});
