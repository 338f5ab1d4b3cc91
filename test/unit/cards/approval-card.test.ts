/** @jest-environment jsdom */
import * as AC from 'adaptivecards';
import type { AdaptiveCard } from '../../../src/cards/adaptive-card';
import { renderApproval, type ApprovalView } from '../../../src/cards/approval-card';
import { Verb } from '../../../src/cards/verbs';
import { requestStatuses, type AppRequest, type RequestStatus } from '../../../src/domain/request';
import { libraryEvents } from './card-library';
import { submitted } from '../domain/fixtures';
import {
  appId,
  approverIds,
  federationRequest,
  kubernetesWorkload,
  ownerIds,
  requests,
  rotationRequest,
} from './card-samples';
import { cardBytes, maxCardBytes, objectsOfType, texts, type Json } from './card-walk';
import { buttons, titles, input, all, runs, byStatus } from './request-card-helpers';

describe('approval card', () => {
  const view = (
    request: AppRequest,
    mode: ApprovalView['mode'],
    refreshUserIds: readonly string[] = approverIds,
  ): ApprovalView => ({ request, mode, refreshUserIds });

  const expectedButtons: Record<RequestStatus, { everyone: string[]; approver: string[] }> = {
    submitted: { everyone: ['Approve or reject…'], approver: ['Approve', 'Reject'] },
    approved: { everyone: [], approver: [] },
    provisioning: { everyone: [], approver: [] },
    provisioned: { everyone: [], approver: [] },
    delivered: { everyone: [], approver: [] },
    rejected: { everyone: [], approver: [] },
    expired: { everyone: [], approver: [] },
    cancelled: { everyone: [], approver: [] },
    failed: { everyone: ['Retry…'], approver: ['Retry'] },
  };

  test.each(requestStatuses)('when the request is %s, then each mode offers exactly its buttons', (status) => {
    const request = byStatus[status]();
    expect({
      everyone: titles(renderApproval(view(request, 'everyone'))),
      approver: titles(renderApproval(view(request, 'approver'))),
    }).toEqual(expectedButtons[status]);
  });

  test('when an approver sees a waiting request, then Approve and Reject carry the request id and Reject sends the reason', () => {
    const card = renderApproval(view(requests.submitted(), 'approver'));
    const [approve, reject] = buttons(card);
    expect(approve).toMatchObject({ verb: Verb.approvalApprove, data: { requestId: 'F3K92M7Q' } });
    expect(reject).toMatchObject({
      verb: Verb.approvalReject,
      data: { requestId: 'F3K92M7Q' },
      associatedInputs: 'auto',
    });
    const reason = input(card, 'reason');
    expect(reason).toMatchObject({ type: 'Input.Text', isMultiline: true, label: 'Reason (required to reject)' });
    expect(reason).not.toHaveProperty('isRequired');
  });

  test('when everyone sees the card, then there is no reason box, and the one button asks for the approver view', () => {
    const card = renderApproval(view(requests.submitted(), 'everyone'));
    expect(input(card, 'reason')).toBeUndefined();
    expect(buttons(card)).toEqual([
      expect.objectContaining({ verb: Verb.approvalRefresh, data: { requestId: 'F3K92M7Q' } }),
    ]);
    const failed = renderApproval(view(requests.failed(), 'everyone'));
    expect(buttons(failed)).toEqual([
      expect.objectContaining({ title: 'Retry…', verb: Verb.approvalRefresh, data: { requestId: 'F3K92M7Q' } }),
    ]);
  });

  test('when an approver sees a failed request, then Retry carries the request id', () => {
    expect(buttons(renderApproval(view(requests.failed(), 'approver')))).toEqual([
      expect.objectContaining({ verb: Verb.approvalRetry, data: { requestId: 'F3K92M7Q' } }),
    ]);
  });

  test('when approvers are named for refresh, then the card refreshes for them with the approval refresh verb', () => {
    const card = renderApproval(view(requests.submitted(), 'everyone'));
    expect(card.refresh).toEqual({
      action: { type: 'Action.Execute', title: 'Refresh', verb: Verb.approvalRefresh, data: { requestId: 'F3K92M7Q' } },
      userIds: approverIds,
    });
  });

  test('when no approver is named for refresh, then the card has no refresh', () => {
    expect(renderApproval(view(requests.submitted(), 'everyone', []))).not.toHaveProperty('refresh');
  });

  test('when more than 60 approvers are named, then the refresh names the first 60', () => {
    const ids = Array.from({ length: 75 }, (_, i) => `29:approver-${i}`);
    expect((renderApproval(view(requests.submitted(), 'everyone', ids)).refresh as Json).userIds).toEqual(
      ids.slice(0, 60),
    );
  });

  test('when the card is rendered, then it says who asks, why, and exactly what will be created', () => {
    const text = texts(renderApproval(view(requests.submitted(), 'everyone')));
    expect(text).toEqual(
      expect.arrayContaining([
        'Payroll sync',
        'High risk · 2 approvals needed',
        'Asked by',
        'Alex Wilber',
        'Sends payslips to employees every month.\nReads users to find their managers.',
        'Display name',
        'Who can sign in',
        'This organisation only',
        'Platform',
        'Web',
        'Redirect URIs',
        'https://payroll.contoso.com/auth/callback\nhttp://localhost:5000/callback',
        'Credential',
        'Client secret, valid 180 days from when the requester reveals it',
        'Owners',
        `The requester and 2 other people, by Entra object id (this request was made before Registrar looked owners up in the directory):\n${ownerIds[0]} (object id only)\n${ownerIds[1]} (object id only)`,
        'Directory role',
        'User Administrator: the app could create and manage users and groups, reset passwords of non-administrators (for example a B2C password reset)',
        '1 of 2 approvals so far: Megan Bowen.',
      ]),
    );
    expect(texts(renderApproval(view(requests.rejected(), 'everyone')))).toEqual(
      expect.arrayContaining(['Approvals', '0 of 2 approvals so far.']),
    );
  });

  test('when the request is a mobile and desktop app, then the card says in a plain line whether it signs in without a redirect URI', () => {
    const base = requests.submitted();
    const mobile = (publicClientFlows?: boolean) => ({
      ...base,
      form: {
        ...base.form,
        platform: 'publicClient' as const,
        redirectUris: ['msauth.com.contoso.notes://auth'],
        ...(publicClientFlows ? { publicClientFlows } : {}),
      },
    });
    expect(texts(renderApproval(view(mobile(true), 'everyone')))).toEqual(
      expect.arrayContaining([
        'Mobile and desktop (public client)',
        'Sign-in without a redirect URI',
        'Allowed: device code, integrated Windows authentication and username and password (isFallbackPublicClient)',
      ]),
    );
    expect(texts(renderApproval(view(mobile(), 'everyone')))).toEqual(
      expect.arrayContaining(['Sign-in without a redirect URI', 'Not allowed']),
    );
    expect(texts(renderApproval(view(base, 'everyone')))).not.toContain('Sign-in without a redirect URI');
  });

  test('when the app is made in a target directory, then the card names it with its tenant id and lists the owners there by name and UPN', () => {
    const base = requests.submitted();
    const tenantId = 'b2c0ffee-0000-4000-8000-000000000001';
    const owner = (n: number) => ({
      id: `b2c0ffee-0000-4000-8000-00000000010${n}`,
      displayName: `Owner ${n}`,
      userPrincipalName: `owner${n}@contosob2c.onmicrosoft.com`,
    });
    const inB2c = (from: 'named' | 'group'): AppRequest => ({
      ...base,
      form: { ...base.form, additionalOwnerIds: [], target: 'b2c', targetOwnerUpns: [], oidcConsent: 'declare' },
      target: { key: 'b2c', name: 'Contoso B2C', tenantId },
      targetOwners: {
        from,
        ...(from === 'group' ? { groupId: 'b2c0ffee-0000-4000-8000-0000000000aa' } : {}),
        owners: [owner(1), owner(2)],
      },
    });
    const named = texts(renderApproval(view(inB2c('named'), 'everyone')));
    expect(named).toEqual(
      expect.arrayContaining([
        'Created in',
        `Contoso B2C (${tenantId}), another directory than this Teams tenant's`,
        'openid and offline_access',
        'Declared on the app without admin consent',
        [
          'In Contoso B2C, named by the requester:',
          'Owner 1 (owner1@contosob2c.onmicrosoft.com)',
          'Owner 2 (owner2@contosob2c.onmicrosoft.com)',
        ].join('\n'),
      ]),
    );
    expect(texts(renderApproval(view(inB2c('group'), 'everyone')))).toEqual(
      expect.arrayContaining([
        [
          'In Contoso B2C, the users of its owners group (b2c0ffee-0000-4000-8000-0000000000aa):',
          'Owner 1 (owner1@contosob2c.onmicrosoft.com)',
          'Owner 2 (owner2@contosob2c.onmicrosoft.com)',
        ].join('\n'),
      ]),
    );
    const teams = texts(renderApproval(view(base, 'everyone')));
    expect(teams).not.toContain('Created in');
    expect(teams).not.toContain('openid and offline_access');
  });

  test('when the card lists permissions, then each has its type, its API, its risk and the reason, riskiest first', () => {
    const card = renderApproval(view(requests.submitted(), 'everyone'));
    const text = texts(card);
    const lines = [
      'Mail.Send · application · Microsoft Graph · High',
      'User.Read.All · application · Microsoft Graph · Medium',
      'User.Read · delegated · Microsoft Graph · Low',
    ];
    expect(lines.map((line) => text.indexOf(line))).toEqual(
      [...lines.map((line) => text.indexOf(line))].sort((a, b) => a - b),
    );
    expect(lines.every((line) => text.includes(line))).toBe(true);
    expect(text).toContain('As an application, Mail.Send can send mail as any user in the organisation.');
    const levelRun = (level: string) => objectsOfType(card, 'TextRun').find((r) => r.text === level)?.color;
    // In words, not colours: Teams' Attention, Warning and Good text fail WCAG AA in one theme or the other (contrast.test.ts).
    expect([levelRun('High'), levelRun('Medium'), levelRun('Low')]).toEqual(['Default', 'Default', 'Default']);
    expect(text).toEqual(expect.arrayContaining(['Directory role: User Administrator · High']));
  });

  test('when a request is low risk, then its risk is said in words, in a colour with AA contrast', () => {
    const card = renderApproval(view(requests.federated(), 'approver'));
    expect(objectsOfType(card, 'TextRun').find((r) => r.text === 'Low risk')?.color).toBe('Default');
  });

  test('when a request has a certificate, then the card shows it with its thumbprint, rated medium: its private key can be copied', () => {
    const card = renderApproval(view(requests.certificate(), 'approver'));
    expect(texts(card)).toEqual(
      expect.arrayContaining([
        'Certificate (public key only), valid until 1 Mar 2027, 00:00 UTC',
        'Thumbprint',
        '3F2A9C7B1D4E5F60718293A4B5C6D7E8F9012345',
        'Medium risk · 1 approval needed',
      ]),
    );
    expect(all(card)).toContain('Credential: certificate · Medium');
    expect(all(card)).toContain('whoever copies that key acts as the app');
  });

  describe('a federated credential', () => {
    test('when approvers see it, then the card names the one workload that can act as the app, with its issuer and subject in monospace', () => {
      const card = renderApproval(view(requests.federated(), 'approver'));
      const text = all(card);
      expect(text).toContain('Who can act as the app');
      expect(text).toContain('GitHub Actions in contoso/payments, environment production');
      const mono = objectsOfType(card, 'TextRun')
        .filter((r) => r.fontType === 'Monospace')
        .map((r) => r.text);
      expect(mono).toEqual(
        expect.arrayContaining([
          'https://token.actions.githubusercontent.com',
          'repo:contoso/payments:environment:production',
          'api://AzureADTokenExchange',
        ]),
      );
      expect(text).not.toContain('None: a public client');
      expect(text).not.toMatch(/client secret/i);
    });

    test('when approvers see it, then it is rated low risk, saying no secret exists and only that workload gets tokens', () => {
      const card = renderApproval(view(requests.federated(), 'approver'));
      expect(texts(card)).toContain('Low risk · 1 approval needed');
      expect(all(card)).toContain('Credential: federated (no secret) · Low');
      expect(all(card)).toContain(
        'No secret exists to leak: only GitHub Actions in contoso/payments, environment production can get tokens as the app',
      );
    });

    test('when the same app asks for a client secret instead, then the secret is rated higher than the federated credential', () => {
      const federated = requests.federated();
      const secret = submitted({
        form: { ...federated.form, credential: { kind: 'secret', lifetimeDays: 90 } },
      });
      expect(federated.risk.level).toBe('low');
      expect(secret.risk.level).toBe('medium');
      expect(all(renderApproval(view(secret, 'approver')))).toContain('Credential: client secret · Medium');
    });

    test('when the workload is a Kubernetes service account, then the card names it, its namespace and its cluster', () => {
      const card = renderApproval(view(requests.federated('submitted', kubernetesWorkload), 'approver'));
      expect(all(card)).toContain(
        'Kubernetes service account payments-api in namespace payments, of the cluster whose issuer is https://westeurope.oic.prod-aks.azure.com/',
      );
      expect(objectsOfType(card, 'TextRun').map((r) => r.text)).toContain(
        'system:serviceaccount:payments:payments-api',
      );
    });
  });

  test('when a permission has hardening advice, then the card shows it with its commands in monospace', () => {
    const card = renderApproval(view(requests.submitted(), 'everyone'));
    expect(all(card)).toContain('use RBAC for Applications in Exchange Online');
    expect(all(card)).toContain('Application access policies (New-ApplicationAccessPolicy) are the legacy way');
    const commands = objectsOfType(card, 'TextRun').filter((r) =>
      String(r.text).startsWith('New-ManagementRoleAssignment'),
    );
    expect(commands).toEqual([expect.objectContaining({ fontType: 'Monospace' })]);
    expect(objectsOfType(card, 'TextRun').some((r) => String(r.text).startsWith('New-ApplicationAccessPolicy'))).toBe(
      false,
    );
  });

  test('when the app exists, then the hardening commands name its client id and service principal', () => {
    const before = objectsOfType(renderApproval(view(requests.submitted(), 'everyone')), 'TextRun').map((r) =>
      String(r.text),
    );
    const after = objectsOfType(renderApproval(view(requests.provisioned(), 'everyone')), 'TextRun').map((r) =>
      String(r.text),
    );
    expect(before.find((t) => t.startsWith('New-ServicePrincipal'))).toBe(
      "New-ServicePrincipal -AppId <appId> -ObjectId <service principal object id> -DisplayName 'Payroll sync'",
    );
    expect(after.find((t) => t.startsWith('New-ServicePrincipal'))).toBe(
      `New-ServicePrincipal -AppId ${appId} -ObjectId 0c1d2e3f-0000-4000-8000-0000000000b2 -DisplayName 'Payroll sync'`,
    );
    expect(after.find((t) => t.startsWith('New-ManagementRoleAssignment'))).toBe(
      `New-ManagementRoleAssignment -App ${appId} -Role "Application Mail.Send" -CustomResourceScope "registrar-F3K92M7Q"`,
    );
  });

  test('when Mail.Send is scoped in Exchange, then the card says it is declared without tenant-wide consent, rates it medium, and gives the commands for the named mailbox', () => {
    const card = renderApproval(view(requests.scoped(), 'everyone'));
    const text = texts(card);
    expect(all(card)).toContain(
      'Mail.Send: declared without tenant-wide consent; Registrar grants no mailbox. Scoped in Exchange Online with RBAC for Applications to payroll@contoso.com',
    );
    expect(all(card)).toMatch(
      /Declared without tenant-wide consent: Registrar grants it to no mailbox\. Through the "Application Mail\.Send" role/,
    );
    expect(text).toEqual(
      expect.arrayContaining([
        'New-ManagementScope -Name "registrar-F3K92M7Q" -RecipientRestrictionFilter "PrimarySmtpAddress -eq \'payroll@contoso.com\'"',
        'Test-ServicePrincipalAuthorization -Identity <appId> -Resource payroll@contoso.com | Format-Table',
      ]),
    );
    // Scoped, Mail.Send is rated medium; the directory role still makes the request high.
    expect(requests.scoped().risk.items.find((i) => i.subject === 'Mail.Send (application)')?.level).toBe('medium');
    expect(text.some((t) => t.startsWith('Remove-MgServicePrincipalAppRoleAssignment'))).toBe(false);
  });

  test('when the request moves on, then the status line says who decided and how far it got', () => {
    expect(texts(renderApproval(view(requests.rejected(), 'everyone')))).toEqual(
      expect.arrayContaining([
        'Rejected',
        'Rejected by Megan Bowen on 3 Mar 2026, 10:00 UTC.',
        'Reason: Mail.Send as an application is too broad.\nUse a shared mailbox with an access policy.',
      ]),
    );
    expect(texts(renderApproval(view(requests.provisioning(), 'everyone')))).toEqual(
      expect.arrayContaining(['Being provisioned', 'Approved by Megan Bowen and Adele Vance.', '2 of 5 steps done.']),
    );
    expect(all(renderApproval(view(requests.failed(), 'approver')))).toContain(
      'Granting Mail.Send failed: Graph answered 403',
    );
  });

  test('when a message for the clicker is given, then it is shown', () => {
    const card = renderApproval({
      ...view(requests.submitted(), 'approver'),
      message: 'You have already approved this request.',
    });
    expect(texts(card)).toContain('You have already approved this request.');
  });

  test('when the directory named the additional owners at submission, then the card names every one by display name and user principal name', () => {
    const request = requests.wide(20);
    const text = texts(renderApproval(view(request, 'approver')));
    const owners = text[text.indexOf('Owners') + 1]!.split('\n');

    expect(owners[0]).toBe('The requester and 20 other people:');
    expect(owners.slice(1)).toEqual(request.ownerDetails.map((o) => `${o.displayName} (${o.userPrincipalName})`));
    expect(owners[1]).toBe('Megan Bowen (Megan.Bowen@contoso.onmicrosoft.com)');
  });

  test('when an owner is missing from the names looked up, then that owner is shown by object id, said so', () => {
    const request = requests.wide();
    const card = renderApproval(view({ ...request, ownerDetails: request.ownerDetails.slice(1) }, 'approver'));
    expect(all(card)).toContain(
      `The requester and 2 other people:\n${ownerIds[0]} (object id only)\nAdele Vance (Adele.Vance@contoso.onmicrosoft.com)`,
    );
  });

  /** The card as the adaptivecards library (the Agents Playground, web hosts) renders it. */
  function rendered(card: AdaptiveCard): AC.AdaptiveCard {
    const parsed = new AC.AdaptiveCard();
    parsed.parse(card);
    const previous = AC.AdaptiveCard.onProcessMarkdown;
    AC.AdaptiveCard.onProcessMarkdown = (_text, result) => (result.didProcess = false);
    try {
      parsed.render();
    } finally {
      AC.AdaptiveCard.onProcessMarkdown = previous;
    }
    return parsed;
  }
  const uriLines = (text: unknown) => String(text).split('\n');

  test('when a request has 30 redirect URIs, then the card shows the first 5, and every other one behind Show all 30 redirect URIs; 5 need no button', () => {
    const request = requests.wide();
    const card = renderApproval(view(request, 'approver'));
    const first = runs(card).find((t) => t.startsWith('https://payroll0.'));
    const rest = objectsOfType(card, 'Container').find((c) => c.id === 'redirectUrisRest')!;

    expect(uriLines(first)).toEqual(request.form.redirectUris.slice(0, 5));
    expect(rest.isVisible).toBe(false);
    expect(uriLines(texts(rest).join('\n'))).toEqual(request.form.redirectUris.slice(5));
    expect(all(card)).not.toMatch(/not fit/);
    expect(cardBytes(card)).toBeLessThan(maxCardBytes);
    expect(libraryEvents(card)).toEqual([]);

    // Clicked in a client: Show all reveals the rest and gives way to Show the first 5 only, which hides them again.
    const parsed = rendered(card);
    const hidden = parsed.getElementById('redirectUrisRest')!;
    const button = (id: string) => (parsed.getElementById(id) as AC.ActionSet).getActionAt(0)!;
    expect(button('redirectUrisShowAll').title).toBe('Show all 30 redirect URIs');
    button('redirectUrisShowAll').execute();
    expect([
      hidden.isVisible,
      parsed.getElementById('redirectUrisShowAll')!.isVisible,
      parsed.getElementById('redirectUrisShowFewer')!.isVisible,
    ]).toEqual([true, false, true]);
    expect(button('redirectUrisShowFewer').title).toBe('Show the first 5 only');
    button('redirectUrisShowFewer').execute();
    expect(hidden.isVisible).toBe(false);

    // Five or fewer: all of them, and no button.
    const five = renderApproval(
      view({ ...request, form: { ...request.form, redirectUris: request.form.redirectUris.slice(0, 5) } }, 'approver'),
    );
    expect(objectsOfType(five, 'Action.ToggleVisibility')).toEqual([]);
    expect(uriLines(runs(five).find((t) => t.startsWith('https://payroll0.')))).toEqual(
      request.form.redirectUris.slice(0, 5),
    );
  });

  test('when 256 redirect URIs of 256 characters cannot all fit in a Teams message, then the card shows what fits and warns how many it left out', () => {
    const request = requests.wide(20);
    const uris = Array.from({ length: 256 }, (_, i) =>
      `https://payroll${String(i).padStart(3, '0')}.contoso.com/${'c'.repeat(200)}`.slice(0, 256),
    );
    const card = renderApproval(view({ ...request, form: { ...request.form, redirectUris: uris } }, 'approver'));
    const rest = objectsOfType(card, 'Container').find((c) => c.id === 'redirectUrisRest')!;
    const hiddenCount = uriLines(texts(rest).join('\n')).length;
    const missing = 256 - 5 - hiddenCount;

    expect(cardBytes(card)).toBeLessThan(maxCardBytes);
    expect(hiddenCount).toBeGreaterThan(0);
    expect(missing).toBeGreaterThan(0);
    expect(all(card)).toContain(
      `${missing} more redirect URIs do not fit in a Teams message and are not shown. Ask the requester for the full list before you approve.`,
    );
  });

  test('when a request asks for 400 permissions, then the card shows the riskiest and counts the rest, under the Teams limit', () => {
    const request = requests.submitted();
    const many = Array.from({ length: 400 }, (_, i) => ({
      ...request.permissions[i % 3]!,
      value: `Permission${i}.ReadWrite.All`,
    }));
    const card = renderApproval(view({ ...request, permissions: many }, 'approver'));
    expect(all(card)).toContain('…and 360 more permissions of the same or lower risk');
    expect(cardBytes(card)).toBeLessThan(maxCardBytes);
  });
  describe('a federated credential for an existing app (federate <app>)', () => {
    test('when approvers see it, then it names the app, the workload that will act as it and what stays, with no new-app rows', () => {
      const card = renderApproval(view(federationRequest(), 'approver'));
      const text = texts(card);

      expect(text).toEqual(
        expect.arrayContaining([
          'Federated credential for an existing app',
          'Federated credential for Expense Bot',
          'What changes and what stays',
          'a1e5c0de-0000-4000-9000-000000000203',
          'https://token.actions.githubusercontent.com',
          'repo:contoso/expenses:ref:refs/heads/main',
          "Everything else: the app's permissions, owners, secrets, certificates and other federated credentials.",
          'Reference F3D9K2QX',
        ]),
      );
      expect(all(card)).not.toMatch(/What will be created|Display name|Platform|Who can sign in|Rotation reference/);
      expect(input(card, 'reason')).toMatchObject({ placeholder: 'Why Expense Bot should not trust this workload' });
      expect(libraryEvents(card)).toEqual([]);
    });
  });

  describe('a rotation', () => {
    const privileged = (): AppRequest =>
      rotationRequest({
        level: 'high',
        items: [
          {
            kind: 'permission',
            subject: 'Mail.Send (application)',
            level: 'high',
            reason: 'As an application, Mail.Send can send mail as any user in the organisation.',
          },
          {
            kind: 'directoryRole',
            subject: 'Directory role: User Administrator',
            level: 'high',
            reason: 'Whoever holds a secret of this app acts with this directory role, across the tenant.',
          },
        ],
        notes: [],
      });

    test('when approvers see a rotation, then it is titled as a new client secret for the app, with what changes and what stays, and no request line', () => {
      const card = renderApproval(view(rotationRequest(), 'approver'));
      const text = texts(card);

      expect(text).toEqual(
        expect.arrayContaining([
          'Rotation: a new client secret for an existing app',
          'New client secret for Expense Bot',
          'What changes and what stays',
          'Application (client) ID',
          'a1e5c0de-0000-4000-9000-000000000203',
          'Changes',
          `The app gets a new client secret, valid 180 days from when Alex Wilber reveals it in their personal chat with Registrar.`,
          'Stays',
          'The app itself, its Application (client) ID, its permissions and owners, and its other credentials. Its current client secret Ex3… (expires 30 Nov 2026, 08:00 UTC) keeps working until an owner removes it.',
          'Rotation reference 7K3M9Q2X',
        ]),
      );
      expect(all(card)).not.toMatch(
        /\bRequest 7K3M9Q2X|request expires|What will be created|Permissions to grant|only signs people in/,
      );
      // Its id stays in the buttons' data, where approving needs it.
      expect(buttons(card).map((b) => b.data)).toEqual([{ requestId: '7K3M9Q2X' }, { requestId: '7K3M9Q2X' }]);
      expect(input(card, 'reason')).toMatchObject({
        placeholder: 'Why Expense Bot should not get a new client secret',
      });
    });

    test('when it waits, then the status says that without a decision no secret is made and the app keeps its credentials', () => {
      expect(all(renderApproval(view(rotationRequest(), 'everyone')))).toContain(
        'If nobody decides by 30 Nov 2026, 08:00 UTC, no new client secret is made and Expense Bot keeps its credentials as they are.',
      );
    });

    test('when the app holds privileged permissions, then the card lists them as what stays, with their risk, and its directory role under other risks', () => {
      const card = renderApproval(view(privileged(), 'approver'));
      const text = texts(card);

      expect(text).toEqual(
        expect.arrayContaining([
          'Permissions the app holds, which stay as they are',
          "Whoever holds the new client secret can use them, as with the app's other credentials.",
          'Mail.Send (application) · High',
          'Other risks',
          'Directory role: User Administrator · High',
        ]),
      );
      expect(all(card)).not.toMatch(/Permissions to grant|only signs people in/);
      expect(objectsOfType(card, 'TextRun').map((r) => r.color)).not.toContain('Warning');
    });

    test('when a new app is asked for, then its card keeps the request line and the permissions section', () => {
      const card = renderApproval(view(requests.submitted(), 'approver'));
      expect(all(card)).toMatch(/Request F3K92M7Q/);
      expect(all(card)).toContain('Permissions to grant, with admin consent');
      expect(all(card)).not.toContain('Rotation reference');
    });
  });
});
