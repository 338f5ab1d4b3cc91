import { RegistrarError } from '../../../src/domain/errors';
import { createApproverPolicy } from '../../../src/services/request-approvers';
import { FakeDirectory } from '../../helpers/fakes';

const groupId = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const listed = '11111111-1111-4111-8111-111111111111';
const member = '22222222-2222-4222-8222-222222222222';
const outsider = '33333333-3333-4333-8333-333333333333';

describe('approver policy', () => {
  test('when a person is listed in APPROVER_IDS, then they approve without asking the directory', async () => {
    const directory = new FakeDirectory({});
    const policy = createApproverPolicy({ ids: [listed.toUpperCase()], groupId }, directory);

    expect(await policy.isApprover({ aadObjectId: listed })).toBe(true);
    expect(directory.calls).toBe(0);
  });

  test('when a person is in the approvers group, then they approve; others and people without an Entra id do not', async () => {
    const policy = createApproverPolicy({ ids: [], groupId }, new FakeDirectory({ [groupId]: [member] }));

    expect(await policy.isApprover({ aadObjectId: member })).toBe(true);
    expect(await policy.isApprover({ aadObjectId: outsider })).toBe(false);
    expect(await policy.isApprover({})).toBe(false);
    expect(policy.describe()).toContain(groupId);
  });

  test('when a group is configured without a directory, then building the policy fails naming the setting', () => {
    expect(() => createApproverPolicy({ ids: [], groupId }, undefined)).toThrow(RegistrarError);
  });

  test('when the directory fails, then the check is unavailable, not a refusal', async () => {
    const directory = new FakeDirectory({});
    directory.isMemberOfAnyGroup = async () => {
      throw new Error('503');
    };
    const policy = createApproverPolicy({ ids: [], groupId }, directory);

    await expect(policy.isApprover({ aadObjectId: member })).rejects.toMatchObject({ code: 'unavailable' });
  });
});
