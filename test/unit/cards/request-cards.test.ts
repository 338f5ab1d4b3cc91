/** @jest-environment jsdom */
import { generateKeyPairSync } from 'node:crypto';
import * as AC from 'adaptivecards';
import { Template } from 'adaptivecards-templating';
import type { AdaptiveCard } from '../../../src/cards/adaptive-card';
import { renderApproval, type ApprovalView } from '../../../src/cards/approval-card';
import { renderDelivery } from '../../../src/cards/delivery-card';
import { renderRequestForm } from '../../../src/cards/request-form-card';
import { renderRequestList } from '../../../src/cards/request-list-card';
import { renderRequestStatus } from '../../../src/cards/request-status-card';
import { Dataset, Verb } from '../../../src/cards/verbs';
import { requestableDirectoryRoles } from '../../../src/domain/directory-roles';
import { privateKeyInCertificateMessage } from '../../../src/domain/private-key';
import type { SearchablePermission } from '../../../src/domain/permission-search';
import { requestStatuses, stepsFor, type AppRequest, type RequestStatus } from '../../../src/domain/request';
import { credentialKinds, formLimits, platforms, requestFormFields, signInAudiences } from '../../../src/domain/request-form';
import { renderInDom, libraryEvents } from './card-library';
import {
  appId,
  approverIds,
  formView,
  found,
  invalidFormView,
  ownerIds,
  requestAfter,
  requests,
  revealedSecret,
  riskyForm,
  tenantId,
  trail,
} from './card-samples';
import { cardBytes, maxCardBytes, objectsOfType, strings, texts, visible, type Json } from './card-walk';

/** Every Action.Execute a person can click (the root's refresh action is not a button). */
function buttons(card: AdaptiveCard): Json[] {
  const { refresh: _refresh, ...rest } = card;
  return objectsOfType(rest, 'Action.Execute');
}
const titles = (card: AdaptiveCard) => buttons(card).map((b) => b.title);
const inputs = (card: AdaptiveCard) => objectsOfType(card, 'Input.Text', 'Input.ChoiceSet', 'Input.Number', 'Input.Toggle', 'Input.Date', 'Input.Time');
const input = (card: AdaptiveCard, id: string) => inputs(card).find((i) => i.id === id);
const all = (card: AdaptiveCard) => texts(card).join('\n');
/** The text of every TextRun, as a person reads it. */
const runs = (card: AdaptiveCard) => objectsOfType(card, 'TextRun').map((run) => visible(String(run.text)));

/** A request of every status, each reached through the legal moves. */
const byStatus: Record<RequestStatus, () => AppRequest> = {
  submitted: requests.submitted,
  approved,
  provisioning: requests.provisioning,
  provisioned: requests.provisioned,
  delivered: requests.delivered,
  rejected: requests.rejected,
  expired: requests.expired,
  cancelled: requests.cancelled,
  failed: requests.failed,
};
function approved(): AppRequest {
  // Two approvals, nothing started: the only way to be approved.
  return requestAfter(riskyForm(), [
    [{ type: 'approve' }, { aadObjectId: 'a1e5c0de-0000-4000-8000-000000000021', name: 'Megan Bowen' }],
    [{ type: 'approve' }, { aadObjectId: 'a1e5c0de-0000-4000-8000-000000000022', name: 'Adele Vance' }],
  ]).request;
}

