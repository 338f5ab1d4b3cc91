/**
 * What the readers of requests read, against the run's Azurite: the sweep (expireDue, redactDue,
 * expireDeliveriesDue), `mine`, `pending`, resume and the cards' catch-up read as many rows of the Requests table
 * with many decided requests in the store as with none. Rows are counted through a Store that counts them (time is
 * for npm run bench).
 */
import { countingStore, decidedRequests, openRequests, readers, seed } from '../../../bench/request-index';
import type { Notifier } from '../../../src/services/ports';
import { createCardService } from '../../../src/services/card-service';
import type { Actor } from '../../../src/domain/conversation';
import { createLogger } from '../../../src/lib/logger';
import { createChannelService } from '../../../src/services/channel-service';
import { createOperatorPolicy } from '../../../src/services/operator-policy';
import type { Store } from '../../../src/services/ports';
import { createApproverPolicy } from '../../../src/services/request-approvers';
import { createTestStore, type TestStore } from '../../helpers/storage';

const rita = 'aaaaaaaa-0000-4000-8000-000000000001';
const omar = 'aaaaaaaa-0000-4000-8000-000000000002';
const alice = 'bbbbbbbb-0000-4000-8000-00000000000a';

const stores: TestStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.cleanup()));
});

async function newStore(): Promise<Store> {
  const testStore = await createTestStore();
  stores.push(testStore);
  return testStore.store;
}

describe('what the readers read', () => {
  const person = rita;
  const approver = alice;
  const others = ['cccccccc-0000-4000-8000-000000000001', 'cccccccc-0000-4000-8000-000000000002', omar];
  const now = new Date('2026-06-01T12:00:00.000Z');

  /** Rows of the Requests table each reader reads, in a store with `decided` decided requests beside the same open ones. */
  async function rowsRead(decided: number, decidedBy: readonly string[] = others): Promise<Record<string, number>> {
    const counting = countingStore(await newStore());
    const { requests, delivery, provisioning, revealTtlMinutes } = readers(counting.store, {
      approverId: approver,
      now,
    });
    await seed(counting.store, [
      ...decidedRequests(decided, { people: decidedBy, firstId: 100_000, now }),
      ...openRequests({ person, others, firstId: 1, now, revealTtlMinutes }),
    ]);
    const actor = (aadObjectId: string): Actor => ({ id: `29:${aadObjectId}`, name: 'x', aadObjectId });
    const read = async (run: () => Promise<unknown>) => {
      counting.reset();
      await run();
      return counting.reads();
    };
    const clock = { now: () => now };
    const messenger: Notifier = {
      post: async (address) => ({ conversationId: address.conversation.id, activityId: 'posted' }),
      update: async () => undefined,
      teamMembers: async () => [],
    };
    const notifier = createCardService({
      store: counting.store,
      notifier: messenger,
      channels: createChannelService({
        store: counting.store,
        operators: createOperatorPolicy({ ids: [] }, undefined),
        clock,
      }),
      approvers: createApproverPolicy({ ids: [approver] }, undefined),
      clock,
      logger: createLogger({ level: 'silent' }),
      delivery,
      deliveryTtlDays: 7,
    });
    const counts = {
      expireDue: await read(() => requests.expireDue(now)),
      redactDue: await read(() => delivery.redactDue(now)),
      expireDeliveriesDue: await read(() => delivery.expireDeliveriesDue(now)),
      mine: await read(() => requests.mine(actor(person))),
      pending: await read(() => requests.pending(actor(approver))),
      catchUp: await read(async () => {
        await notifier.catchUp();
        await notifier.idle();
      }),
      resume: await read(() => provisioning.resumeUnfinished()),
    };
    // The runs resume started fail at once (the bench's provisioner has no Graph); they must end before the store does.
    await provisioning.stop();
    return counts;
  }

  test('when 400 decided requests are added to the store, then the sweep, mine, pending, catch-up and resume read exactly as many rows as before', async () => {
    const few = await rowsRead(0);
    const many = await rowsRead(400);

    expect(many).toEqual(few);
    // And they do read what they need: the due requests, the person's, the waiting ones, those without a card, the unfinished ones.
    expect(few.expireDue).toBeGreaterThan(0);
    expect(few.redactDue).toBeGreaterThan(0);
    expect(few.expireDeliveriesDue).toBeGreaterThan(0);
    expect(few.mine).toBeGreaterThan(0);
    expect(few.pending).toBeGreaterThan(0);
    expect(few.catchUp).toBeGreaterThan(0);
    expect(few.resume).toBeGreaterThan(0);
  });

  test('when the person has hundreds of decided requests of their own, then mine reads their newest 100 and no more, however many there are', async () => {
    const some = await rowsRead(150, [person]);
    const more = await rowsRead(300, [person]);

    // 100 index rows and the 100 requests they point to.
    expect(some.mine).toBe(200);
    expect(more).toEqual(some);
  });
});
