/**
 * Runbook 4, the Mail.Send daemon: client credentials (no platform, no redirect URI), the Mail.Send application
 * permission, a client secret of at most 24 months, a token test, then restricting which mailboxes it may send as.
 * RBAC for Applications in Exchange Online restricts only an app whose tenant-wide Graph grant was not made
 * (https://learn.microsoft.com/exchange/permissions-exo/application-rbac): with the option, Registrar declares
 * Mail.Send and grants it to no mailbox, and the cards carry the Exchange commands with this app's ids; without it,
 * the grant is tenant-wide and the delivery card says how it could be scoped.
 */
import { MICROSOFT_GRAPH_APP_ID } from '../../../src/domain/app-spec';
import { scopedInExchange } from '../../../src/domain/exchange-rbac';
import { toAppSpec } from '../../../src/domain/request';
import { cardInputs } from '../../helpers/cards';
import { Runbook, permissionChoice, permissionId } from '../../helpers/runbook';
import { cardText } from '../../helpers/teams';

jest.setTimeout(120_000);

const dayMs = 24 * 60 * 60 * 1000;

describe('runbook: Mail.Send daemon', () => {
  const runbook = new Runbook();
  beforeEach(() => runbook.start());
  afterEach(() => runbook.stop());

  const mailSend = () => permissionId('Mail.Send', 'Role');
  const fields = (extra: Record<string, string> = {}) => ({
    name: 'Payroll mailer',
    purpose: 'Sends payslips from the payroll mailbox every month, with no one signed in.',
    audience: 'AzureADMyOrg',
    platform: 'none',
    redirectUris: '',
    permissions: permissionChoice('Mail.Send', 'Role'),
    credential: 'secret',
    secretDays: '730',
    ...extra,
  });

  test('when Mail.Send is scoped with Exchange RBAC for Applications, then it is declared, granted to no mailbox, the cards carry the Exchange commands with the real ids, and the 24-month secret gets a token', async () => {
    const { requestId, card: form } = await runbook.openForm();
    expect([...cardInputs(form).keys()]).toEqual(expect.arrayContaining(['exchangeRbac', 'exchangeMailboxes']));

    // Longer than 24 months: refused on the form with the values kept, and nothing written to Graph.
    const tooLong = await runbook.submit(
      requestId,
      fields({ secretDays: '731', exchangeRbac: 'true', exchangeMailboxes: 'payroll@contoso.com' }),
    );
    expect(cardText(tooLong.card)).toContain('A client secret may live at most 730 days here');
    expect(cardInputs(tooLong.card).get('secretDays')?.value).toBe('731');
    expect(cardInputs(tooLong.card).get('exchangeMailboxes')?.value).toBe('payroll@contoso.com');
    expect(await runbook.registrar.container.store.requests.get('request', requestId)).toBeUndefined();
    expect(Object.keys(runbook.tenant.counters.snapshot()).filter((k) => !k.startsWith('GET'))).toEqual([]);

    const submitted = await runbook.submit(
      requestId,
      fields({ exchangeRbac: 'true', exchangeMailboxes: 'Payroll@Contoso.com' }),
    );
    expect(submitted.status).toBe(200);
    const stored = await runbook.stored(requestId);
    expect(stored.form.exchangeRbac).toEqual({ mailboxes: ['payroll@contoso.com'] });
    // Not tenant-wide, so not high: one approval is enough.
    expect(stored.risk.level).toBe('medium');
    expect(stored.approvalsRequired).toBe(1);

    const { approvalCard, approvers } = await runbook.approve(requestId);
    expect(approvers).toBe(1);
    const approvalText = cardText(approvalCard);
    expect(approvalText).toContain('Mail.Send: declared without tenant-wide consent; Registrar grants no mailbox.');
    expect(approvalText).toContain(
      `New-ManagementScope -Name "registrar-${requestId}" -RecipientRestrictionFilter "PrimarySmtpAddress -eq 'payroll@contoso.com'"`,
    );
    expect(approvalText).toContain('Application access policies (New-ApplicationAccessPolicy) are the legacy way');

    const done = await runbook.provisioned(requestId);
    const appId = String(done.app.appId);
    const spId = String(done.servicePrincipal.id);
    expect(done.app).toMatchObject({
      displayName: 'Payroll mailer',
      signInAudience: 'AzureADMyOrg',
      web: expect.objectContaining({ redirectUris: [] }),
      spa: expect.objectContaining({ redirectUris: [] }),
      publicClient: expect.objectContaining({ redirectUris: [] }),
      requiredResourceAccess: [
        { resourceAppId: MICROSOFT_GRAPH_APP_ID, resourceAccess: [{ id: mailSend(), type: 'Role' }] },
      ],
    });
    expect(done.assignments).toEqual([]);
    expect(done.grants).toEqual([]);
    expect(done.request.provisioning.consent).toMatchObject({ appRoleAssignmentIds: [], oauth2PermissionGrantIds: [] });

    const delivery = cardText(done.deliveryCard);
    expect(delivery).toContain('Next step: scope the app in Exchange Online');
    for (const command of [
      'Connect-ExchangeOnline',
      `New-ServicePrincipal -AppId ${appId} -ObjectId ${spId} -DisplayName 'Payroll mailer'`,
      `New-ManagementScope -Name "registrar-${requestId}" -RecipientRestrictionFilter "PrimarySmtpAddress -eq 'payroll@contoso.com'"`,
      `New-ManagementRoleAssignment -App ${appId} -Role "Application Mail.Send" -CustomResourceScope "registrar-${requestId}"`,
      `Test-ServicePrincipalAuthorization -Identity ${appId} -Resource payroll@contoso.com | Format-Table`,
    ])
      expect(delivery.split('\n')).toContain(command);

    // A re-run of the consent step (a retry, a restart) grants it no more than the first did.
    const spec = toAppSpec(done.request);
    await runbook.registrar.container.provisioner.grantApplicationPermissions(
      spId,
      spec.permissions,
      { requestId },
      scopedInExchange(spec.permissions, spec.exchangeRbac),
    );
    expect(
      Object.values(runbook.tenant.state().data.appRoleAssignments).filter((a) => a.data.principalId === spId),
    ).toEqual([]);

    const { secret, credential } = await runbook.reveal(done);
    const lifetime = Date.parse(String(credential.endDateTime)) - Date.parse(String(credential.startDateTime));
    expect(Math.round(lifetime / dayMs)).toBe(730);
    // The secret works; the token holds no Mail.Send role: Exchange, not Entra ID, decides its mailboxes.
    const { claims } = await runbook.token(appId, secret);
    expect(claims).toMatchObject({ appid: appId, tid: runbook.tenant.tenantId, roles: [] });
  });

  test('when Mail.Send is granted tenant-wide, then the app role assignment exists, the token holds Mail.Send, and the delivery card explains how it could be scoped', async () => {
    const { requestId } = await runbook.openForm();
    const submitted = await runbook.submit(requestId, fields());
    expect(submitted.status).toBe(200);
    const stored = await runbook.stored(requestId);
    expect(stored.form).not.toHaveProperty('exchangeRbac');
    expect(stored.risk.level).toBe('high');

    const { approvers } = await runbook.approve(requestId);
    expect(approvers).toBe(2);
    const done = await runbook.provisioned(requestId);
    const appId = String(done.app.appId);
    const spId = String(done.servicePrincipal.id);
    const graphSp = Object.values(runbook.tenant.state().data.servicePrincipals).find(
      (sp) => sp.data.appId === MICROSOFT_GRAPH_APP_ID,
    )!.data;
    expect(done.app.requiredResourceAccess).toEqual([
      { resourceAppId: MICROSOFT_GRAPH_APP_ID, resourceAccess: [{ id: mailSend(), type: 'Role' }] },
    ]);
    expect(done.assignments).toEqual([
      expect.objectContaining({ principalId: spId, resourceId: graphSp.id, appRoleId: mailSend() }),
    ]);

    const delivery = cardText(done.deliveryCard);
    expect(delivery).toContain('Mailbox access: every mailbox');
    expect(delivery).toContain('RBAC for Applications does not narrow it');
    expect(delivery).toContain(
      `Get-MgServicePrincipalAppRoleAssignment -ServicePrincipalId ${spId} | Where-Object { $_.AppRoleId -in @('${mailSend()}') } | ForEach-Object { Remove-MgServicePrincipalAppRoleAssignment -ServicePrincipalId ${spId} -AppRoleAssignmentId $_.Id }`,
    );
    expect(delivery).toContain(`New-ServicePrincipal -AppId ${appId} -ObjectId ${spId} -DisplayName 'Payroll mailer'`);
    expect(delivery).toContain(
      `New-ManagementRoleAssignment -App ${appId} -Role "Application Mail.Send" -CustomResourceScope "registrar-${requestId}"`,
    );

    const { secret } = await runbook.reveal(done);
    const { claims } = await runbook.token(appId, secret);
    expect(claims.roles).toEqual(['Mail.Send']);
  });
});
