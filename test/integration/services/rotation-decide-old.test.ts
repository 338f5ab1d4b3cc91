/**
 * Remove and Keep on a rotation's cleanup card, at once (issue 11): the old secret leaves Entra ID only after a
 * Remove decision has committed, so whichever answer commits first is what the card, the audit trail and Entra ID
 * all say. The race is made deterministic: Graph's removePassword waits for the test to let it go.
 */
import { createRotationService, type RotationService } from '../../../src/services/rotation-service';
import { createRecord, loadRequest, moveRequest, toRequest } from '../../../src/services/request-records';
import { createRotation, registrarActor, type AppRequest } from '../../../src/domain/request';
import { createLogger } from '../../../src/lib/logger';
import type { AppPrivileges, CredentialSource, Provisioner } from '../../../src/services/ports';
import type { Config } from '../../../src/config';
import { createTestStore, type TestStore } from '../../helpers/storage';
import { FixedClock, deterministicRandom } from '../../helpers/fakes';

const owner = { id: 'owner-teams-id', name: 'Alex Wilber', aadObjectId: 'a1e5c0de-0000-4000-8000-000000000011' };
const app = {
  applicationObjectId: 'a1e5c0de-0000-4000-8000-000000000103',
  appId: 'a1e5c0de-0000-4000-9000-000000000203',
  appName: 'Expense Bot',
};
const oldKeyId = 'b1e5c0de-0000-4000-9000-000000000001';

const policy = {
  secretMaxDays: 730,
  secretDefaultDays: 180,
  openRequestsPerUser: 10,
  rotationNeedsApproval: 'privileged',
} as Config['policy'];

/** Expense Bot's secrets in "Entra ID", and a removePassword that waits until the test releases it. */
class GatedGraph {
  keys = new Set([oldKeyId, 'new-key']);
  removals = 0;
  private release: (() => void) | undefined;
  private entered: (() => void) | undefined;
  readonly inside = new Promise<void>((resolve) => (this.entered = resolve));
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));
  open(): void {
    this.release!();
  }
  readonly provisioner: Pick<Provisioner, 'removePassword'> = {
    removePassword: async (_objectId, keyId) => {
      this.removals += 1;
      this.entered!();
      await this.gate;
      this.keys.delete(keyId);
    },
  };
  readonly source: CredentialSource = {
    // eslint-disable-next-line require-yield -- not used here
    async *pages() {
      throw new Error('not used');
    },
    ownersOf: async () => [owner.aadObjectId],
    ownersOfEach: async () => {
      throw new Error('not used');
    },
    findApplication: async () => undefined,
    privilegesOf: async (): Promise<AppPrivileges> => ({ applicationPermissions: [], directoryRoles: [] }),
  };
}

describe('removing or keeping the old secret of a rotation', () => {
  let testStore: TestStore;
  let graph: GatedGraph;
  let rotation: RotationService;
  const clock = new FixedClock('2026-11-23T08:00:00Z');

  beforeEach(async () => {
    testStore = await createTestStore();
    graph = new GatedGraph();
    rotation = createRotationService({
      store: testStore.store,
      source: graph.source,
      provisioner: graph.provisioner,
      clock,
      random: deterministicRandom(),
      policy,
      ownAppIds: [],
      logger: createLogger({ level: 'silent' }),
    });
  });

  afterEach(async () => {
    await testStore.cleanup();
  });

  /** A rotation whose new secret was revealed and stored: the cleanup card is up. */
  async function delivered(): Promise<AppRequest> {
    const { request, audit } = createRotation({
      id: '7K3M9Q2X',
      requester: { aadObjectId: owner.aadObjectId, name: owner.name },
      target: {
        ...app,
        askedAs: 'owner',
        old: { kind: 'secret', keyId: oldKeyId, hint: 'Ex3', endDateTime: '2026-11-30T08:00:00Z' },
      },
      lifetimeDays: 180,
      risk: { level: 'low', items: [], notes: [] },
      approvalsRequired: 1,
      pendingTtlDays: 7,
      now: clock.now(),
    });
    await createRecord(testStore.store, request, audit);
    const now = () => clock.now();
    await moveRequest(testStore.store, request.id, { type: 'startProvisioning' }, registrarActor, now);
    await moveRequest(testStore.store, request.id, { type: 'succeed' }, registrarActor, now);
    const delivery = {
      kind: 'secret' as const,
      keyId: 'new-key',
      hint: 'Nw1',
      endDateTime: '2027-05-22T08:00:00Z',
      revealedAt: clock.now().toISOString(),
    };
    return (await moveRequest(testStore.store, request.id, { type: 'deliver', delivery }, owner, now)).request;
  }

  async function stored(id: string): Promise<AppRequest> {
    return toRequest((await loadRequest(testStore.store, id)).value);
  }

  test('when Keep arrives while Remove is talking to Entra ID, then Remove has already committed: Keep changes nothing and the secret is gone, as the audit says', async () => {
    const request = await delivered();

    const removing = rotation.decideOld(owner, request.id, true);
    await graph.inside;
    const kept = await rotation.decideOld(owner, request.id, false);
    graph.open();
    await removing;

    expect(kept.rotation?.oldDecision?.removed).toBe(true);
    expect((await stored(request.id)).rotation?.oldDecision?.removed).toBe(true);
    expect(graph.keys.has(oldKeyId)).toBe(false);
  });

  test('when Keep commits first, then a Remove after it removes nothing, and the card and Entra ID both say kept', async () => {
    const request = await delivered();

    const kept = await rotation.decideOld(owner, request.id, false);
    const removed = await rotation.decideOld(owner, request.id, true);

    expect(kept.rotation?.oldDecision?.removed).toBe(false);
    expect(removed.rotation?.oldDecision?.removed).toBe(false);
    expect(graph.removals).toBe(0);
    expect(graph.keys.has(oldKeyId)).toBe(true);
  });

  test('when Remove and Keep are pressed at once, then there is one decision, and Entra ID matches it', async () => {
    const request = await delivered();
    graph.open();

    const answers = await Promise.allSettled([
      rotation.decideOld(owner, request.id, true),
      rotation.decideOld(owner, request.id, false),
    ]);

    expect(answers.every((a) => a.status === 'fulfilled')).toBe(true);
    const decision = (await stored(request.id)).rotation?.oldDecision;
    expect(decision).toBeDefined();
    expect(graph.keys.has(oldKeyId)).toBe(!decision!.removed);
    for (const answer of answers)
      if (answer.status === 'fulfilled') expect(answer.value.rotation?.oldDecision?.removed).toBe(decision!.removed);
  });
});
