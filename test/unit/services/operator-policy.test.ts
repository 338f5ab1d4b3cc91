import type { Actor } from '../../../src/domain/conversation';
import { RegistrarError } from '../../../src/domain/errors';
import { createOperatorPolicy } from '../../../src/services/operator-policy';
import type { Directory } from '../../../src/services/ports';

const groupId = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const listed = '11111111-1111-4111-8111-111111111111';
const member = '22222222-2222-4222-8222-222222222222';
const outsider = '33333333-3333-4333-8333-333333333333';

/** A directory with one group and its (transitive) members; it can be made to fail like Graph does. */
class FakeDirectory implements Directory {
  calls = 0;
  failing = false;
  constructor(private readonly members: Record<string, readonly string[]>) {}
  async isMemberOfAnyGroup(user: string, groups: readonly string[]): Promise<boolean> {
    this.calls += 1;
    if (this.failing) throw new Error('503 Service Unavailable');
    return groups.some((g) => this.members[g]?.includes(user));
  }
}

const actor = (aadObjectId?: string): Actor => ({ id: '29:x', name: 'Someone', aadObjectId });

describe('operator policy', () => {
  test('when a person is listed in ADMIN_IDS, then they are an operator without asking the directory', async () => {
    const directory = new FakeDirectory({});
    const policy = createOperatorPolicy({ ids: [listed.toUpperCase()], groupId }, directory);

    expect(await policy.isOperator(actor(listed))).toBe(true);
    expect(directory.calls).toBe(0);
  });

  test('when a person is in the operators group, then they are an operator; others are not', async () => {
    const policy = createOperatorPolicy({ ids: [], groupId }, new FakeDirectory({ [groupId]: [member] }));

    expect(await policy.isOperator(actor(member))).toBe(true);
    expect(await policy.isOperator(actor(outsider))).toBe(false);
  });

  test('when the activity has no Entra object id, then the person is not an operator', async () => {
    const policy = createOperatorPolicy({ ids: [listed], groupId }, new FakeDirectory({ [groupId]: [member] }));

    expect(await policy.isOperator(actor(undefined))).toBe(false);
  });

  test('when the directory fails, then the check fails with a message a person can act on, not a silent "no"', async () => {
    const directory = new FakeDirectory({ [groupId]: [member] });
    directory.failing = true;
    const policy = createOperatorPolicy({ ids: [], groupId }, directory);

    await expect(policy.isOperator(actor(member))).rejects.toThrow(RegistrarError);
    await expect(policy.isOperator(actor(member))).rejects.toMatchObject({ code: 'unavailable' });
  });

  test('when a group is configured without a directory, then building the policy fails and says what to set', () => {
    expect(() => createOperatorPolicy({ ids: [], groupId }, undefined)).toThrow(/AZURE_CLIENT_ID/);
  });

  test('when a refusal says who the operators are, then it names the setting and the group', () => {
    const policy = createOperatorPolicy({ ids: [listed], groupId }, new FakeDirectory({}));

    expect(policy.describe()).toContain('ADMIN_IDS');
    expect(policy.describe()).toContain(groupId);
  });
});
