/**
 * GraphDirectory against the local tenant, through the GraphCaller as container.ts builds it for a turn (a few
 * seconds of retries): group membership by checkMemberGroups, people by `id in (...)`, and the retry policy
 * between them and Graph's refusals.
 */
import { GraphCaller } from '../../../src/adapters/graph/graph-caller';
import { GraphDirectory } from '../../../src/adapters/graph/graph-directory';
import { RegistrarError } from '../../../src/domain/errors';
import { createLogger } from '../../../src/lib/logger';
import { alex, demoUsers } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes/index';
import { demoIds, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { LogCapture } from '../../helpers/logs';
import { registrarConnection, startTestTenant } from '../../helpers/tenant';

const megan = demoUsers[0]!;
const CHECK = 'POST /directoryObjects/{id}/checkMemberGroups';

describe('GraphDirectory against the local tenant', () => {
  let tenant: RunningTenant;
  let directory: GraphDirectory;
  let logs: LogCapture;

  beforeEach(async () => {
    tenant = await startTestTenant({ data: structuredClone(demoTenant().data), routes: allRoutes });
    logs = new LogCapture();
    const graph = new GraphCaller({
      connection: registrarConnection(tenant),
      baseDelayMs: 50,
      maxDelayMs: 200,
      stepTimeoutMs: 3000,
    });
    directory = new GraphDirectory({ graph, logger: createLogger({ level: 'debug', destination: logs }) });
  });

  afterEach(async () => {
    await tenant.stop();
  });

  test('when a member and a non-member of a group are checked, then Graph answers true and false, one call each', async () => {
    tenant.counters.reset();

    expect(await directory.isMemberOfAnyGroup(alex.aadObjectId, [demoIds.adminsGroup])).toBe(true);
    expect(await directory.isMemberOfAnyGroup(megan.aadObjectId, [demoIds.adminsGroup])).toBe(false);

    expect(tenant.counters.snapshot()[CHECK]).toBe(2);
  });

  test('when the user is unknown to the directory, then they are in no group (a 404 is not retried)', async () => {
    tenant.counters.reset();

    expect(await directory.isMemberOfAnyGroup('0badf00d-0000-4000-8000-000000000000', [demoIds.adminsGroup])).toBe(
      false,
    );

    expect(tenant.counters.snapshot()[CHECK]).toBe(1);
  });

  test('when Graph answers 503 twice, then the check is retried within its deadline and answers', async () => {
    tenant.faults.configure({ unavailable: { rate: 1, count: 2, retryAfterSeconds: 0 } });

    expect(await directory.isMemberOfAnyGroup(alex.aadObjectId, [demoIds.adminsGroup])).toBe(true);

    expect(logs.find('graph call retried').map((e) => e.status)).toEqual([503, 503]);
  });

  test('when Graph asks for a wait longer than the deadline, then the check fails at once as unavailable', async () => {
    tenant.faults.configure({ unavailable: { rate: 1, count: 50, retryAfterSeconds: 10 } });
    tenant.counters.reset();

    const failure = await directory
      .isMemberOfAnyGroup(alex.aadObjectId, [demoIds.adminsGroup])
      .catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(RegistrarError);
    expect((failure as RegistrarError).code).toBe('unavailable');
    expect(logs.find('graph call failed')).toHaveLength(1);
  });

  test('when people are looked up by id, then users come back with their names and anything else is left out', async () => {
    const found = await directory.users([alex.aadObjectId.toUpperCase(), demoIds.adminsGroup, 'not-a-guid']);
    const names = await directory.displayNames([alex.aadObjectId, megan.aadObjectId]);

    expect(found.map((u) => u.id)).toEqual([alex.aadObjectId.toLowerCase()]);
    expect(found[0]!.userPrincipalName).not.toBe('');
    expect(Object.keys(names).sort()).toEqual(
      [alex.aadObjectId, megan.aadObjectId].map((id) => id.toLowerCase()).sort(),
    );
  });

  test('when groups are looked up for reminder rules, then a name finds its group, an id finds it too, and an unknown name none', async () => {
    expect(await directory.findGroups('Registrar approvers')).toEqual([
      { id: demoIds.approversGroup, displayName: 'Registrar approvers' },
    ]);
    expect(await directory.findGroups(demoIds.adminsGroup.toUpperCase())).toEqual([
      { id: demoIds.adminsGroup, displayName: 'Registrar admins' },
    ]);
    expect(await directory.findGroups("Nobody's group")).toEqual([]);
  });

  test('when the groups of a user are asked among more than 20, then nested membership counts and the calls are batched by 20', async () => {
    const others = Array.from({ length: 25 }, (_, i) => `0badf00d-0000-4000-8000-${String(i).padStart(12, '0')}`);
    tenant.counters.reset();

    const reviewer = demoUsers[2]!.aadObjectId;
    const groups = await directory.memberGroupsOf(reviewer, [...others, demoIds.approversGroup, demoIds.adminsGroup]);

    // A member of the security reviewers, which is a member of the approvers; not an admin.
    expect(groups).toEqual([demoIds.approversGroup]);
    expect(tenant.counters.snapshot()[CHECK]).toBe(2);
  });
});
