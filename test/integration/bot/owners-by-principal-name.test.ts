/**
 * Additional owners where the client runs no type-ahead (the Agents Playground): the form asks for user principal
 * names in a text box instead of Teams' people picker, and Submit looks them up in the Teams tenant through Microsoft
 * Graph. Driven through the bot with activities from a connector that is not Teams' own, against the local tenant
 * and Azurite: the stored request and the tenant are the judges.
 */
import { uniqueNameFor } from '../../../src/domain/app-spec';
import { alex, demoTenantId } from '../../../src/local/demo-identities';
import { Verb } from '../../../src/cards/verbs';
import { cardInputs } from '../../helpers/cards';
import { Runbook, adele, megan, permissionChoice } from '../../helpers/runbook';
import { cardText, personalChat } from '../../helpers/teams';

jest.setTimeout(120_000);

describe('additional owners by user principal name', () => {
  const runbook = new Runbook();
  beforeEach(() => runbook.start());
  afterEach(() => runbook.stop());

  const fields = (owners: string) => ({
    name: 'Payroll export',
    purpose: 'Nightly export of payroll data to the finance warehouse.',
    audience: 'AzureADMyOrg',
    platform: 'none',
    permissions: permissionChoice('User.Read.All', 'Role'),
    credential: 'secret',
    secretDays: '30',
    owners,
  });
  /** Graph calls that change something: a refused form makes none. */
  const writes = () => Object.keys(runbook.tenant.counters.snapshot()).filter((call) => !call.startsWith('GET'));

  test('when the form is opened outside Teams, then additional owners are a text box for user principal names, and in Teams the people picker', async () => {
    const { card, requestId } = await runbook.openForm();
    expect(cardInputs(card).get('owners')).toMatchObject({ type: 'Input.Text' });
    expect(JSON.stringify(card)).not.toContain('Data.Query');
    expect(cardText(card)).toContain('their user principal name');

    const inTeams = await runbook.teams.invoke({
      ...runbook.teams.cardAction(
        personalChat(alex, demoTenantId),
        alex,
        Verb.requestFind,
        { requestId, permissionFilter: '' },
        `form-${requestId}`,
      ),
      serviceUrl: 'https://smba.trafficmanager.net/teams/',
    });
    expect(inTeams.status).toBe(200);
    expect(cardInputs(inTeams.card).get('owners')).toMatchObject({ type: 'Input.ChoiceSet' });
    expect(JSON.stringify(inTeams.card)).toContain('graph.microsoft.com/users');
  });

  test('when Megan is named by her user principal name, then the request keeps her object id from the directory and provisioning makes her an owner; an unknown name is refused first, with the typed names kept and nothing written', async () => {
    const { requestId } = await runbook.openForm();

    // Find gives back what was typed.
    const typed = `${megan.userPrincipalName}, nobody@contoso.onmicrosoft.com`;
    const found = await runbook.teams.invoke(
      runbook.teams.cardAction(
        personalChat(alex, demoTenantId),
        alex,
        Verb.requestFind,
        { requestId, ...fields(typed), permissionFilter: 'Mail.Send' },
        `form-${requestId}`,
      ),
    );
    expect(cardInputs(found.card).get('owners')?.value).toBe(typed);

    // A name no user of the tenant has: refused by the field, the names kept, nothing stored or written.
    const refused = await runbook.submit(requestId, fields(typed));
    expect(refused.status).toBe(200);
    expect(cardText(refused.card)).toContain('nobody@contoso.onmicrosoft.com is not a user of this tenant.');
    const body = JSON.stringify(refused.card);
    const message = body.indexOf('nobody@contoso.onmicrosoft.com is not a user of this tenant.');
    expect(message).toBeGreaterThan(body.indexOf('"id":"owners"'));
    expect(message).toBeLessThan(body.indexOf('"id":"directoryRole"'));
    expect(cardInputs(refused.card).get('owners')?.value).toBe(typed);
    expect(await runbook.registrar.container.store.requests.get('request', requestId)).toBeUndefined();
    expect(writes()).toEqual([]);

    // Her name as she might type it: Entra ID compares user principal names without regard to case.
    const submitted = await runbook.submit(requestId, fields(megan.userPrincipalName.toUpperCase()));
    expect(submitted.status).toBe(200);
    const stored = await runbook.stored(requestId);
    expect(stored.form.additionalOwnerIds).toEqual([megan.aadObjectId]);
    expect(JSON.stringify(stored.form)).not.toContain(megan.userPrincipalName);
    expect(stored.ownerDetails).toEqual([
      { id: megan.aadObjectId, displayName: megan.name, userPrincipalName: megan.userPrincipalName },
    ]);

    await runbook.approve(requestId);
    const done = await runbook.provisioned(requestId);
    const app = Object.values(runbook.data().applications).find((a) => a.data.uniqueName === uniqueNameFor(requestId))!;
    expect(app.owners).toEqual(expect.arrayContaining([alex.aadObjectId, megan.aadObjectId]));
    const sp = Object.values(runbook.data().servicePrincipals).find((s) => s.data.id === done.servicePrincipal.id)!;
    expect(sp.owners).toEqual(expect.arrayContaining([megan.aadObjectId]));
  });

  test("when owners are named both by user principal name and by id, then each person is one owner, the picker's ids first", async () => {
    const { requestId } = await runbook.openForm();
    const submitted = await runbook.submit(
      requestId,
      fields(`${adele.userPrincipalName}, ${megan.aadObjectId}; ${megan.userPrincipalName}`),
    );
    expect(submitted.status).toBe(200);
    const stored = await runbook.stored(requestId);
    expect(stored.form.additionalOwnerIds).toEqual([megan.aadObjectId, adele.aadObjectId]);
  });
});