describe('request form', () => {
  test('when a fresh form is rendered, then it has one input per form field, named as the server reads them', () => {
    const card = renderRequestForm(formView());
    const ids = inputs(card).map((i) => i.id);
    expect(ids.sort()).toEqual(requestFormFields.filter((f) => f !== 'requestId').sort());
    expect(libraryEvents(card)).toEqual([]);
  });

  test('when a fresh form is rendered, then it defaults to this organisation only, no platform and a client secret', () => {
    const card = renderRequestForm(formView());
    expect(input(card, 'audience')?.value).toBe('AzureADMyOrg');
    expect(input(card, 'platform')?.value).toBe('none');
    expect(input(card, 'credential')?.value).toBe('secret');
    expect(input(card, 'name')?.value).toBe('');
  });

  test('when the choices are listed, then they are exactly the values the server accepts', () => {
    const card = renderRequestForm(formView());
    const values = (id: string) => (input(card, id)?.choices as Json[]).map((c) => c.value);
    expect(values('audience')).toEqual([...signInAudiences]);
    expect(values('platform')).toEqual([...platforms]);
    expect(values('credential')).toEqual([...credentialKinds]);
    // "None" is a space, not '' (the adaptivecards library refuses an empty value): the server trims it to nothing.
    expect(values('directoryRole').map((v) => String(v).trim())).toEqual(['', ...requestableDirectoryRoles.map((role) => role.templateId)]);
    expect(String(input(card, 'directoryRole')?.value).trim()).toBe('');
  });

  test('when no input is marked required or given a pattern, then Find works on a half-filled form (the server checks every field)', () => {
    const card = renderRequestForm(invalidFormView());
    expect(inputs(card).filter((i) => 'isRequired' in i || 'regex' in i)).toEqual([]);
  });

  test('when the form is sent back with errors, then every input keeps its value', () => {
    const view = invalidFormView();
    const card = renderRequestForm(view);
    for (const field of ['name', 'purpose', 'audience', 'platform', 'redirectUris', 'otherPermissions', 'permissionFilter', 'credential', 'secretDays', 'directoryRole'] as const) {
      expect({ field, value: visible(String(input(card, field)?.value)) }).toEqual({ field, value: view.values[field] });
    }
    expect(input(card, 'certificatePem')?.value).toBe(view.values.certificatePem);
    expect(input(card, 'owners')?.value).toBe(ownerIds.join(','));
  });

  test('when the form is sent back with errors, then each message is shown right under its own field', () => {
    const view = invalidFormView();
    const card = renderRequestForm(view);
    const body = card.body as Json[];
    for (const field of requestFormFields.filter((f) => f !== 'requestId')) {
      const at = body.findIndex((element) => element.id === field);
      const messageAt = body.findIndex((element) => texts(element).includes(view.errors[field]!));
      const nextInput = body.findIndex((element, i) => i > at && typeof element.type === 'string' && element.type.startsWith('Input.'));
      expect({ field, after: messageAt > at, beforeNextField: nextInput === -1 || messageAt < nextInput }).toEqual({ field, after: true, beforeNextField: true });
    }
  });

  test('when the whole form has a problem, then that message is at the top, before any input', () => {
    const card = renderRequestForm(invalidFormView());
    const body = card.body as Json[];
    const messageAt = body.findIndex((element) => texts(element).includes('This form belongs to another request. Open a new one with `request`.'));
    const firstInput = body.findIndex((element) => String(element.type).startsWith('Input.'));
    expect(messageAt).toBeGreaterThan(-1);
    expect(messageAt).toBeLessThan(firstInput);
  });

  test('when nothing is wrong, then no error message or banner appears', () => {
    const card = renderRequestForm(formView({ values: { name: 'Payroll sync' } }));
    expect(objectsOfType(card, 'TextRun', 'TextBlock').filter((t) => t.color === 'Attention')).toEqual([]);
  });

  test('when a chosen permission is not among the search results, then it is still a choice, and selected', () => {
    const view = invalidFormView();
    const mailSend = view.selected[0]!;
    expect(view.matches.some((p) => p.id === mailSend.id)).toBe(false);
    const permissions = input(renderRequestForm(view), 'permissions')!;
    const choices = permissions.choices as Json[];
    expect(choices[0]).toEqual({ title: 'Mail.Send (application) · admin consent · Send mail as any user', value: mailSend.id });
    expect(String(permissions.value).split(',')).toEqual([mailSend.id]);
    expect(choices.slice(1).map((c) => c.value)).toEqual(view.matches.map((p) => p.id));
  });

  test('when a chosen permission is also a search result, then it is listed once', () => {
    const result = found('Mail.Send');
    const card = renderRequestForm(formView({ ...result, selected: [result.matches[0]!] }));
    const values = (input(card, 'permissions')!.choices as Json[]).map((c) => c.value);
    expect(new Set(values).size).toBe(values.length);
  });

  test('when nothing is chosen or found yet, then the permission picker is Teams type-ahead over the Graph catalog', () => {
    const card = renderRequestForm(formView());
    expect(input(card, 'permissions')).toMatchObject({ isMultiSelect: true, style: 'filtered', 'choices.data': { type: 'Data.Query', dataset: Dataset.graphPermissions } });
  });

  test('when permissions are chosen or found, then they are a plain list to tick, which every client submits', () => {
    const card = renderRequestForm(invalidFormView());
    const permissions = input(card, 'permissions')!;
    expect(permissions).toMatchObject({ isMultiSelect: true, style: 'expanded' });
    expect(permissions).not.toHaveProperty('choices.data');
    // As the Agents Playground renders it (the adaptivecards library): the chosen one is ticked and is what a click sends.
    const parsed = new AC.AdaptiveCard();
    parsed.parse(card);
    const previous = AC.AdaptiveCard.onProcessMarkdown;
    AC.AdaptiveCard.onProcessMarkdown = (_text, result) => (result.didProcess = false);
    try {
      parsed.render();
    } finally {
      AC.AdaptiveCard.onProcessMarkdown = previous;
    }
    expect(parsed.getAllInputs().find((i) => i.id === 'permissions')?.value).toBe(invalidFormView().selected[0]!.id);
  });

  test('when the form is rendered, then the owners picker is the Teams people picker', () => {
    expect(input(renderRequestForm(formView()), 'owners')).toMatchObject({ isMultiSelect: true, 'choices.data': { type: 'Data.Query', dataset: 'graph.microsoft.com/users' } });
  });

  test('when owners are chosen, then the picker keeps every id, and offers by name those whose names are known', () => {
    const choices = input(renderRequestForm(invalidFormView()), 'owners')!.choices as Json[];
    expect(choices).toEqual([{ title: 'Megan Bowen', value: ownerIds[0] }]);
  });

  test('when nothing is chosen or found yet, then each picker has one choice that the server reads as nothing', () => {
    const card = renderRequestForm(formView());
    for (const id of ['permissions', 'owners']) {
      const choices = input(card, id)!.choices as Json[];
      expect(choices).toHaveLength(1);
      expect(String(choices[0]!.value).split(/[\s,;]+/).filter(Boolean)).toEqual([]);
    }
  });

  test('when Find returns more than it shows, then the form says how many of how many', () => {
    const card = renderRequestForm(formView(found('user')));
    const total = found('user', 100).matchesTotal;
    expect(total).toBeGreaterThan(25);
    expect(all(card)).toContain(`Showing 25 of ${total} permissions that match “user”`);
    expect(input(card, 'permissionFilter')?.value).toBe('user');
  });

  test('when Find matches nothing, then the form says so', () => {
    expect(all(renderRequestForm(formView({ ...found('zzzz'), values: { permissionFilter: 'zzzz' } })))).toContain('No permission matches “zzzz”');
  });

  test('when the form is rendered, then Submit and Find send the request id and every input', () => {
    const card = renderRequestForm(formView({ requestId: 'K7Q2M9F3' }));
    expect(card.actions).toEqual([
      expect.objectContaining({ type: 'Action.Execute', title: 'Submit request', verb: Verb.requestSubmit, data: { requestId: 'K7Q2M9F3' }, associatedInputs: 'auto' }),
    ]);
    expect(buttons(card).find((b) => b.verb === Verb.requestFind)).toMatchObject({ title: 'Find permissions', data: { requestId: 'K7Q2M9F3' }, associatedInputs: 'auto' });
  });

  test('when the policy caps secrets, then the form states the cap, the default and the name prefix', () => {
    const text = all(renderRequestForm(formView({ policy: { secretMaxDays: 90, secretDefaultDays: 180, namePrefix: 'app-' } })));
    expect(text).toContain('For a client secret: from 1 to 90 days. Left empty, it lasts 90 days.');
    expect(text).toContain('Registrar puts “app-” in front of it.');
  });

  test('when the other-API box is empty, then its placeholder shows the line format', () => {
    expect(input(renderRequestForm(formView()), 'otherPermissions')?.placeholder).toBe('resource-app-id permission-name application|delegated');
  });

  /** 50 permissions with the longest names and descriptions of the catalog, and more. */
  function longPermissions(): SearchablePermission[] {
    return found('', 50).matches.map((p, i) => ({ ...p, id: `${p.id.slice(0, 30)}${String(i).padStart(6, '0')}`, value: `${p.value}.${'X'.repeat(40)}`, description: 'D'.repeat(400) }));
  }

  test('when 25 permissions are chosen, 25 more are found and the fields hold long values, then all 50 are choices and the card stays under the Teams limit', () => {
    const permissions = longPermissions();
    const view = formView({
      selected: permissions.slice(0, 25),
      matches: permissions.slice(25),
      matchesTotal: 700,
      filter: 'read',
      values: {
        name: 'N'.repeat(formLimits.name),
        purpose: 'P'.repeat(formLimits.purpose),
        redirectUris: Array.from({ length: 8 }, (_, i) => `https://app${i}.contoso.com/${'c'.repeat(200)}`).join('\n'),
        otherPermissions: Array.from({ length: 4 }, () => 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd user_impersonation delegated').join('\n'),
        certificatePem: `-----BEGIN CERTIFICATE-----\n${'M'.repeat(64).concat('\n').repeat(26)}-----END CERTIFICATE-----`,
        owners: ownerIds.join(','),
      },
      errors: { redirectUris: 'E'.repeat(200), otherPermissions: 'E'.repeat(200), certificatePem: 'E'.repeat(200) },
    });
    const card = renderRequestForm(view);
    expect((input(card, 'permissions')!.choices as Json[]).length).toBe(50);
    expect(cardBytes(card)).toBeLessThan(maxCardBytes);
    expect(libraryEvents(card)).toEqual([]);
  });

  test('when every field is full to its cap and has a message, then fewer search results are shown, the chosen ones stay, and the card fits', () => {
    const permissions = longPermissions();
    const view = formView({
      selected: permissions.slice(0, 25),
      matches: permissions.slice(25),
      matchesTotal: 700,
      filter: 'f'.repeat(100),
      notice: 'n'.repeat(2000),
      values: {
        name: 'N'.repeat(500),
        purpose: 'P'.repeat(5000),
        redirectUris: Array.from({ length: 256 }, (_, i) => `https://app${i}.contoso.com/${'c'.repeat(200)}`).join('\n'),
        otherPermissions: Array.from({ length: 50 }, () => `fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd ${'p'.repeat(120)} delegated`).join('\n'),
        permissionFilter: 'f'.repeat(300),
        secretDays: '9'.repeat(50),
        certificatePem: 'M'.repeat(16_000),
        owners: Array.from({ length: 100 }, (_, i) => `a1e5c0de-0000-4000-8000-${String(i).padStart(12, '0')}`).join(','),
      },
      errors: Object.fromEntries([...requestFormFields, 'form'].map((f) => [f, 'E'.repeat(1500)])),
      ownerNames: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`a1e5c0de-0000-4000-8000-${String(i).padStart(12, '0')}`, 'W'.repeat(300)])),
    });
    const card = renderRequestForm(view);
    const permissionsInput = input(card, 'permissions')!;
    const values = (permissionsInput.choices as Json[]).map((c) => c.value);
    expect(values.slice(0, 25)).toEqual(view.selected.map((p) => p.id));
    expect(String(permissionsInput.value).split(',')).toEqual(view.selected.map((p) => p.id));
    expect(values.length).toBeLessThan(50);
    expect(all(card)).toMatch(/Showing \d+ of 700 permissions that match/);
    expect(cardBytes(card)).toBeLessThan(maxCardBytes);
    expect(libraryEvents(card)).toEqual([]);
  });
});

