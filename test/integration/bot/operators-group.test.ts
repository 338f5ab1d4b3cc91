/**
 * Operators named by an Entra group (ADMIN_GROUP_ID): the bot asks Microsoft Graph, through the production
 * adapter (@azure/identity + the Graph client), here against the local tenant seeded with the demo tenant.
 */
import { alex, demoTenantId, demoUsers } from '../../../src/local/demo-identities';
import { allRoutes } from '../../../src/local/tenant/routes';
import { demoIds, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import { FakeConnector } from '../../helpers/connector';
import { type TestRegistrar, startRegistrar } from '../../helpers/registrar';
import { registrarEnv, startTestTenant } from '../../helpers/tenant';
import { Teams, cardText, teamChannel } from '../../helpers/teams';

const megan = demoUsers[0]!;

describe('operators from ADMIN_GROUP_ID', () => {
  let tenant: RunningTenant;
  let registrar: TestRegistrar;
  let connector: FakeConnector;
  let teams: Teams;

  beforeEach(async () => {
    const demo = demoTenant();
    tenant = await startTestTenant({ data: demo.data, routes: allRoutes });
    connector = await new FakeConnector().start();
    registrar = await startRegistrar({
      env: {
        ADMIN_GROUP_ID: demoIds.adminsGroup,
        ...registrarEnv(tenant),
      },
    });
    teams = new Teams(registrar.url, connector);
  });

  afterEach(async () => {
    await registrar.stop();
    await connector.stop();
    await tenant.stop();
  });

  test('when a member of the admins group sets the approvals channel, then Graph confirms it and the channel is kept', async () => {
    const channel = teamChannel(demoTenantId);

    await teams.post(teams.message(channel, alex, 'setup approvals', { mentionBot: true }));

    expect((await registrar.container.store.channels.get('channel', 'approvals'))?.value.setBy.aadObjectId).toBe(
      alex.aadObjectId,
    );
    expect(tenant.counters.snapshot()).toMatchObject({ 'POST /directoryObjects/{id}/checkMemberGroups': 1 });
  });

  test('when someone outside the group tries, then Graph says no and they are refused with who can', async () => {
    await teams.post(teams.message(teamChannel(demoTenantId), megan, 'setup approvals', { mentionBot: true }));

    expect(await registrar.container.store.channels.get('channel', 'approvals')).toBeUndefined();
    expect(cardText(connector.cards()[0]!.card)).toContain(demoIds.adminsGroup);
  });

  test('when Graph is unavailable, then the person is told the rights cannot be checked now, and nothing is kept', async () => {
    // Graph asks for a wait longer than a turn may take: the directory's retry policy gives up at once.
    tenant.faults.configure({ unavailable: { rate: 1, count: 50, retryAfterSeconds: 10 } });

    await teams.post(teams.message(teamChannel(demoTenantId), alex, 'setup approvals', { mentionBot: true }));

    expect(await registrar.container.store.channels.get('channel', 'approvals')).toBeUndefined();
    expect(cardText(connector.cards()[0]!.card)).toMatch(/cannot check your rights/i);
  });
});
