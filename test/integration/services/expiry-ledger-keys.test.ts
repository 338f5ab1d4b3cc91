/**
 * The reminder ledger names a credential by its application and its keyId (issue 11, item 6). A keyCredential's
 * keyId is chosen by whoever adds it (Graph takes it from the PATCH body), so the owner of one app can give a
 * certificate of theirs the keyId of another app's secret; that must not mark the other app's secret as announced.
 * The real pieces: the local tenant's demo apps over HTTPS, GraphCredentialSource, a TableStore in Azurite.
 */
import { GraphCaller } from '../../../src/adapters/graph/graph-caller';
import { GraphCredentialSource } from '../../../src/adapters/graph/graph-credential-source';
import { defaultReminderDays, type ExpiringCredential } from '../../../src/domain/expiry';
import { createLogger } from '../../../src/lib/logger';
import { allRoutes } from '../../../src/local/tenant/routes/index';
import { demoApplicationIds, demoTenant } from '../../../src/local/tenant/seed';
import { selfSignedCertificate } from '../../../src/local/tenant/self-signed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { createExpiryService, type ExpiryService } from '../../../src/services/expiry-service';
import type { LedgerEntry } from '../../../src/services/ports';
import { FixedClock } from '../../helpers/fakes';
import { LogCapture } from '../../helpers/logs';
import { createTestStore, type TestStore } from '../../helpers/storage';
import { registrarConnection, startTestTenant } from '../../helpers/tenant';

jest.setTimeout(60_000);

const DAY = 86_400_000;
const MINUTE = 60_000;
const seededAt = new Date('2026-03-02T09:00:00.000Z');
const demo = demoTenant(seededAt);
const HR_PORTAL = demoApplicationIds(1).id;
const EXPENSE = demoApplicationIds(3).id;
const LEGACY = demoApplicationIds(4).id;

const label = (c: ExpiringCredential) => `${c.appName}/${c.kind}@${c.threshold}`;
const labels = (list: readonly ExpiringCredential[]) => list.map(label).sort();

interface Harness {
  tenant: RunningTenant;
  testStore: TestStore;
  clock: FixedClock;
  service(): ExpiryService;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function start(): Promise<Harness> {
  const tenant = await startTestTenant({ data: structuredClone(demo.data), routes: allRoutes });
  const testStore = await createTestStore();
  cleanups.push(async () => {
    await tenant.stop();
    await testStore.cleanup();
  });
  const logger = createLogger({ level: 'debug', destination: new LogCapture() });
  const clock = new FixedClock(new Date(seededAt.getTime() + MINUTE).toISOString());
  const source = new GraphCredentialSource({
    graph: new GraphCaller({
      connection: registrarConnection(tenant),
      baseDelayMs: 20,
      maxDelayMs: 200,
      stepTimeoutMs: 20_000,
    }),
    logger,
  });
  return {
    tenant,
    testStore,
    clock,
    service: () =>
      createExpiryService({
        store: testStore.store,
        source,
        clock,
        logger,
        reminderDays: defaultReminderDays,
        scope: 'all',
        holder: 'test-host',
        announce: async () => undefined,
      }),
  };
}

function secretKeyIdOf(tenant: RunningTenant, applicationObjectId: string): string {
  const app = tenant.state().data.applications[applicationObjectId]!;
  return (app.data.passwordCredentials as Array<{ keyId: string }>)[0]!.keyId;
}

describe('a credential in the reminder ledger is its application and its keyId', () => {
  test("when another app's owner adds an expired certificate with the keyId of Expense Bot's secret, then that secret is still announced at each of its own thresholds", async () => {
    const h = await start();
    const first = await h.service().scan();
    expect(labels(first.announced)).toContain('Expense Bot/secret@7');
    const expenseKeyId = secretKeyIdOf(h.tenant, EXPENSE);

    // Contoso HR Portal's owner uploads a certificate that expired yesterday, with a keyId of their choosing, through
    // Graph's PATCH /applications (here over HTTPS to the local tenant, as Graph would take it from an owner).
    const decoy = selfSignedCertificate(
      'decoy',
      new Date(seededAt.getTime() - 30 * DAY),
      new Date(seededAt.getTime() - DAY),
      'ec',
    );
    await registrarConnection(h.tenant)
      .client.api(`/applications/${HR_PORTAL}`)
      .patch({
        keyCredentials: [
          { type: 'AsymmetricX509Cert', usage: 'Verify', key: decoy.der, keyId: expenseKeyId, displayName: 'CN=decoy' },
        ],
      });
    const hrKeys = h.tenant.state().data.applications[HR_PORTAL]!.data.keyCredentials as Array<{ keyId: string }>;
    expect(hrKeys.map((k) => k.keyId)).toEqual([expenseKeyId]);

    const second = await h.service().scan();
    expect(labels(second.announced)).toEqual(['Contoso HR Portal/certificate@0']);

    // Expense Bot's secret now has half a day left, past its 1-day threshold (as the demo's SAML certificate);
    // Legacy CRM's two have expired.
    h.clock.advance(6.5 * DAY);
    const third = await h.service().scan();
    expect(labels(third.announced)).toEqual([
      'Contoso Travel (SAML)/certificate@1',
      'Expense Bot/secret@1',
      'Legacy CRM Connector/certificate@0',
      'Legacy CRM Connector/secret@0',
    ]);
    expect(third.announced.find((c) => c.appName === 'Expense Bot')).toMatchObject({
      applicationObjectId: EXPENSE,
      keyId: expenseKeyId,
      kind: 'secret',
    });

    h.clock.advance(DAY);
    expect(labels((await h.service().scan()).announced)).toEqual([
      'Contoso Travel (SAML)/certificate@0',
      'Expense Bot/secret@0',
    ]);
    expect((await h.service().scan()).announced).toEqual([]);
  });

  test('when the store holds rows of the earlier format (keyId:threshold), then those recorded for the same application still count and those recorded for another application silence nothing', async () => {
    const h = await start();
    const earlierRow = (applicationObjectId: string, keyId: string, threshold: number) => {
      const value: LedgerEntry = {
        keyId,
        threshold,
        applicationObjectId,
        state: 'posted',
        scanId: 'earlier',
        at: seededAt.toISOString(),
      };
      return h.testStore.store.ledger.create('ledger', `${keyId.toLowerCase()}:${threshold}`, value);
    };
    // Expense Bot's secret, announced at 7 days before the upgrade (with the thresholds it covered).
    const expenseKeyId = secretKeyIdOf(h.tenant, EXPENSE);
    for (const t of [60, 30, 14, 7]) await earlierRow(EXPENSE, expenseKeyId, t);
    // Rows with Legacy CRM's secret's keyId, written for a certificate of Contoso HR Portal that carried the same keyId.
    const legacyKeyId = secretKeyIdOf(h.tenant, LEGACY);
    for (const t of [60, 30, 14, 7, 1, 0]) await earlierRow(HR_PORTAL, legacyKeyId, t);

    const scan = await h.service().scan();
    const announced = labels(scan.announced);
    expect(announced).not.toContain('Expense Bot/secret@7');
    expect(announced).toContain('Legacy CRM Connector/secret@1');
    expect(announced).toEqual(
      [
        'Contoso Travel (SAML)/certificate@7',
        'Contoso HR Portal/secret@60',
        'Payroll Sync/certificate@30',
        'Legacy CRM Connector/secret@1',
        'Legacy CRM Connector/certificate@1',
        'Old Reporting Job/secret@0',
        'Old Reporting Job/certificate@0',
      ].sort(),
    );
  });
});