describe('a private key in the request form', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const keys: Array<[string, string]> = [
    ['PKCS#8', rsa.export({ type: 'pkcs8', format: 'pem' }).toString()],
    ['RSA', rsa.export({ type: 'pkcs1', format: 'pem' }).toString()],
    ['EC', ec.export({ type: 'sec1', format: 'pem' }).toString()],
    ['ENCRYPTED', rsa.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString()],
    ['headerless PKCS#8', rsa.export({ type: 'pkcs8', format: 'der' }).toString('base64').replace(/(.{64})/g, '$1\n')],
  ];
  /** The key's base64 lines that made it into the card: none may. */
  const leaked = (card: AdaptiveCard, key: string) => {
    const json = JSON.stringify(card);
    return key.split('\n').filter((line) => line.length >= 16 && !line.startsWith('-----') && json.includes(line));
  };

  test.each(keys)('when the certificate box holds a %s private key, then the card shows it empty, with the message Submit gives', (_kind, key) => {
    // As Find sends it back: the values as typed, and no message.
    const card = renderRequestForm(formView({ values: { credential: 'certificate', certificatePem: key } }));

    expect(JSON.stringify(card)).not.toMatch(/PRIVATE KEY-----/);
    expect(leaked(card, key)).toEqual([]);
    expect(input(card, 'certificatePem')?.value).toBe('');
    expect(all(card)).toContain(privateKeyInCertificateMessage);
  });

  test('when the certificate box holds a private key and an older message, then the private key message replaces it, and a certificate is kept', () => {
    const key = keys[0]![1];
    const card = renderRequestForm(formView({ values: { certificatePem: key }, errors: { certificatePem: 'Paste a PEM certificate.' } }));

    expect(all(card)).toContain(privateKeyInCertificateMessage);
    expect(all(card)).not.toContain('Paste a PEM certificate.');
    // A certificate stays as it was pasted.
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    expect(input(renderRequestForm(formView({ values: { certificatePem: pem } })), 'certificatePem')?.value).toBe(pem);
  });

  test.each(['purpose', 'redirectUris', 'otherPermissions', 'owners'] as const)('when %s holds a private key, then it comes back empty with a message naming the field', (field) => {
    const key = keys[2]![1];
    const card = renderRequestForm(formView({ values: { [field]: `Here:\n${key}` } }));

    expect(leaked(card, key)).toEqual([]);
    expect(JSON.stringify(card)).not.toMatch(/PRIVATE KEY-----/);
    expect(all(card)).toMatch(/There is a private key in the [a-zA-Z ]+, so Registrar did not keep it or show it again\./);
  });

  test('when the search that was run holds a private key, then neither the box nor the results line repeats it', () => {
    const filter = keys[2]![1].slice(0, 100);
    const card = renderRequestForm(formView({ values: { permissionFilter: filter }, filter }));

    expect(JSON.stringify(card)).not.toMatch(/PRIVATE KEY-----/);
    expect(input(card, 'permissionFilter')?.value).toBe('');
  });
});

