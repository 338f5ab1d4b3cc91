/**
 * The expiry scan with the real pieces: the local tenant (the demo's apps, whose credentials expire in 60, 30, 7
 * and 1 days and have expired), GraphCredentialSource over HTTPS, a TableStore in the run's Azurite, and a clock
 * the test moves. Each (credential, threshold) is announced once, ever: across scans, when several thresholds are
 * crossed at once, when the announcement fails, when two processes scan at once, when a scan breaks off mid-way;
 * a renewed credential drops out. And the lease the scan runs under.
 */
import { GraphCaller } from '../../../src/adapters/graph/graph-caller';
import { GraphCredentialSource } from '../../../src/adapters/graph/graph-credential-source';
import {
  type CredentialInfo,
  defaultReminderDays,
  type ExpiringCredential,
  ledgerRow,
} from '../../../src/domain/expiry';
import { credentialPartition, expiryRow, holderRow } from '../../../src/services/credential-index';
import { createLogger } from '../../../src/lib/logger';
import { alex, demoUsers } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes/index';
import { addOwnerUsers, demoApplicationIds, demoSamlApplication, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { type ApplicationRecord, newObjectId, type TenantData } from '../../../src/local/tenant/state';
import { createExpiryService, type ExpiryService, type ExpiryServiceDeps } from '../../../src/services/expiry-service';
import { createLease } from '../../../src/services/lease';
import type {
  Collection,
  CredentialHolderRow,
  CredentialSource,
  CredentialSyncRow,
  LedgerEntry,
  Store,
} from '../../../src/services/ports';
import { FixedClock } from '../../helpers/fakes';
import { LogCapture } from '../../helpers/logs';
import { deferred, recordingFaults, type SeenCall } from '../../helpers/provisioning';
import { createTestStore, type TestStore } from '../../helpers/storage';
import { registrarConnection, startTestTenant } from '../../helpers/tenant';

jest.setTimeout(60_000);

const DAY = 86_400_000;
const MINUTE = 60_000;
const seededAt = new Date('2026-03-02T09:00:00.000Z');
const demo = demoTenant(seededAt);
const ids = (index: number) => demoApplicationIds(index);
const HR = ids(1).id;
const PAYROLL = ids(2).id;
const EXPENSE = ids(3).id;
const LEGACY = ids(4).id;
const OLD = ids(5).id;
const SAML = demoSamlApplication.servicePrincipalId;

/** "Payroll Sync/certificate@30": what an announcement is about, to compare as sets. */
const label = (c: ExpiringCredential) => `${c.appName}/${c.kind}@${c.threshold}`;
const labels = (list: readonly ExpiringCredential[]) => list.map(label).sort();

/**
 * The demo's credentials due a minute after the seed: each at the threshold it is within. Contoso Travel is the
 * enterprise application whose SAML signing certificate its service principal holds.
 */
const firstScan = [
  'Contoso Travel (SAML)/certificate@7',
  'Contoso HR Portal/secret@60',
  'Payroll Sync/certificate@30',
  'Expense Bot/secret@7',
  'Legacy CRM Connector/secret@1',
  'Legacy CRM Connector/certificate@1',
  'Old Reporting Job/secret@0',
  'Old Reporting Job/certificate@0',
].sort();

/** A ledger whose calls are counted by method. */
function countingStore(store: Store): { store: Store; ledgerCalls: Record<string, number> } {
  const ledgerCalls: Record<string, number> = {};
  const inner = store.ledger;
  const count = (method: string) => (ledgerCalls[method] = (ledgerCalls[method] ?? 0) + 1);
  const ledger: Collection<LedgerEntry> = {
    get: (p, r) => (count('get'), inner.get(p, r)),
    create: (p, r, v) => (count('create'), inner.create(p, r, v)),
    replace: (p, r, v, e) => (count('replace'), inner.replace(p, r, v, e)),
    upsert: (p, r, v) => (count('upsert'), inner.upsert(p, r, v)),
    delete: (p, r, e) => (count('delete'), inner.delete(p, r, e)),
    list: (p) => (count('list'), inner.list(p)),
    transact: (p, o) => (count('transact'), inner.transact(p, o)),
  };
  const counted: Store = {
    channels: store.channels,
    conversations: store.conversations,
    greetings: store.greetings,
    requests: store.requests,
    audit: store.audit,
    ledger,
    leases: store.leases,
    credentials: store.credentials,
    init: () => store.init(),
    ping: () => store.ping(),
  };
  return { store: counted, ledgerCalls };
}

interface Harness {
  tenant: RunningTenant;
  calls: SeenCall[];
  testStore: TestStore;
  clock: FixedClock;
  logs: LogCapture;
  source: GraphCredentialSource;
  /** Everything any service of this harness announced, in order. */
  announced: ExpiringCredential[][];
  service(overrides?: Partial<ExpiryServiceDeps>): ExpiryService;
  ledger(): Promise<Map<string, LedgerEntry>>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function start(options: { data?: TenantData } = {}): Promise<Harness> {
  const { policy, calls } = recordingFaults();
  const tenant = await startTestTenant({
    data: options.data ?? structuredClone(demo.data),
    routes: allRoutes,
    faults: policy,
  });
  const testStore = await createTestStore();
  cleanups.push(async () => {
    await tenant.stop();
    await testStore.cleanup();
  });
  const logs = new LogCapture();
  const logger = createLogger({ level: 'debug', destination: logs });
  const clock = new FixedClock(new Date(seededAt.getTime() + MINUTE).toISOString());
  const connection = registrarConnection(tenant);
  const source = new GraphCredentialSource({
    graph: new GraphCaller({ connection, baseDelayMs: 20, maxDelayMs: 200, stepTimeoutMs: 20_000 }),
    logger,
  });
  const announced: ExpiringCredential[][] = [];
  let processes = 0;
  return {
    tenant,
    calls,
    testStore,
    clock,
    logs,
    source,
    announced,
    service: (overrides = {}) =>
      createExpiryService({
        store: testStore.store,
        source,
        clock,
        logger,
        reminderDays: defaultReminderDays,
        scope: 'all',
        holder: `test-host:${(processes += 1)}`,
        announce: async (credentials) => {
          announced.push([...credentials]);
        },
        ...overrides,
      }),
    async ledger() {
      const rows = new Map<string, LedgerEntry>();
      for await (const row of testStore.store.ledger.list('ledger')) rows.set(row.row, row.value);
      return rows;
    },
  };
}

/** Expense Bot's secret renewed a year out (a new keyId, the old one gone): a change, as Graph's delta rounds see one. */
function renewExpenseSecret(h: Harness): void {
  const expense = h.tenant.state().data.applications[EXPENSE]!;
  expense.data.passwordCredentials = [
    {
      customKeyIdentifier: null,
      displayName: 'Expense Bot 2027',
      endDateTime: new Date(seededAt.getTime() + 365 * DAY).toISOString(),
      hint: 'nEw',
      keyId: newObjectId(),
      secretText: null,
    },
  ];
  expense.sequence = h.tenant.state().nextSequence();
}

/** An application's first credential as the table holds it. */
function credentialOf(h: Harness, applicationObjectId: string): CredentialInfo {
  const app = h.tenant.state().data.applications[applicationObjectId]!;
  const [secret] = app.data.passwordCredentials as Array<{ keyId: string; endDateTime: string }>;
  return {
    applicationObjectId,
    source: 'application',
    appId: String(app.data.appId),
    appName: String(app.data.displayName),
    kind: 'secret',
    keyId: secret!.keyId,
    endDateTime: secret!.endDateTime,
    managed: false,
    samlSigning: false,
  };
}

/** The keyId of an application's only secret or certificate in the tenant. */
function keyIdOf(tenant: RunningTenant, applicationObjectId: string, kind: 'secret' | 'certificate'): string {
  const app = tenant.state().data.applications[applicationObjectId]!;
  const list = (kind === 'secret' ? app.data.passwordCredentials : app.data.keyCredentials) as Array<{ keyId: string }>;
  return list[0]!.keyId;
}

describe('announcing each (credential, threshold) once', () => {
  test('the first scan announces every due credential once at its threshold, with its owners; a second scan announces nothing', async () => {
    const h = await start();
    const first = await h.service().scan({ trigger: 'schedule' });

    expect(first.ran).toBe(true);
    expect(labels(first.announced)).toEqual(firstScan);
    expect(h.announced).toHaveLength(1);
    expect(h.announced[0]).toEqual(first.announced);
    // Most urgent first.
    expect(first.announced.map((c) => c.threshold)).toEqual([0, 0, 1, 1, 7, 7, 30, 60]);
    // The enterprise application's SAML certificate: once (its Verify key and private key password are not
    // credentials of their own), as the service principal's, with the service principal's owner.
    const saml = first.announced.filter((c) => c.applicationObjectId === SAML);
    expect(saml).toEqual([
      expect.objectContaining({
        source: 'servicePrincipal',
        samlSigning: true,
        kind: 'certificate',
        appId: demoSamlApplication.appId,
        ownerIds: [demoSamlApplication.owner.aadObjectId.toLowerCase()],
      }),
    ]);
    expect(first.announced.filter((c) => c.applicationObjectId !== SAML).every((c) => c.source === 'application')).toBe(
      true,
    );
    const owners = new Map(first.announced.map((c) => [c.appName, c.ownerIds]));
    expect(owners.get('Expense Bot')).toEqual([alex.aadObjectId.toLowerCase()]);
    expect(owners.get('Legacy CRM Connector')).toEqual([demoUsers[2]!.aadObjectId.toLowerCase()]);
    expect(first.announced.find((c) => c.appName === 'Old Reporting Job' && c.kind === 'secret')!.daysLeft).toBe(-4);
    // One page of applications, one of service principals.
    expect(first).toMatchObject({ applications: 6, servicePrincipals: 1, credentials: 9, pages: 2 });
    // One Graph request per page, without $expand; then the owners of the five announced apps (not Registrar's
    // own, which has nothing due), once each, in one batch.
    const owned = h.calls.filter((c) => c.path.endsWith('/owners')).map((c) => c.path.split('/')[2]);
    expect(owned.sort()).toEqual([HR, PAYROLL, EXPENSE, LEGACY, OLD, SAML].sort());
    expect(h.calls.filter((c) => c.path === `/servicePrincipals/${SAML}/owners`)).toHaveLength(1);
    expect(h.calls.filter((c) => c.path === '/applications')).toHaveLength(1);
    expect(h.calls.find((c) => c.path === '/applications')!.query).not.toContain('$expand');
    expect(h.tenant.counters.snapshot()['POST /$batch']).toBe(1);

    // Posted: the threshold announced and the less urgent ones it covers (the 60-day one of an expired secret too).
    const ledger = await h.ledger();
    expect(ledger.size).toBe(1 + 2 + 4 + 4 + 5 + 5 + 6 + 6);
    expect([...ledger.values()].every((row) => row.state === 'posted' && row.scanId === first.scanId)).toBe(true);
    expect(ledger.get(ledgerRow(OLD, keyIdOf(h.tenant, OLD, 'secret'), 60))).toMatchObject({
      threshold: 60,
      applicationObjectId: OLD,
    });

    const second = await h.service().scan();
    expect(second.ran).toBe(true);
    expect(second.announced).toEqual([]);
    expect(h.announced).toHaveLength(1);
    expect(h.logs.find('expiry scan finished')).toHaveLength(2);
    // Nothing announced, no owners read.
    expect(h.calls.filter((c) => c.path.endsWith('/owners'))).toHaveLength(6);
  });

  test('owners are read only for the applications announced, 20 to a batch, not for the thousands with nothing due', async () => {
    const h = await start({ data: withFillers(1_500, (i) => (i % 50 === 7 ? 10 : undefined)) });
    const result = await h.service().scan();

    // 30 fillers within 14 days, the demo's five apps and its SAML enterprise application.
    const announcedApps = new Set(result.announced.map((c) => c.applicationObjectId));
    expect(announcedApps.size).toBe(36);
    const owned = h.calls
      .filter((c) => c.method === 'GET' && c.path.endsWith('/owners'))
      .map((c) => c.path.split('/')[2]);
    expect(owned.sort()).toEqual([...announcedApps].sort());
    expect(h.tenant.counters.snapshot()['POST /$batch']).toBe(2);
    expect(h.calls.filter((c) => c.path === '/applications')).toHaveLength(2);
  });

  test('an application with 25 owners has every one of them on its announcement', async () => {
    const data = structuredClone(demo.data);
    const owners = addOwnerUsers(data, 25);
    data.applications[HR]!.owners = owners;
    const h = await start({ data });
    const result = await h.service().scan();

    const hr = result.announced.find((c) => c.applicationObjectId === HR)!;
    expect([...hr.ownerIds].sort()).toEqual(owners.map((id) => id.toLowerCase()).sort());
  });

  test('an application deleted between its page and its owners is announced without owners; the others with theirs', async () => {
    const h = await start();
    const source: CredentialSource = {
      ownersOf: (id) => h.source.ownersOf(id),
      ownersOfEach: (ids) => {
        delete h.tenant.state().data.applications[EXPENSE];
        return h.source.ownersOfEach(ids);
      },
      findApplication: (name) => h.source.findApplication(name),
      privilegesOf: (appId) => h.source.privilegesOf(appId),
      pages: (scope) => h.source.pages(scope),
    };
    const result = await h.service({ source }).scan();

    expect(labels(result.announced)).toEqual(firstScan);
    expect(result.announced.find((c) => c.applicationObjectId === EXPENSE)!.ownerIds).toEqual([]);
    expect(result.announced.find((c) => c.applicationObjectId === LEGACY)!.ownerIds).toEqual([
      demoUsers[2]!.aadObjectId.toLowerCase(),
    ]);
    expect(h.logs.find('owners not read: announced without owners')).toHaveLength(1);
  });

  test('owners that stay unavailable fail the scan before announcing; the claims stay for the next', async () => {
    const h = await start();
    const source: CredentialSource = {
      ownersOf: (id) => h.source.ownersOf(id),
      ownersOfEach: (ids) => {
        h.tenant.faults.configure({ unavailable: { rate: 1, retryAfterSeconds: 30 } });
        return h.source.ownersOfEach(ids);
      },
      findApplication: (name) => h.source.findApplication(name),
      privilegesOf: (appId) => h.source.privilegesOf(appId),
      pages: (scope) => h.source.pages(scope),
    };
    await expect(h.service({ source }).scan()).rejects.toMatchObject({ code: 'unavailable' });
    expect(h.announced).toHaveLength(0);
    expect([...(await h.ledger()).values()].every((row) => row.state === 'claimed')).toBe(true);

    h.tenant.faults.configure({ unavailable: undefined });
    expect(labels((await h.service().scan()).announced)).toEqual(firstScan);
  });

  test.each([
    ['the changes since the last scan', false, { mode: 'changes', pages: 2, credentials: 8 }],
    ['the whole tenant again', true, { mode: 'full', pages: 3, credentials: 1_509 }],
  ])('a quiet scan that reads %s reads the ledger once, in one list, and writes nothing', async (_, full, read) => {
    const h = await start({ data: withFillers(1_500) });
    await h.service().scan();
    const { store, ledgerCalls } = countingStore(h.testStore.store);
    const quiet = await h.service({ store }).scan({ full });

    expect(quiet.announced).toEqual([]);
    // Changes: one delta page of applications and one of service principals, and the credentials ending within 60
    // days (or expired: the demo has 8) from the table; in full: two pages of applications (999 a page) and one of service principals.
    expect(quiet).toMatchObject(read);
    expect(ledgerCalls).toEqual({ list: 1 });
  });

  test('moving the clock past the next threshold announces exactly the credentials that crossed it', async () => {
    const h = await start();
    await h.service().scan();
    h.clock.advance(1.5 * DAY);
    const later = await h.service().scan();

    // Legacy CRM's secret and certificate had a day left: they have expired. The others are still within theirs.
    expect(labels(later.announced)).toEqual(['Legacy CRM Connector/certificate@0', 'Legacy CRM Connector/secret@0']);
  });

  test('a credential that crossed two thresholds between scans is announced once, at the most urgent', async () => {
    const h = await start();
    await h.service().scan();
    h.clock.set(new Date(seededAt.getTime() + 24 * DAY).toISOString());
    const later = await h.service().scan();

    // Payroll's certificate went from 30 days to 6 (past 14 and 7); Expense Bot's secret from 7 days to expired
    // (past 1 and 0); Legacy CRM's two from 1 day to expired; Contoso Travel's SAML certificate from 7 days to expired.
    expect(labels(later.announced)).toEqual([
      'Contoso Travel (SAML)/certificate@0',
      'Expense Bot/secret@0',
      'Legacy CRM Connector/certificate@0',
      'Legacy CRM Connector/secret@0',
      'Payroll Sync/certificate@7',
    ]);
    const ledger = await h.ledger();
    const payroll = keyIdOf(h.tenant, PAYROLL, 'certificate');
    expect(ledger.get(ledgerRow(PAYROLL, payroll, 14))).toMatchObject({ state: 'posted', scanId: later.scanId });
    expect(ledger.get(ledgerRow(PAYROLL, payroll, 7))).toMatchObject({ state: 'posted', scanId: later.scanId });
    expect(ledger.has(ledgerRow(PAYROLL, payroll, 1))).toBe(false);

    h.clock.advance(2 * DAY);
    expect((await h.service().scan()).announced).toEqual([]);
  });

  test('a renewed credential (new keyId, the old one removed) drops out', async () => {
    const h = await start();
    await h.service().scan();
    renewExpenseSecret(h);
    h.clock.advance(8 * DAY);
    const later = await h.service().scan();

    // Without the renewal, Expense Bot's secret would have been announced as expired now.
    expect(labels(later.announced)).toEqual([
      'Contoso Travel (SAML)/certificate@0',
      'Legacy CRM Connector/certificate@0',
      'Legacy CRM Connector/secret@0',
    ]);
  });
});

describe('after the first scan, the everyday scan reads only what changed', () => {
  /** Registrar's Graph client, for changes made the way an owner or an administrator makes them. */
  const graphOf = (h: Harness) => registrarConnection(h.tenant).client;
  const listings = (h: Harness, since: number) =>
    h.calls.filter((c, i) => i >= since && c.method === 'GET' && /^\/(applications|servicePrincipals)$/.test(c.path));
  const deltaReads = (h: Harness, since: number) =>
    h.calls.filter((c, i) => i >= since && c.method === 'GET' && c.path.endsWith('/delta'));

  test('a secret added through Graph is announced by the next scan, which lists nothing and reads one delta page of each collection', async () => {
    const h = await start({ data: withFillers(1_200) });
    const first = await h.service().scan();
    expect(first.mode).toBe('full');
    const before = h.calls.length;

    await graphOf(h)
      .api(`/applications/${HR}/addPassword`)
      .post({
        passwordCredential: {
          displayName: 'short-lived',
          startDateTime: h.clock.now().toISOString(),
          endDateTime: new Date(h.clock.now().getTime() + 3 * DAY).toISOString(),
        },
      });
    h.clock.advance(MINUTE);
    const next = await h.service().scan();

    expect(next.mode).toBe('changes');
    expect(labels(next.announced)).toEqual(['Contoso HR Portal/secret@7']);
    expect(next.announced[0]!.displayName).toBe('short-lived');
    expect(next).toMatchObject({ applications: 1, servicePrincipals: 0, pages: 2 });
    // No listing of 1,200 applications: one delta page each, and the owners of the one app announced.
    expect(listings(h, before)).toEqual([]);
    expect(deltaReads(h, before)).toHaveLength(2);
    expect(
      h.calls
        .slice(before)
        .filter((c) => c.path.endsWith('/owners'))
        .map((c) => c.path),
    ).toEqual([`/applications/${HR}/owners`]);
  });

  test('a deleted application and a removed certificate are never announced again; a credential reaching its next threshold by the clock alone is, once', async () => {
    const h = await start();
    await h.service().scan();
    await graphOf(h).api(`/applications/${LEGACY}`).delete();
    const payroll = h.tenant.state().data.applications[PAYROLL]!;
    await graphOf(h).api(`/applications/${PAYROLL}`).patch({ keyCredentials: [] });
    expect(payroll.data.keyCredentials).toEqual([]);

    // Two days on: Legacy CRM's two would have expired, Payroll's certificate is still within 30 days.
    h.clock.advance(2 * DAY);
    const later = await h.service().scan();
    expect(later.mode).toBe('changes');
    expect(later.announced).toEqual([]);

    // Expense Bot's secret (7 days at the seed) reaches its next threshold by the clock alone: read from the table.
    h.clock.advance(4.5 * DAY);
    const byTime = await h.service().scan();
    expect(byTime.mode).toBe('changes');
    expect(labels(byTime.announced)).toEqual(['Contoso Travel (SAML)/certificate@1', 'Expense Bot/secret@1']);
    expect((await h.service().scan()).announced).toEqual([]);
  });

  test('a renewed credential in a scan of changes drops out, and a full scan after it announces nothing twice', async () => {
    const h = await start();
    const service = () => h.service({ fullScanDays: 30 });
    await service().scan();
    renewExpenseSecret(h);
    h.clock.advance(8 * DAY);
    const later = await service().scan();

    expect(later.mode).toBe('changes');
    expect(labels(later.announced)).toEqual([
      'Contoso Travel (SAML)/certificate@0',
      'Legacy CRM Connector/certificate@0',
      'Legacy CRM Connector/secret@0',
    ]);
    const full = await service().scan({ full: true });
    expect(full.mode).toBe('full');
    expect(full.announced).toEqual([]);
  });

  test('a delta link Graph no longer knows (410 Gone) turns the scan into a full one, which announces what is due once', async () => {
    const h = await start();
    await h.service().scan();
    const sync = await h.testStore.store.credentials.get('sync', 'expiry-scan');
    const value = sync!.value as CredentialSyncRow;
    const stale = value.deltaLinks.applications.replace(/deltatoken=[^&]+/, 'deltatoken=RFNwdAIAAQAAAnotours');
    await h.testStore.store.credentials.replace(
      'sync',
      'expiry-scan',
      { ...value, deltaLinks: { ...value.deltaLinks, applications: stale } },
      sync!.etag,
    );
    h.clock.advance(1.5 * DAY);
    const after = await h.service().scan();

    expect(after.mode).toBe('full');
    expect(h.logs.find('expiry scan: Graph no longer knows the delta link; listing in full')).toEqual([
      expect.objectContaining({ collection: 'applications' }),
    ]);
    expect(labels(after.announced)).toEqual(['Legacy CRM Connector/certificate@0', 'Legacy CRM Connector/secret@0']);
    // And the links it took before listing are followed by the next scan.
    expect((await h.service().scan()).mode).toBe('changes');
  });

  test('a full scan runs again after fullScanDays, and removes rows of credentials the tenant no longer has', async () => {
    const h = await start();
    await h.service({ fullScanDays: 3 }).scan();
    const table = h.testStore.store.credentials;
    // Left over (say, by a change Graph's delta never reported), each ending in three days and listed by its
    // holder row: a credential of an application the tenant no longer has, and one Expense Bot no longer has.
    const gone = {
      ...credentialOf(h, EXPENSE),
      applicationObjectId: newObjectId(),
      appName: 'Deleted App',
      keyId: newObjectId(),
      endDateTime: new Date(h.clock.now().getTime() + 3 * DAY).toISOString(),
    };
    const goneRow = expiryRow(gone);
    const gonePartition = credentialPartition(gone.applicationObjectId);
    await table.upsert(gonePartition, goneRow, { type: 'expiry', credential: gone, generation: 'other' });
    await table.upsert(gonePartition, holderRow(gone.applicationObjectId), {
      type: 'holder',
      source: 'application',
      rows: [goneRow],
      generation: 'other',
    });
    const ghost = { ...gone, ...credentialOf(h, EXPENSE), keyId: newObjectId(), endDateTime: gone.endDateTime };
    const ghostRow = expiryRow(ghost);
    const partition = credentialPartition(EXPENSE);
    const expense = (await table.get(partition, holderRow(EXPENSE)))!;
    expect(expense.value.type).toBe('holder');
    await table.upsert(partition, ghostRow, { type: 'expiry', credential: ghost, generation: 'other' });
    await table.upsert(partition, holderRow(EXPENSE), {
      ...(expense.value as CredentialHolderRow),
      rows: [...(expense.value as CredentialHolderRow).rows, ghostRow],
      fingerprint: 'drifted',
    });

    h.clock.advance(2 * DAY);
    // Within three days: changes only. Both are announced, as the table holds them (which the weekly scan is for).
    const changes = await h.service({ fullScanDays: 3 }).scan();
    expect(changes.mode).toBe('changes');
    expect(labels(changes.announced)).toEqual([
      'Deleted App/secret@1',
      'Expense Bot/secret@1',
      'Legacy CRM Connector/certificate@0',
      'Legacy CRM Connector/secret@0',
    ]);
    expect(changes.announced.find((c) => c.appName === 'Expense Bot')!.keyId).toBe(ghost.keyId);
    h.clock.advance(1.5 * DAY);
    const full = await h.service({ fullScanDays: 3 }).scan();
    expect(full.mode).toBe('full');
    // The holder the tenant no longer has is swept with its row; Expense Bot, seen by the scan, is rewritten
    // because its rows differ from the tenant's (its fingerprint), and keeps only its real secret's row.
    expect(await table.get(gonePartition, holderRow(gone.applicationObjectId))).toBeUndefined();
    expect(await table.get(gonePartition, goneRow)).toBeUndefined();
    expect(await table.get(partition, ghostRow)).toBeUndefined();
    expect(h.logs.find('expiry scan: rows of credentials no longer in the tenant removed')).toEqual([
      expect.objectContaining({ swept: 2 }),
    ]);
    const holder = await table.get(partition, holderRow(EXPENSE));
    expect(holder?.value).toMatchObject({
      type: 'holder',
      generation: full.scanId,
      rows: [expiryRow(credentialOf(h, EXPENSE))],
    });
  });

  test('a credential row no holder lists (left by a scan that stopped mid-way) is never announced', async () => {
    const h = await start();
    await h.service().scan();
    const orphan = {
      ...credentialOf(h, EXPENSE),
      keyId: newObjectId(),
      endDateTime: new Date(h.clock.now().getTime() + DAY).toISOString(),
    };
    await h.testStore.store.credentials.upsert(credentialPartition(EXPENSE), expiryRow(orphan), {
      type: 'expiry',
      credential: orphan,
      generation: 'other',
    });
    h.clock.advance(MINUTE);
    const next = await h.service().scan();
    expect(next.mode).toBe('changes');
    expect(next.announced).toEqual([]);
  });
});

describe('when things go wrong', () => {
  test('the announcement fails: the claims stay, the next scan announces the same again, then nothing', async () => {
    const h = await start();
    const failing = h.service({
      announce: async () => {
        throw new Error('Teams is down');
      },
    });
    await expect(failing.scan()).rejects.toThrow('Teams is down');
    expect([...(await h.ledger()).values()].every((row) => row.state === 'claimed')).toBe(true);
    expect(h.logs.find('expiry announce failed: the claims stay for the next scan')).toHaveLength(1);

    const retried = await h.service().scan();
    expect(labels(retried.announced)).toEqual(firstScan);
    expect([...(await h.ledger()).values()].every((row) => row.state === 'posted')).toBe(true);
    expect((await h.service().scan()).announced).toEqual([]);
    expect(h.announced).toHaveLength(1);
  });

  test('a claim left by a failed announcement, then a more urgent threshold crossed: announced once, at the more urgent; the old claim ends posted', async () => {
    const h = await start();
    await expect(h.service({ announce: () => Promise.reject(new Error('Teams is down')) }).scan()).rejects.toThrow(
      'Teams is down',
    );
    h.clock.advance(1.5 * DAY);
    const later = await h.service().scan();

    expect(labels(later.announced)).toEqual(
      firstScan.map((l) => l.replace(/^(Legacy CRM Connector\/\w+)@1$/, '$1@0')).sort(),
    );
    const ledger = await h.ledger();
    expect(ledger.get(ledgerRow(LEGACY, keyIdOf(h.tenant, LEGACY, 'secret'), 1))).toMatchObject({
      state: 'posted',
      scanId: later.scanId,
    });
    // The SAML certificate's 7-day row and the 60, 30 and 14 ones it covers.
    expect(ledger.size).toBe(1 + 2 + 4 + 4 + 6 + 6 + 6 + 6);
    expect([...ledger.values()].every((row) => row.state === 'posted')).toBe(true);
  });

  test('a scan that outlasts its lease renews it, so that nobody takes over in the middle', async () => {
    const h = await start({ data: withFillers(2_100) });
    const contender = createLease({
      store: h.testStore.store,
      name: 'expiry-scan',
      holder: 'contender',
      ttlMs: 10 * MINUTE,
      clock: h.clock,
    });
    const refused: boolean[] = [];
    const slowSource: CredentialSource = {
      ownersOf: (id) => h.source.ownersOf(id),
      ownersOfEach: (ids) => h.source.ownersOfEach(ids),
      findApplication: (name) => h.source.findApplication(name),
      privilegesOf: (appId) => h.source.privilegesOf(appId),
      async *pages(scope) {
        for await (const page of h.source.pages(scope)) {
          yield page;
          h.clock.advance(6 * MINUTE); // 18 minutes in all, with a 10-minute lease
          refused.push(!(await contender.acquire()));
        }
      },
    };
    const result = await h.service({ source: slowSource, leaseMs: 10 * MINUTE }).scan();

    expect(result.pages).toBe(4);
    expect(refused).toEqual([true, true, true, true]);
    expect(labels(result.announced)).toEqual(firstScan);
  });

  test('a scan that stalled past its lease while another took over stops before announcing; the other announces', async () => {
    const h = await start({ data: withFillers(1_500) });
    const stalledSource: CredentialSource = {
      ownersOf: (id) => h.source.ownersOf(id),
      ownersOfEach: (ids) => h.source.ownersOfEach(ids),
      findApplication: (name) => h.source.findApplication(name),
      privilegesOf: (appId) => h.source.privilegesOf(appId),
      async *pages(scope) {
        let number = 0;
        for await (const page of h.source.pages(scope)) {
          number += 1;
          if (number === 2) {
            h.clock.advance(11 * MINUTE);
            expect(
              await createLease({
                store: h.testStore.store,
                name: 'expiry-scan',
                holder: 'other',
                ttlMs: 10 * MINUTE,
                clock: h.clock,
              }).acquire(),
            ).toBe(true);
          }
          yield page;
        }
      },
    };
    await expect(h.service({ source: stalledSource, leaseMs: 10 * MINUTE }).scan()).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(h.announced).toHaveLength(0);

    const other = await h.service({ holder: 'other' }).scan();
    expect(labels(other.announced)).toEqual(firstScan);
    expect(h.announced).toHaveLength(1);
  });

  test('a scan that breaks off at page 2 leaves its claims; the next finishes, and nothing is lost or doubled', async () => {
    const h = await start({ data: withFillers(1_500, (i) => (i % 100 === 50 ? 10 : undefined)) });
    const dueFillers = 15;
    const brokenSource: CredentialSource = {
      ownersOf: (id) => h.source.ownersOf(id),
      ownersOfEach: (ids) => h.source.ownersOfEach(ids),
      findApplication: (name) => h.source.findApplication(name),
      privilegesOf: (appId) => h.source.privilegesOf(appId),
      async *pages(scope) {
        let number = 0;
        for await (const page of h.source.pages(scope)) {
          number += 1;
          if (number === 2) throw new Error('connection reset');
          yield page;
        }
      },
    };
    await expect(h.service({ source: brokenSource }).scan()).rejects.toThrow('connection reset');
    const claimed = [...(await h.ledger()).values()];
    expect(claimed.length).toBeGreaterThan(0);
    expect(claimed.every((row) => row.state === 'claimed')).toBe(true);
    expect(h.announced).toHaveLength(0);

    const next = await h.service().scan();
    expect(next.announced).toHaveLength(firstScan.length + dueFillers);
    expect(new Set(next.announced.map((c) => c.keyId)).size).toBe(next.announced.length);
    expect(labels(next.announced.filter((c) => !c.appName.startsWith('filler')))).toEqual(firstScan);
    expect(next.announced.filter((c) => c.appName.startsWith('filler')).every((c) => c.threshold === 14)).toBe(true);
    expect(h.logs.find('unfinished claim taken over').length).toBeGreaterThan(0);
    expect((await h.service().scan()).announced).toEqual([]);
  });

  test('throttling and outages of Graph during the scan are waited out', async () => {
    const h = await start({ data: withFillers(1_500) });
    h.tenant.faults.configure({ unavailable: { rate: 1, count: 2, retryAfterSeconds: 0 } });
    const result = await h.service().scan();

    expect(labels(result.announced)).toEqual(firstScan);
    expect(h.calls.filter((c) => c.status === 503)).toHaveLength(2);
  });

  test('two processes scanning at once: exactly one runs, and each credential is announced once', async () => {
    const h = await start();
    const loserDone = deferred();
    // The winner announces only once the loser has given up, so the two overlap for sure.
    const announce = async (credentials: readonly ExpiringCredential[]) => {
      await loserDone.promise;
      h.announced.push([...credentials]);
    };
    const scans = [h.service({ announce }).scan(), h.service({ announce }).scan()];
    void Promise.race(scans).then(() => loserDone.resolve());
    const results = await Promise.all(scans);

    expect(results.map((r) => r.ran).sort()).toEqual([false, true]);
    const loser = results.find((r) => !r.ran)!;
    expect(loser).toMatchObject({ announced: [], pages: 0, credentials: 0 });
    expect(h.announced.flat().map(label).sort()).toEqual(firstScan);
    expect(h.logs.find('expiry scan skipped: another process holds the lease')).toHaveLength(1);
    // Once the lease is given back, the next scan runs (and finds nothing new).
    expect(await h.service().scan()).toMatchObject({ ran: true, announced: [] });
  });

  test('many processes racing for the lease at once: never more than one gets it', async () => {
    const { store, cleanup } = await createTestStore();
    cleanups.push(cleanup);
    const clock = new FixedClock();
    for (let round = 0; round < 5; round += 1) {
      const leases = Array.from({ length: 4 }, (_, i) =>
        createLease({ store, name: `job-${round}`, holder: `process-${i}`, ttlMs: MINUTE, clock }),
      );
      const won = await Promise.all(leases.map((l) => l.acquire()));
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(leases.filter((l) => l.held())).toHaveLength(1);
    }
  });
});

describe('the lease', () => {
  test('renewed by its holder, refused to others until it expires, then taken over; given back, it is free', async () => {
    const { store, cleanup } = await createTestStore();
    cleanups.push(cleanup);
    const clock = new FixedClock();
    const a = createLease({ store, name: 'expiry-scan', holder: 'a', ttlMs: 10 * MINUTE, clock });
    const b = createLease({ store, name: 'expiry-scan', holder: 'b', ttlMs: 10 * MINUTE, clock });

    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    clock.advance(9 * MINUTE);
    expect(await a.acquire()).toBe(true); // renewed: another 10 minutes from now
    clock.advance(9 * MINUTE);
    expect(await b.acquire()).toBe(false);
    expect(a.held()).toBe(true);

    clock.advance(2 * MINUTE); // a's time is up (a process that died)
    expect(a.held()).toBe(false);
    expect(await b.acquire()).toBe(true);
    expect(await a.acquire()).toBe(false);
    await a.release(); // not a's to give back: b keeps it
    expect((await store.leases.get('lease', 'expiry-scan'))?.value.holder).toBe('b');

    await b.release();
    expect(b.held()).toBe(false);
    expect(await store.leases.get('lease', 'expiry-scan')).toBeUndefined();
    expect(await a.acquire()).toBe(true);
  });
});

/**
 * The demo tenant and `count` more applications with a secret each, after the demo's in paging order; `dueInDays`
 * gives some of them a secret that expires that many days after the seed (the others expire in a year).
 */
function withFillers(count: number, dueInDays: (i: number) => number | undefined = () => undefined): TenantData {
  const data = structuredClone(demo.data);
  for (let i = 0; i < count; i += 1) {
    const id = newObjectId();
    const keyId = newObjectId();
    const days = dueInDays(i) ?? 365;
    const app: ApplicationRecord = {
      data: {
        id,
        appId: newObjectId(),
        displayName: `filler-${i}`,
        tags: [],
        passwordCredentials: [
          {
            customKeyIdentifier: null,
            displayName: 'ci',
            endDateTime: new Date(seededAt.getTime() + days * DAY).toISOString(),
            hint: 'fil',
            keyId,
            secretText: null,
          },
        ],
        keyCredentials: [],
      },
      visibleFrom: 0,
      sequence: 1,
      owners: [],
      secretHashes: {},
      certificates: {},
      credentialsUsableFrom: {},
    };
    data.applications[id] = app;
  }
  return data;
}
