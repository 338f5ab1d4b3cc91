/** @jest-environment jsdom */
import { renderRequestStatus } from '../../../src/cards/request-status-card';
import { Verb } from '../../../src/cards/verbs';
import { requestStatuses, stepsFor } from '../../../src/domain/request';
import { appId, ownerRotation, requests, tenantId, trail } from './card-samples';
import { cardBytes, maxCardBytes, objectsOfType, texts } from './card-walk';
import { buttons, titles, all, byStatus } from './request-card-helpers';

describe('request status card', () => {
  test.each(requestStatuses)(
    'when the request is %s, then only its requester is offered Cancel, and only while it waits for approval',
    (status) => {
      const request = byStatus[status]();
      expect(request.status).toBe(status);
      const forRequester = titles(renderRequestStatus({ request, viewer: 'requester' }));
      const forOther = titles(renderRequestStatus({ request, viewer: 'other' }));
      expect(forRequester).toEqual(status === 'submitted' ? ['Cancel request'] : []);
      expect(forOther).toEqual([]);
    },
  );

  test('when the requester may cancel, then the button sends the request id', () => {
    const card = renderRequestStatus({ request: requests.submitted(), viewer: 'requester' });
    expect(buttons(card)).toEqual([
      expect.objectContaining({ verb: Verb.requestCancel, data: { requestId: 'F3K92M7Q' } }),
    ]);
  });

  test('when the request waits for approval, then the card names the app, the id, the approvals so far, the risk and the times', () => {
    const card = renderRequestStatus({ request: requests.submitted(), viewer: 'requester' });
    const text = texts(card);
    expect(text[0]).toBe('Payroll sync');
    expect(text[1]).toBe('Request F3K92M7Q');
    expect(text).toEqual(
      expect.arrayContaining([
        'Waiting for approval: 1 of 2',
        '1 of 2 approvals so far: Megan Bowen.',
        'Risk',
        'High risk',
        'Created',
        '2 Mar 2026, 09:00 UTC',
        'Last change',
        '3 Mar 2026, 10:00 UTC',
        'Mail.Send (application, Microsoft Graph)',
        'User.Read (delegated, Microsoft Graph)',
      ]),
    );
    expect(objectsOfType(card, 'TextRun').find((r) => r.text === 'F3K92M7Q')?.fontType).toBe('Monospace');
    expect(objectsOfType(card, 'TextRun').find((r) => r.text === 'High risk')?.color).toBe('Default');
  });

  test('when the request is being provisioned, then each step is shown done, in progress or pending', () => {
    const request = requests.provisioning();
    const card = renderRequestStatus({ request, viewer: 'requester' });
    const text = texts(card);
    expect(stepsFor(request)).toEqual(['application', 'owners', 'servicePrincipal', 'consent', 'directoryRole']);
    const state = (label: string) => text[text.indexOf(label) + 1];
    expect([
      state('Create the application'),
      state('Add the owners'),
      state('Create the service principal'),
      state('Grant admin consent'),
      state('Assign the directory role'),
    ]).toEqual(['Done', 'Done', 'In progress', 'Pending', 'Pending']);
    expect(text).toContain('Being provisioned');
  });

  test('when provisioning failed, then the card shows the error and that an approver can retry', () => {
    const text = all(renderRequestStatus({ request: requests.failed(), viewer: 'requester' }));
    expect(text).toContain('Provisioning failed');
    expect(text).toContain('Granting Mail.Send failed: Graph answered 403 Authorization_RequestDenied.');
    expect(text).toContain('An approver can retry it');
  });

  test('when the request was rejected, then the card says by whom, when and why', () => {
    const text = texts(renderRequestStatus({ request: requests.rejected(), viewer: 'requester' }));
    expect(text).toEqual(
      expect.arrayContaining([
        'Rejected',
        'Rejected by Megan Bowen on 3 Mar 2026, 10:00 UTC.',
        'Reason: Mail.Send as an application is too broad.\nUse a shared mailbox with an access policy.',
      ]),
    );
  });

  test('when the request expired, was cancelled or was delivered, then the card says so in words', () => {
    expect(all(renderRequestStatus({ request: requests.expired(), viewer: 'requester' }))).toContain(
      'Nobody decided by 9 Mar 2026, 09:00 UTC.',
    );
    expect(all(renderRequestStatus({ request: requests.cancelled(), viewer: 'requester' }))).toContain(
      'Cancelled by Alex Wilber on 3 Mar 2026, 10:00 UTC.',
    );
    expect(all(renderRequestStatus({ request: requests.delivered(), viewer: 'requester' }))).toContain(
      'The client secret was revealed to Alex Wilber on 3 Mar 2026, 10:05 UTC.',
    );
  });

  test('when the app exists and the tenant is known, then its client id and tenant id are shown', () => {
    const card = renderRequestStatus({ request: requests.delivered(), viewer: 'requester', tenantId });
    const text = texts(card);
    expect(text).toEqual(expect.arrayContaining(['Application (client) ID', appId, 'Directory (tenant) ID', tenantId]));
    // Each id is its own unwrapped monospace line: a GUID is never broken inside.
    expect(
      objectsOfType(card, 'TextBlock')
        .filter((b) => b.text === appId || b.text === tenantId)
        .map((b) => [b.fontType, b.wrap]),
    ).toEqual([
      ['Monospace', false],
      ['Monospace', false],
    ]);
  });

  describe('a rotation', () => {
    test.each(['approved', 'provisioned', 'delivered'] as const)(
      'when it is %s, then the card is titled as a new client secret for the app, says what changes and what stays, and shows no request id or permissions',
      (status) => {
        const request = ownerRotation(status);
        const card = renderRequestStatus({ request, viewer: 'requester', tenantId });
        const text = all(card);
        expect(texts(card)[0]).toBe('New client secret for Expense Bot');
        expect(text).toContain('What changes: Expense Bot gets a new client secret');
        expect(text).toContain(
          'What stays: the app itself, its Application (client) ID, its permissions and owners, and its other credentials',
        );
        expect(text).not.toContain('DNH5ZYME');
        expect(text).not.toMatch(/Request |Permissions asked for|signs people in|create the app|The app exists/);
      },
    );

    test('when the new secret is ready or revealed, then the status says so in rotation words', () => {
      expect(all(renderRequestStatus({ request: ownerRotation('provisioned'), viewer: 'requester' }))).toContain(
        "The new client secret waits in Alex Wilber's personal chat with Registrar.",
      );
      const delivered = all(renderRequestStatus({ request: ownerRotation('delivered'), viewer: 'requester' }));
      expect(delivered).toContain('The new client secret was revealed to Alex Wilber on 23 Nov 2026, 08:05 UTC.');
      expect(delivered).toContain('valid until 22 May 2027, 08:05 UTC.');
      expect(delivered).toContain('its current client secret Ex3… (expires 30 Nov 2026, 08:00 UTC) keeps working');
    });
  });

  test('when a risk is medium, then it is not written in yellow, which fails contrast on a light background', () => {
    const delivered = requests.delivered();
    const medium = { ...delivered, risk: { ...delivered.risk, level: 'medium' as const } };
    expect(all(renderRequestStatus({ request: medium, viewer: 'requester' }))).toContain('Medium risk');
    const colors = objectsOfType(renderRequestStatus({ request: medium, viewer: 'requester' }), 'TextRun')
      .map((r) => r.color)
      .filter(Boolean);
    expect(colors).not.toContain('Warning');
  });

  test('when the audit trail is given, then each event is listed with its time, actor and detail', () => {
    const audit = trail('rejected');
    const card = renderRequestStatus({ request: requests.rejected(), viewer: 'other', audit });
    const text = texts(card);
    expect(text).toContain('Audit trail');
    expect(text).toEqual(
      expect.arrayContaining(['2 Mar 2026, 09:00 UTC · Alex Wilber', '3 Mar 2026, 10:00 UTC · Megan Bowen']),
    );
    expect(text).toContain(
      'rejected: Mail.Send as an application is too broad.\nUse a shared mailbox with an access policy.',
    );
  });

  test('when no audit trail is given, then the card has no audit section', () => {
    expect(all(renderRequestStatus({ request: requests.rejected(), viewer: 'other' }))).not.toContain('Audit trail');
  });

  test('when the audit trail is long, then the latest events are shown and the card says how many were left out', () => {
    const audit = Array.from({ length: 100 }, (_, i) => ({ ...trail('submitted')[0]!, detail: `event ${i}` }));
    const card = renderRequestStatus({ request: requests.submitted(), viewer: 'other', audit });
    const text = all(card);
    expect(text).toContain('60 earlier events not shown.');
    expect(text).toContain('event 99');
    expect(text).not.toContain('event 59\n');
    expect(cardBytes(card)).toBeLessThan(maxCardBytes);
  });
});