describe('request status card', () => {
  test.each(requestStatuses)('when the request is %s, then only its requester is offered Cancel, and only while it waits for approval', (status) => {
    const request = byStatus[status]();
    expect(request.status).toBe(status);
    const forRequester = titles(renderRequestStatus({ request, viewer: 'requester' }));
    const forOther = titles(renderRequestStatus({ request, viewer: 'other' }));
    expect(forRequester).toEqual(status === 'submitted' ? ['Cancel request'] : []);
    expect(forOther).toEqual([]);
  });

  test('when the requester may cancel, then the button sends the request id', () => {
    const card = renderRequestStatus({ request: requests.submitted(), viewer: 'requester' });
    expect(buttons(card)).toEqual([expect.objectContaining({ verb: Verb.requestCancel, data: { requestId: 'F3K92M7Q' } })]);
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
    expect(objectsOfType(card, 'TextRun').find((r) => r.text === 'High risk')?.color).toBe('Attention');
  });

  test('when the request is being provisioned, then each step is shown done, in progress or pending', () => {
    const request = requests.provisioning();
    const card = renderRequestStatus({ request, viewer: 'requester' });
    const text = texts(card);
    expect(stepsFor(request)).toEqual(['application', 'owners', 'servicePrincipal', 'consent', 'directoryRole']);
    const state = (label: string) => text[text.indexOf(label) + 1];
    expect([state('Create the application'), state('Add the owners'), state('Create the service principal'), state('Grant admin consent'), state('Assign the directory role')]).toEqual([
      'Done',
      'Done',
      'In progress',
      'Pending',
      'Pending',
    ]);
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
    expect(text).toEqual(expect.arrayContaining(['Rejected', 'Rejected by Megan Bowen on 3 Mar 2026, 10:00 UTC.', 'Reason: Mail.Send as an application is too broad.\nUse a shared mailbox with an access policy.']));
  });

  test('when the request expired, was cancelled or was delivered, then the card says so in words', () => {
    expect(all(renderRequestStatus({ request: requests.expired(), viewer: 'requester' }))).toContain('Nobody decided by 9 Mar 2026, 09:00 UTC.');
    expect(all(renderRequestStatus({ request: requests.cancelled(), viewer: 'requester' }))).toContain('Cancelled by Alex Wilber on 3 Mar 2026, 10:00 UTC.');
    expect(all(renderRequestStatus({ request: requests.delivered(), viewer: 'requester' }))).toContain('The client secret was revealed to Alex Wilber on 3 Mar 2026, 10:05 UTC.');
  });

  test('when the app exists and the tenant is known, then its client id and tenant id are shown', () => {
    const text = texts(renderRequestStatus({ request: requests.delivered(), viewer: 'requester', tenantId }));
    expect(text).toEqual(expect.arrayContaining(['Client id', appId, 'Tenant id', tenantId]));
  });

  test('when the audit trail is given, then each event is listed with its time, actor and detail', () => {
    const audit = trail('rejected');
    const card = renderRequestStatus({ request: requests.rejected(), viewer: 'other', audit });
    const text = texts(card);
    expect(text).toContain('Audit trail');
    expect(text).toEqual(expect.arrayContaining(['2 Mar 2026, 09:00 UTC · Alex Wilber', '3 Mar 2026, 10:00 UTC · Megan Bowen']));
    expect(text).toContain('rejected: Mail.Send as an application is too broad.\nUse a shared mailbox with an access policy.');
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

describe('request list', () => {
  test('when requests are listed, then each has one row with its name, id, status, risk and date, and a Show button', () => {
    const list = [requests.submitted(), requests.delivered()];
    const card = renderRequestList({ title: 'Your requests', requests: list, empty: 'None.' });
    const text = texts(card);
    expect(text[0]).toBe('Your requests');
    expect(text).toEqual(
      expect.arrayContaining([
        'Payroll sync  F3K92M7Q',
        'Waiting for approval (1 of 2) · High risk · 2 Mar 2026, 09:00 UTC',
        'Delivered · High risk · 2 Mar 2026, 09:00 UTC',
      ]),
    );
    expect(buttons(card)).toEqual(list.map(() => expect.objectContaining({ title: 'Show', verb: Verb.requestShow, data: { requestId: 'F3K92M7Q' } })));
    expect(text).not.toContain('None.');
  });

  test('when there are more than 25 requests, then 25 rows are shown and the rest counted', () => {
    const many = Array.from({ length: 31 }, () => requests.submitted());
    const card = renderRequestList({ title: 'Waiting for your decision', requests: many, empty: 'None.' });
    expect(buttons(card)).toHaveLength(25);
    expect(all(card)).toContain('…and 6 more, not shown.');
    expect(cardBytes(card)).toBeLessThan(maxCardBytes);
  });

  test('when there is no request, then the empty text is shown and no button', () => {
    const card = renderRequestList({ title: 'Waiting for your decision', requests: [], empty: 'Nothing waits for your decision.' });
    expect(texts(card)).toEqual(['Waiting for your decision', 'Nothing waits for your decision.']);
    expect(buttons(card)).toEqual([]);
  });
});

describe('approval card', () => {
  const view = (request: AppRequest, mode: ApprovalView['mode'], refreshUserIds: readonly string[] = approverIds): ApprovalView => ({ request, mode, refreshUserIds });

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
    expect({ everyone: titles(renderApproval(view(request, 'everyone'))), approver: titles(renderApproval(view(request, 'approver'))) }).toEqual(expectedButtons[status]);
  });

  test('when an approver sees a waiting request, then Approve and Reject carry the request id and Reject sends the reason', () => {
    const card = renderApproval(view(requests.submitted(), 'approver'));
    const [approve, reject] = buttons(card);
    expect(approve).toMatchObject({ verb: Verb.approvalApprove, data: { requestId: 'F3K92M7Q' } });
    expect(reject).toMatchObject({ verb: Verb.approvalReject, data: { requestId: 'F3K92M7Q' }, associatedInputs: 'auto' });
    const reason = input(card, 'reason');
    expect(reason).toMatchObject({ type: 'Input.Text', isMultiline: true, label: 'Reason (required to reject)' });
    expect(reason).not.toHaveProperty('isRequired');
  });

  test('when everyone sees the card, then there is no reason box, and the one button asks for the approver view', () => {
    const card = renderApproval(view(requests.submitted(), 'everyone'));
    expect(input(card, 'reason')).toBeUndefined();
    expect(buttons(card)).toEqual([expect.objectContaining({ verb: Verb.approvalRefresh, data: { requestId: 'F3K92M7Q' } })]);
    const failed = renderApproval(view(requests.failed(), 'everyone'));
    expect(buttons(failed)).toEqual([expect.objectContaining({ title: 'Retry…', verb: Verb.approvalRefresh, data: { requestId: 'F3K92M7Q' } })]);
  });

  test('when an approver sees a failed request, then Retry carries the request id', () => {
    expect(buttons(renderApproval(view(requests.failed(), 'approver')))).toEqual([expect.objectContaining({ verb: Verb.approvalRetry, data: { requestId: 'F3K92M7Q' } })]);
  });

  test('when approvers are named for refresh, then the card refreshes for them with the approval refresh verb', () => {
    const card = renderApproval(view(requests.submitted(), 'everyone'));
    expect(card.refresh).toEqual({ action: { type: 'Action.Execute', title: 'Refresh', verb: Verb.approvalRefresh, data: { requestId: 'F3K92M7Q' } }, userIds: approverIds });
  });

  test('when no approver is named for refresh, then the card has no refresh', () => {
    expect(renderApproval(view(requests.submitted(), 'everyone', []))).not.toHaveProperty('refresh');
  });

  test('when more than 60 approvers are named, then the refresh names the first 60', () => {
    const ids = Array.from({ length: 75 }, (_, i) => `29:approver-${i}`);
    expect((renderApproval(view(requests.submitted(), 'everyone', ids)).refresh as Json).userIds).toEqual(ids.slice(0, 60));
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
    expect(texts(renderApproval(view(requests.rejected(), 'everyone')))).toEqual(expect.arrayContaining(['Approvals', '0 of 2 approvals so far.']));
  });

  test('when the card lists permissions, then each has its type, its API, its risk and the reason, riskiest first', () => {
    const card = renderApproval(view(requests.submitted(), 'everyone'));
    const text = texts(card);
    const lines = ['Mail.Send · application · Microsoft Graph · High', 'User.Read.All · application · Microsoft Graph · Medium', 'User.Read · delegated · Microsoft Graph · Low'];
    expect(lines.map((line) => text.indexOf(line))).toEqual([...lines.map((line) => text.indexOf(line))].sort((a, b) => a - b));
    expect(lines.every((line) => text.includes(line))).toBe(true);
    expect(text).toContain('As an application, Mail.Send can send mail as any user in the organisation.');
    const levelRun = (level: string) => objectsOfType(card, 'TextRun').find((r) => r.text === level)?.color;
    expect([levelRun('High'), levelRun('Medium'), levelRun('Low')]).toEqual(['Attention', 'Warning', 'Good']);
    expect(text).toEqual(expect.arrayContaining(['Directory role: User Administrator · High']));
  });

  test('when a request is low risk, then its risk is shown in the good color', () => {
    const card = renderApproval(view(requests.certificate(), 'approver'));
    expect(objectsOfType(card, 'TextRun').find((r) => r.text === 'Low risk')?.color).toBe('Good');
    expect(texts(card)).toEqual(expect.arrayContaining(['Certificate (public key only), valid until 1 Mar 2027, 00:00 UTC', 'Thumbprint', '3F2A9C7B1D4E5F60718293A4B5C6D7E8F9012345']));
  });

  test('when a permission has hardening advice, then the card shows it with its commands in monospace', () => {
    const card = renderApproval(view(requests.submitted(), 'everyone'));
    expect(all(card)).toContain('Restrict the app to named mailboxes with an Exchange application access policy');
    const commands = objectsOfType(card, 'TextRun').filter((r) => String(r.text).startsWith('New-ApplicationAccessPolicy'));
    expect(commands).toEqual([expect.objectContaining({ fontType: 'Monospace' })]);
  });

  test('when the app exists, then the hardening commands name its client id', () => {
    const before = objectsOfType(renderApproval(view(requests.submitted(), 'everyone')), 'TextRun').map((r) => String(r.text));
    const after = objectsOfType(renderApproval(view(requests.provisioning(), 'everyone')), 'TextRun').map((r) => String(r.text));
    expect(before.find((t) => t.startsWith('New-ApplicationAccessPolicy'))).toContain('-AppId <appId>');
    expect(after.find((t) => t.startsWith('New-ApplicationAccessPolicy'))).toContain(`-AppId ${appId}`);
  });

  test('when the request moves on, then the status line says who decided and how far it got', () => {
    expect(texts(renderApproval(view(requests.rejected(), 'everyone')))).toEqual(
      expect.arrayContaining(['Rejected', 'Rejected by Megan Bowen on 3 Mar 2026, 10:00 UTC.', 'Reason: Mail.Send as an application is too broad.\nUse a shared mailbox with an access policy.']),
    );
    expect(texts(renderApproval(view(requests.provisioning(), 'everyone')))).toEqual(expect.arrayContaining(['Being provisioned', 'Approved by Megan Bowen and Adele Vance.', '2 of 5 steps done.']));
    expect(all(renderApproval(view(requests.failed(), 'approver')))).toContain('Granting Mail.Send failed: Graph answered 403');
  });

  test('when a message for the clicker is given, then it is shown', () => {
    const card = renderApproval({ ...view(requests.submitted(), 'approver'), message: 'You have already approved this request.' });
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
    expect(all(card)).toContain(`The requester and 2 other people:\n${ownerIds[0]} (object id only)\nAdele Vance (Adele.Vance@contoso.onmicrosoft.com)`);
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
    expect([hidden.isVisible, parsed.getElementById('redirectUrisShowAll')!.isVisible, parsed.getElementById('redirectUrisShowFewer')!.isVisible]).toEqual([true, false, true]);
    expect(button('redirectUrisShowFewer').title).toBe('Show the first 5 only');
    button('redirectUrisShowFewer').execute();
    expect(hidden.isVisible).toBe(false);

    // Five or fewer: all of them, and no button.
    const five = renderApproval(view({ ...request, form: { ...request.form, redirectUris: request.form.redirectUris.slice(0, 5) } }, 'approver'));
    expect(objectsOfType(five, 'Action.ToggleVisibility')).toEqual([]);
    expect(uriLines(runs(five).find((t) => t.startsWith('https://payroll0.')))).toEqual(request.form.redirectUris.slice(0, 5));
  });

  test('when 256 redirect URIs of 256 characters cannot all fit in a Teams message, then the card shows what fits and warns how many it left out', () => {
    const request = requests.wide(20);
    const uris = Array.from({ length: 256 }, (_, i) => `https://payroll${String(i).padStart(3, '0')}.contoso.com/${'c'.repeat(200)}`.slice(0, 256));
    const card = renderApproval(view({ ...request, form: { ...request.form, redirectUris: uris } }, 'approver'));
    const rest = objectsOfType(card, 'Container').find((c) => c.id === 'redirectUrisRest')!;
    const hiddenCount = uriLines(texts(rest).join('\n')).length;
    const missing = 256 - 5 - hiddenCount;

    expect(cardBytes(card)).toBeLessThan(maxCardBytes);
    expect(hiddenCount).toBeGreaterThan(0);
    expect(missing).toBeGreaterThan(0);
    expect(all(card)).toContain(`${missing} more redirect URIs do not fit in a Teams message and are not shown. Ask the requester for the full list before you approve.`);
  });

  test('when a request asks for 400 permissions, then the card shows the riskiest and counts the rest, under the Teams limit', () => {
    const request = requests.submitted();
    const many = Array.from({ length: 400 }, (_, i) => ({ ...request.permissions[i % 3]!, value: `Permission${i}.ReadWrite.All` }));
    const card = renderApproval(view({ ...request, permissions: many }, 'approver'));
    expect(all(card)).toContain('…and 360 more permissions of the same or lower risk');
    expect(cardBytes(card)).toBeLessThan(maxCardBytes);
  });
});

describe('delivery card', () => {
  const secretText = revealedSecret.text;

  test('when a secret is ready, then the card offers Reveal and says the secret is made at that click and shown once', () => {
    const card = renderDelivery({ request: requests.provisioned(), tenantId, state: 'ready' });
    expect(buttons(card)).toEqual([expect.objectContaining({ title: 'Reveal client secret', verb: Verb.deliveryReveal, data: { requestId: 'F3K92M7Q' } })]);
    expect(all(card)).toContain('Registrar creates the secret when you click Reveal client secret, and shows it to you once');
    expect(all(card)).toContain('It will be valid for 180 days from that click.');
  });

  test('when the secret is revealed, then it is shown unchanged in a monospace TextRun, with its expiry, the check and a warning', () => {
    const card = renderDelivery({ request: requests.provisioned(), tenantId, state: 'revealed', secret: revealedSecret });
    const run = objectsOfType(card, 'TextRun').find((r) => r.text === secretText);
    expect(run).toMatchObject({ fontType: 'Monospace' });
    expect(strings(card).filter((s) => s.value.includes(secretText)).map((s) => `${String(s.owner.type)}.${s.key}`)).toEqual(['TextRun.text']);
    const text = all(card);
    expect(text).toContain('Valid until 30 Aug 2026, 10:00 UTC.');
    expect(text).toContain('A token was issued with this secret: it works.');
    expect(text).toContain('It disappears from this card in a few minutes');
    expect(buttons(card)).toEqual([expect.objectContaining({ title: 'I have stored it', verb: Verb.deliveryStored, data: { requestId: 'F3K92M7Q' } })]);
  });

  test('when the secret is not accepted yet, then the card says Entra ID needs a few minutes', () => {
    const card = renderDelivery({ request: requests.provisioned(), tenantId, state: 'revealed', secret: { ...revealedSecret, check: 'pending' } });
    expect(all(card)).toContain('Entra ID has not started accepting it yet; this usually takes a few minutes.');
  });

  test('when the secret is stored, then the card holds only its hint and expiry, never the secret', () => {
    const card = renderDelivery({ request: requests.delivered(), tenantId, state: 'stored', stored: { hint: 'Q_e', endDateTime: revealedSecret.endDateTime } });
    expect(JSON.stringify(card)).not.toContain(secretText);
    expect(all(card)).toContain('Client secret Q_e… (its first characters), valid until 30 Aug 2026, 10:00 UTC');
    expect(buttons(card)).toEqual([]);
  });

  test('when a card other than the revealed one is rendered, then the secret is nowhere in it', () => {
    for (const state of ['ready', 'stored'] as const) {
      const card = renderDelivery({ request: requests.delivered(), tenantId, state, secret: revealedSecret });
      expect(JSON.stringify(card)).not.toContain(secretText);
    }
  });

  test('when the card explains how to use the secret, then it names the variables and gives a token request without the secret', () => {
    const card = renderDelivery({ request: requests.provisioned(), tenantId, state: 'revealed', secret: revealedSecret });
    const text = runs(card);
    expect(text).toEqual(expect.arrayContaining([`AZURE_TENANT_ID=${tenantId}`, `AZURE_CLIENT_ID=${appId}`, 'AZURE_CLIENT_SECRET=<your client secret>']));
    const curl = text.filter((t) => t.startsWith('curl') || t.startsWith('-d') || t.startsWith('--data')).join('\n');
    expect(curl).toBe(
      [
        `curl -X POST https://login.microsoftonline.com/${tenantId}/oauth2/v2.0/token \\`,
        '-d grant_type=client_credentials \\',
        `-d client_id=${appId} \\`,
        '--data-urlencode "client_secret=$AZURE_CLIENT_SECRET" \\',
        '-d scope=https://graph.microsoft.com/.default',
      ].join('\n'),
    );
    expect(curl).not.toContain(secretText);
  });

  test('when the tenant is in a national cloud, then the token request uses its endpoints', () => {
    const card = renderDelivery({ request: requests.provisioned(), tenantId, state: 'ready', endpoints: { login: 'https://login.microsoftonline.us/', graph: 'https://graph.microsoft.us' } });
    expect(runs(card)).toEqual(expect.arrayContaining([`curl -X POST https://login.microsoftonline.us/${tenantId}/oauth2/v2.0/token \\`, '-d scope=https://graph.microsoft.us/.default']));
  });

  test('when the card is rendered, then it shows the ids in monospace and what was granted', () => {
    const card = renderDelivery({ request: requests.provisioned(), tenantId, state: 'ready' });
    const text = texts(card);
    expect(text).toEqual(
      expect.arrayContaining([
        'Client id',
        appId,
        'Tenant id',
        tenantId,
        'Mail.Send (application, Microsoft Graph)',
        'Directory role: User Administrator, to create and manage users and groups, reset passwords of non-administrators (for example a B2C password reset)',
      ]),
    );
    expect(objectsOfType(card, 'TextRun').filter((r) => r.text === appId || r.text === tenantId).map((r) => r.fontType)).toEqual(['Monospace', 'Monospace']);
  });

  test('when the app has a certificate, then the card confirms its thumbprint and expiry, offers no reveal and names the certificate variable', () => {
    const card = renderDelivery({ request: requests.certificate('delivered'), tenantId, state: 'ready' });
    const text = all(card);
    expect(buttons(card)).toEqual([]);
    expect(texts(card)).toEqual(expect.arrayContaining(['Thumbprint', '3F2A9C7B1D4E5F60718293A4B5C6D7E8F9012345', 'Valid until', '1 Mar 2027, 00:00 UTC']));
    expect(text).toContain('AZURE_CLIENT_CERTIFICATE_PATH');
    expect(text).not.toMatch(/client secret|curl/i);
  });

  test('when the app has no credential, then the card shows the ids only', () => {
    const card = renderDelivery({ request: requests.publicClient(), tenantId, state: 'ready' });
    expect(buttons(card)).toEqual([]);
    expect(all(card)).not.toMatch(/AZURE_|curl|Reveal/);
    expect(texts(card)).toEqual(expect.arrayContaining(['Client id', appId, 'Tenant id', tenantId]));
  });

  test('when the revealed state has no secret, then rendering fails instead of showing a card without it', () => {
    expect(() => renderDelivery({ request: requests.provisioned(), tenantId, state: 'revealed' })).toThrow(/needs the secret/);
  });

  test('when a message is given, then it is shown', () => {
    const message = 'This secret was already revealed. To get a new one, ask for a rotation with `rotate Payroll sync`.';
    expect(texts(renderDelivery({ request: requests.delivered(), tenantId, state: 'stored', message }))).toContain(message);
  });
});

describe('text from people on the request cards', () => {
  const hostile = 'Pay [link](https://evil.example) ${x} ${$root.secret} {{DATE(2026-01-01T00:00:00Z, SHORT)}} **bold** <at>Someone</at>';
  const probe = '[link](https://evil.example)';

  function hostileRequest(): AppRequest {
    const request = requests.rejected();
    return {
      ...request,
      requester: { ...request.requester, name: hostile },
      form: { ...request.form, displayName: hostile, purpose: `${hostile}\n${hostile}` },
      rejection: { ...request.rejection!, reason: hostile, by: { ...request.rejection!.by, name: hostile } },
    };
  }

  const cards: Array<[string, () => AdaptiveCard]> = [
    ['the status card', () => renderRequestStatus({ request: hostileRequest(), viewer: 'requester', audit: [{ ...trail('rejected')[0]!, detail: hostile, by: { aadObjectId: 'x', name: hostile } }] })],
    ['the list', () => renderRequestList({ title: 'Your requests', requests: [hostileRequest()], empty: 'None.' })],
    ['the approval card', () => renderApproval({ request: hostileRequest(), mode: 'approver', refreshUserIds: approverIds, message: hostile })],
    ['the delivery card', () => renderDelivery({ request: hostileRequest(), tenantId, state: 'ready', message: hostile })],
  ];

  test.each(cards)('when names, the purpose and the reason hold markdown and expressions, then %s shows them only as TextRun text, neutralised', (_, render) => {
    const card = render();
    const holding = strings(card).filter((s) => visible(s.value).includes(probe));
    expect(holding.length).toBeGreaterThan(0);
    expect(holding.map((s) => `${String(s.owner.type)}.${s.key}`).filter((where) => where !== 'TextRun.text')).toEqual([]);
    expect(strings(card).filter((s) => s.value.includes('${') || s.value.includes('{{'))).toEqual([]);
    expect(runs(card).some((text) => text.includes(hostile))).toBe(true);
    expect(objectsOfType(card, 'Action.OpenUrl', 'Action.Submit', 'Action.ShowCard')).toEqual([]);
    const again = new Template(card).expand({ $root: { secret: 'S3CRET', x: 'X' } }) as unknown;
    expect(again).toEqual(card);
  });

  test.each(cards)('when names, the purpose and the reason hold markdown, then %s renders them as raw text, unformatted and unlinked', (_, render) => {
    const { element, markdownInputs } = renderInDom(render());
    expect(visible(element.textContent ?? '')).toContain(probe);
    expect(markdownInputs.filter((text) => visible(text).includes(probe))).toEqual([]);
    expect(element.querySelectorAll('a, strong, b, em, i, at').length).toBe(0);
  });

  test('when form values hold markdown and expressions, then they go back only as input values, neutralised', () => {
    const card = renderRequestForm(formView({ values: { name: hostile, purpose: hostile, redirectUris: hostile }, errors: { name: hostile }, notice: hostile, filter: hostile }));
    const holding = strings(card).filter((s) => visible(s.value).includes(probe));
    expect(new Set(holding.map((s) => `${String(s.owner.type)}.${s.key}`))).toEqual(new Set(['Input.Text.value', 'TextRun.text']));
    expect(strings(card).filter((s) => s.value.includes('${') || s.value.includes('{{'))).toEqual([]);
    expect(visible(String(input(card, 'purpose')?.value))).toBe(hostile);
  });

  test('when a form value starts with a brace or ends with a dollar, then it goes back exactly as typed', () => {
    const card = renderRequestForm(formView({ values: { name: '{Payroll}', purpose: 'Costs about 500$', otherPermissions: 'x {' } }));
    expect([input(card, 'name')?.value, input(card, 'purpose')?.value, input(card, 'otherPermissions')?.value]).toEqual(['{Payroll}', 'Costs about 500$', 'x {']);
  });

  test('when a value is cut for the card, then it ends with an ellipsis within its cap', () => {
    const long = 'w'.repeat(5000);
    const status = renderRequestStatus({ request: { ...requests.rejected(), rejection: { ...requests.rejected().rejection!, reason: long } }, viewer: 'requester' });
    const reason = runs(status).find((t) => t.startsWith('www'))!;
    expect(Array.from(reason).length).toBeLessThanOrEqual(formLimits.purpose);
    expect(reason.endsWith('…')).toBe(true);
  });
});
