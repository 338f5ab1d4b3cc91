/** @jest-environment jsdom */
import { generateKeyPairSync } from 'node:crypto';
import * as AC from 'adaptivecards';
import type { AdaptiveCard } from '../../../src/cards/adaptive-card';
import { renderRequestForm } from '../../../src/cards/request-form-card';
import { Dataset, Verb } from '../../../src/cards/verbs';
import { requestableDirectoryRoles } from '../../../src/domain/directory-roles';
import { privateKeyInCertificateMessage } from '../../../src/domain/private-key';
import { permissionKey, type SearchablePermission } from '../../../src/domain/permission-search';
import {
  credentialKinds,
  formLimits,
  platforms,
  requestFormFields,
  signInAudiences,
} from '../../../src/domain/request-form';
import { libraryEvents } from './card-library';
import { formView, found, invalidFormView, ownerIds } from './card-samples';
import { cardBytes, maxCardBytes, objectsOfType, texts, visible, type Json } from './card-walk';
import { buttons, inputs, input, all } from './request-card-helpers';

describe('request form', () => {
  test('when a fresh form is rendered in Teams, then it has one input per form field, named as the server reads them', () => {
    const card = renderRequestForm(formView({ targets: [{ key: 'b2c', name: 'Contoso B2C' }], typeahead: true }));
    const ids = inputs(card).map((i) => i.id);
    expect(ids.sort()).toEqual(requestFormFields.filter((f) => f !== 'requestId').sort());
    expect(libraryEvents(card)).toEqual([]);
  });

  test('when a fresh form is rendered where there is no type-ahead, then it has no permission input until Find gives something to tick, says how to find them, and has no type-ahead input at all', () => {
    const card = renderRequestForm(formView({ targets: [{ key: 'b2c', name: 'Contoso B2C' }] }));
    const ids = inputs(card).map((i) => i.id);
    expect(ids.sort()).toEqual(requestFormFields.filter((f) => f !== 'requestId' && f !== 'permissions').sort());
    expect(objectsOfType(card, 'Input.ChoiceSet').filter((i) => 'choices.data' in i)).toEqual([]);
    expect(JSON.stringify(card)).not.toContain('Data.Query');
    expect(all(card)).toContain('No Microsoft Graph permission chosen yet. Find them by name or by what they do');
    expect(input(card, 'permissionFilter')).toMatchObject({ type: 'Input.Text', label: 'Find permissions' });
    expect(buttons(card).find((b) => b.verb === Verb.requestFind)).toMatchObject({ title: 'Find permissions' });
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
    expect(values('directoryRole').map((v) => String(v).trim())).toEqual([
      '',
      ...requestableDirectoryRoles.map((role) => role.templateId),
    ]);
    expect(String(input(card, 'directoryRole')?.value).trim()).toBe('');
  });

  test('when the form is for a national cloud, then personal Microsoft accounts are not offered', () => {
    const card = renderRequestForm({ ...formView(), audiences: ['AzureADMyOrg', 'AzureADMultipleOrgs'] });
    const values = (input(card, 'audience')?.choices as Json[]).map((c) => c.value);
    expect(values).toEqual(['AzureADMyOrg', 'AzureADMultipleOrgs']);
    expect(texts(card).join('\n')).toMatch(/Personal Microsoft accounts do not exist in this national cloud/);
    // A value the cloud does not offer is not put back as chosen.
    const sentBack = renderRequestForm({
      ...formView({ values: { audience: 'AzureADandPersonalMicrosoftAccount' } }),
      audiences: ['AzureADMyOrg', 'AzureADMultipleOrgs'],
    });
    expect(input(sentBack, 'audience')?.value).toBe('AzureADMyOrg');
    expect(libraryEvents(card)).toEqual([]);
  });

  test('when a mobile and desktop app asks for device code or desktop flows, then the toggle comes back on, and is off by default', () => {
    expect(input(renderRequestForm(formView()), 'publicClientFlows')).toMatchObject({
      type: 'Input.Toggle',
      value: 'false',
      valueOn: 'true',
      valueOff: 'false',
    });
    const card = renderRequestForm(formView({ values: { platform: 'publicClient', publicClientFlows: 'true' } }));
    expect(input(card, 'publicClientFlows')?.value).toBe('true');
    expect(texts(card).join('\n')).toMatch(/isFallbackPublicClient/);
  });

  test('when no input is marked required or given a pattern, then Find works on a half-filled form (the server checks every field)', () => {
    const card = renderRequestForm(invalidFormView());
    expect(inputs(card).filter((i) => 'isRequired' in i || 'regex' in i)).toEqual([]);
  });

  test('when the form is sent back with errors, then every input keeps its value', () => {
    const view = invalidFormView();
    const card = renderRequestForm(view);
    for (const field of [
      'name',
      'purpose',
      'audience',
      'platform',
      'redirectUris',
      'otherPermissions',
      'permissionFilter',
      'credential',
      'secretDays',
      'directoryRole',
    ] as const) {
      expect({ field, value: visible(String(input(card, field)?.value)) }).toEqual({
        field,
        value: view.values[field],
      });
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
      const nextInput = body.findIndex(
        (element, i) => i > at && typeof element.type === 'string' && element.type.startsWith('Input.'),
      );
      expect({ field, after: messageAt > at, beforeNextField: nextInput === -1 || messageAt < nextInput }).toEqual({
        field,
        after: true,
        beforeNextField: true,
      });
    }
  });

  test('when the whole form has a problem, then that message is at the top, before any input', () => {
    const card = renderRequestForm(invalidFormView());
    const body = card.body as Json[];
    const messageAt = body.findIndex((element) =>
      texts(element).includes('This form belongs to another request. Open a new one with `request`.'),
    );
    const firstInput = body.findIndex((element) => String(element.type).startsWith('Input.'));
    expect(messageAt).toBeGreaterThan(-1);
    expect(messageAt).toBeLessThan(firstInput);
  });

  test('when Submit was refused, then the summary just above the Submit button names each field with its message', () => {
    const view = invalidFormView();
    const card = renderRequestForm(view);
    const body = card.body as Json[];
    const last = body[body.length - 1]!;
    expect(last).toMatchObject({ type: 'Container', id: 'problemsAtSubmit', style: 'attention' });
    const lines = texts(last);
    expect(lines[0]).toBe('Not sent yet: change these, then submit again');
    expect(lines).toContain(view.errors.form);
    // Every field's message, named as the form labels it, in the form's order.
    const summary = lines.join('\n');
    expect(lines).toContain(`App name: ${view.errors.name}`);
    const at = (text: string) => summary.indexOf(text);
    for (const field of requestFormFields.filter((f) => f !== 'requestId'))
      expect({ field, shown: at(view.errors[field]!) > -1 }).toEqual({ field, shown: true });
    expect(at('App name: ')).toBeLessThan(at('Purpose: '));
    expect(at('Purpose: ')).toBeLessThan(at('Admin consent to openid and offline_access: '));
    expect(libraryEvents(card)).toEqual([]);
  });

  test('when Submit was refused, then the top of the form says nothing was sent and names the fields to change, counted in words', () => {
    const one = renderRequestForm(formView({ errors: { purpose: 'The purpose is required.' } }));
    const top = (one.body as Json[]).find((e) => e.id === 'problemsAtTop')!;
    expect(texts(top)).toEqual(['Not sent yet', '1 field needs a change: Purpose. Each has a message under it.']);
    const two = renderRequestForm(
      formView({ errors: { name: 'The app name is required.', purpose: 'The purpose is required.' } }),
    );
    expect(all(two)).toContain('2 fields need a change: App name and Purpose. Each has a message under it.');
    const bottom = (two.body as Json[]).at(-1)!;
    expect(texts(bottom)).toEqual([
      'Not sent yet: change these, then submit again',
      'App name: The app name is required.',
      'Purpose: The purpose is required.',
    ]);
  });

  test('when only the whole form has a problem, then both summaries say nothing was sent, and why', () => {
    const card = renderRequestForm(formView({ errors: { form: 'Registrar cannot reach its storage. Try again.' } }));
    const body = card.body as Json[];
    expect(texts(body.find((e) => e.id === 'problemsAtTop'))).toEqual([
      'Not sent yet',
      'Registrar cannot reach its storage. Try again.',
    ]);
    expect(texts(body.at(-1))).toEqual([
      'Not sent yet: change these, then submit again',
      'Registrar cannot reach its storage. Try again.',
    ]);
  });

  test('when the form is rendered, then no text is warning- or good-coloured, and text on an attention background keeps the default colour', () => {
    for (const view of [formView(), formView(found('mail')), invalidFormView()]) {
      const card = renderRequestForm(view);
      const coloured = objectsOfType(card, 'TextRun', 'TextBlock').map((t) => String(t.color ?? 'Default'));
      expect(coloured.filter((c) => !['Default', 'Attention'].includes(c))).toEqual([]);
      for (const container of objectsOfType(card, 'Container').filter((c) => c.style === 'attention'))
        expect(objectsOfType(container, 'TextRun', 'TextBlock').filter((t) => t.color !== undefined)).toEqual([]);
    }
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
    expect(choices[0]).toEqual({
      title: `Application (acts as itself): Mail.Send · admin consent · ${mailSend.description}`,
      value: permissionKey(mailSend),
    });
    expect(String(permissions.value).split(',')).toEqual([permissionKey(mailSend)]);
    // The results after it, delegated ones first, then application ones, each group in the search's order.
    const delegated = view.matches.filter((p) => p.type === 'Scope');
    const application = view.matches.filter((p) => p.type === 'Role');
    expect(delegated.length).toBeGreaterThan(0);
    expect(application.length).toBeGreaterThan(0);
    // As many as the Teams message budget leaves room for next to every field's message, in that order.
    const shownResults = choices.slice(1).map((c) => c.value);
    expect(shownResults.length).toBeGreaterThanOrEqual(10);
    const ordered = [...delegated, ...application].map(permissionKey);
    expect(shownResults).toEqual(ordered.filter((key) => shownResults.includes(key)));
  });

  test('when a chosen permission is also a search result, then it is listed once', () => {
    const result = found('Mail.Send');
    const card = renderRequestForm(formView({ ...result, selected: [result.matches[0]!] }));
    const values = (input(card, 'permissions')!.choices as Json[]).map((c) => c.value);
    expect(new Set(values).size).toBe(values.length);
  });

  test('when nothing is chosen or found yet in Teams, then the permission picker is Teams type-ahead over the Graph catalog, beside the Find box', () => {
    const card = renderRequestForm(formView({ typeahead: true }));
    expect(input(card, 'permissions')).toMatchObject({
      isMultiSelect: true,
      style: 'filtered',
      'choices.data': { type: 'Data.Query', dataset: Dataset.graphPermissions },
    });
    expect(input(card, 'permissionFilter')).toBeDefined();
    expect(all(card)).not.toContain('No Microsoft Graph permission chosen yet');
  });

  test('when the client has no type-ahead, then no form shows one, whatever is chosen or found', () => {
    for (const view of [formView(), formView(found('mail')), invalidFormView()]) {
      const card = renderRequestForm({ ...view, typeahead: false });
      expect(
        objectsOfType(card, 'Input.ChoiceSet').filter((i) => i.id === 'permissions' && 'choices.data' in i),
      ).toEqual([]);
    }
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
    expect(parsed.getAllInputs().find((i) => i.id === 'permissions')?.value).toBe(
      permissionKey(invalidFormView().selected[0]!),
    );
  });

  test('when the form is rendered in Teams, then the owners input is the Teams people picker, and the only owners input', () => {
    const card = renderRequestForm(formView({ typeahead: true }));
    expect(input(card, 'owners')).toMatchObject({
      type: 'Input.ChoiceSet',
      isMultiSelect: true,
      'choices.data': { type: 'Data.Query', dataset: 'graph.microsoft.com/users' },
    });
    expect(inputs(card).filter((i) => i.id === 'owners')).toHaveLength(1);
    expect(all(card)).not.toContain('user principal name');
  });

  test('when owners are chosen in Teams, then the picker keeps every id, and offers by name those whose names are known', () => {
    const owners = input(renderRequestForm({ ...invalidFormView(), typeahead: true }), 'owners')!;
    expect(owners.value).toBe(ownerIds.join(','));
    expect(owners.choices).toEqual([{ title: 'Megan Bowen', value: ownerIds[0] }]);
  });

  test('when the client has no type-ahead, then additional owners are a text box for user principal names separated by commas, with an example, and a hint that says how to name them', () => {
    const card = renderRequestForm(formView());
    const owners = inputs(card).filter((i) => i.id === 'owners');
    expect(owners).toEqual([
      expect.objectContaining({ type: 'Input.Text', label: 'Additional owners', placeholder: expect.any(String) }),
    ]);
    expect(String(owners[0]!.placeholder)).toMatch(/^[a-z]+@contoso\.com(, [a-z]+@contoso\.com)*$/);
    expect(owners[0]).not.toHaveProperty('choices.data');
    expect(all(card)).toContain(
      'Name each by the address they sign in with (their user principal name, often their email address), separated by commas.',
    );
    expect(all(card)).toContain('You own the app in any case.');
    expect(libraryEvents(card)).toEqual([]);
  });

  test('when the form comes back where there is no type-ahead, then the owners box holds what was typed, as it was typed, and the message under it', () => {
    const typed = 'megan@contoso.onmicrosoft.com, Adele@Contoso.onmicrosoft.com,nobody@contoso.com';
    const card = renderRequestForm(
      formView({
        values: { owners: typed },
        errors: { owners: 'nobody@contoso.com is not a user of this tenant.' },
      }),
    );
    expect(input(card, 'owners')?.value).toBe(typed);
    const body = JSON.stringify(card);
    expect(body.indexOf('nobody@contoso.com is not a user of this tenant.')).toBeGreaterThan(
      body.indexOf('"id":"owners"'),
    );
    expect(body.indexOf('nobody@contoso.com is not a user of this tenant.')).toBeLessThan(
      body.indexOf('"id":"directoryRole"'),
    );
  });

  test('when more is typed in the owners box than 20 owners need, then the form gives back a bounded part of it', () => {
    const typed = Array.from({ length: 100 }, (_, i) => `owner${i}@contoso.onmicrosoft.com`).join(', ');
    const value = String(input(renderRequestForm(formView({ values: { owners: typed } })), 'owners')?.value);
    expect(typed.startsWith(value.replace(/…$/, ''))).toBe(true);
    expect(value.length).toBeGreaterThanOrEqual(20 * 'owner00@contoso.onmicrosoft.com, '.length);
    expect(value.length).toBeLessThanOrEqual(900);
  });

  test('when nothing is chosen or found yet, then each picker has one choice that the server reads as nothing', () => {
    const card = renderRequestForm(formView({ typeahead: true }));
    for (const id of ['permissions', 'owners']) {
      const choices = input(card, id)!.choices as Json[];
      expect(choices).toHaveLength(1);
      expect(
        String(choices[0]!.value)
          .split(/[\s,;]+/)
          .filter(Boolean),
      ).toEqual([]);
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
    expect(all(renderRequestForm(formView({ ...found('zzzz'), values: { permissionFilter: 'zzzz' } })))).toContain(
      'No permission matches “zzzz”',
    );
  });

  test('when the form is rendered, then Submit and Find send the request id and every input', () => {
    const card = renderRequestForm(formView({ requestId: 'K7Q2M9F3' }));
    expect(card.actions).toEqual([
      expect.objectContaining({
        type: 'Action.Execute',
        title: 'Submit request',
        verb: Verb.requestSubmit,
        data: { requestId: 'K7Q2M9F3' },
        associatedInputs: 'auto',
      }),
    ]);
    expect(buttons(card).find((b) => b.verb === Verb.requestFind)).toMatchObject({
      title: 'Find permissions',
      data: { requestId: 'K7Q2M9F3' },
      associatedInputs: 'auto',
    });
  });

  test('when the policy caps secrets, then the form states the cap, the default and the name prefix', () => {
    const text = all(
      renderRequestForm(formView({ policy: { secretMaxDays: 90, secretDefaultDays: 180, namePrefix: 'app-' } })),
    );
    expect(text).toContain('For a client secret: from 1 to 90 days. Left empty, it lasts 90 days.');
    expect(text).toContain('Registrar puts “app-” in front of it.');
  });

  test('when the other-API box is empty, then its placeholder shows a line naming an API', () => {
    expect(input(renderRequestForm(formView()), 'otherPermissions')?.placeholder).toBe(
      'Microsoft Partner Center user_impersonation delegated',
    );
  });

  /** 50 permissions with the longest names and descriptions of the catalog, and more. */
  function longPermissions(): SearchablePermission[] {
    return found('', 50).matches.map((p, i) => ({
      ...p,
      id: `${p.id.slice(0, 30)}${String(i).padStart(6, '0')}`,
      value: `${p.value}.${'X'.repeat(40)}`,
      description: 'D'.repeat(400),
    }));
  }

  test('when 10 permissions are chosen, 25 more are found, all with long descriptions, and the fields hold long values, then the chosen ones and as many results as fit are choices, each description whole, and the card stays within its budget', () => {
    const permissions = longPermissions();
    const view = formView({
      selected: permissions.slice(0, 10),
      matches: permissions.slice(25),
      matchesTotal: 700,
      filter: 'read',
      values: {
        name: 'N'.repeat(formLimits.name),
        purpose: 'P'.repeat(formLimits.purpose),
        redirectUris: Array.from({ length: 8 }, (_, i) => `https://app${i}.contoso.com/${'c'.repeat(200)}`).join('\n'),
        otherPermissions: Array.from(
          { length: 4 },
          () => 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd user_impersonation delegated',
        ).join('\n'),
        certificatePem: `-----BEGIN CERTIFICATE-----\n${'M'.repeat(64).concat('\n').repeat(26)}-----END CERTIFICATE-----`,
        owners: ownerIds.join(','),
      },
      errors: { redirectUris: 'E'.repeat(200), otherPermissions: 'E'.repeat(200), certificatePem: 'E'.repeat(200) },
    });
    const card = renderRequestForm(view);
    const choices = input(card, 'permissions')!.choices as Json[];
    const shownResults = choices.length - 10;
    expect(shownResults).toBeGreaterThan(0);
    expect(shownResults).toBeLessThan(25);
    expect(
      choices
        .map((c) => c.value)
        .slice(0, 10)
        .sort(),
    ).toEqual(view.selected.map(permissionKey).sort());
    for (const choice of choices) expect(String(choice.title)).toMatch(/ · D{400}$/);
    expect(all(card)).toContain(`Showing ${shownResults} of 700 permissions that match “read”`);
    expect(cardBytes(card)).toBeLessThanOrEqual(26 * 1024);
    expect(libraryEvents(card)).toEqual([]);
  });

  test('when Find returns 25 permissions of the real catalog, then all 25 are shown with their whole descriptions', () => {
    const result = found('user');
    const card = renderRequestForm(formView(result));
    const choices = input(card, 'permissions')!.choices as Json[];
    expect(choices).toHaveLength(25);
    for (const p of result.matches) {
      const choice = choices.find((c) => c.value === permissionKey(p))!;
      const about = (p.description || p.displayName || '').replace(/\s+/g, ' ').trim();
      // A few catalog entries have neither a description nor a name to show: their row ends at the consent.
      const end = about ? ` · ${about}` : 'admin consent';
      expect({ title: choice.title, whole: String(choice.title).endsWith(end) }).toEqual({
        title: choice.title,
        whole: true,
      });
    }
    expect(choices.filter((c) => String(c.title).includes('…'))).toEqual([]);
  });

  test('when permissions are listed, then the form says in plain words what delegated and application permissions are, and which kind a daemon needs', () => {
    const card = renderRequestForm(formView(found('user')));
    const text = all(card);
    expect(text).toContain('Delegated: the app acts as the signed-in person, and can do only what that person can.');
    expect(text).toContain(
      'Application: the app acts as itself, with no one signed in. A daemon or background service (platform “None: a daemon or API”) needs these. An admin consents to them for the whole organisation.',
    );
    // The daemon choice it names is the platform's own title.
    expect((input(card, 'platform')!.choices as Json[]).map((c) => c.title)).toContain(
      'None: a daemon or API (client credentials)',
    );
    const titles = (input(card, 'permissions')!.choices as Json[]).map((c) => String(c.title));
    for (const title of titles)
      expect(title).toMatch(/^(Application \(acts as itself\)|Delegated \(acts as the signed-in person\)): /);
  });

  test.each([
    [
      'where there is no type-ahead (owners typed)',
      false,
      Array.from({ length: 100 }, (_, i) => `${'o'.repeat(60)}${i}@${'d'.repeat(40)}.com`).join(', '),
    ],
    ['in Teams (the people picker)', true, undefined],
  ])(
    'when every field is full to its cap and has a message %s, then fewer search results are shown, the chosen ones stay, and the card fits',
    (_where, typeahead, typedOwners) => {
      const permissions = longPermissions();
      const view = formView({
        typeahead,
        selected: permissions.slice(0, 25),
        matches: permissions.slice(25),
        matchesTotal: 700,
        filter: 'f'.repeat(100),
        notice: 'n'.repeat(2000),
        targets: Array.from({ length: 3 }, (_, i) => ({ key: `t${i}`, name: 'T'.repeat(200) })),
        values: {
          target: 't0',
          targetOwners: Array.from({ length: 100 }, (_, i) => `owner${i}@contosob2c.onmicrosoft.com`).join(','),
          name: 'N'.repeat(500),
          purpose: 'P'.repeat(5000),
          redirectUris: Array.from({ length: 256 }, (_, i) => `https://app${i}.contoso.com/${'c'.repeat(200)}`).join(
            '\n',
          ),
          otherPermissions: Array.from(
            { length: 50 },
            () => `fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd ${'p'.repeat(120)} delegated`,
          ).join('\n'),
          permissionFilter: 'f'.repeat(300),
          secretDays: '9'.repeat(50),
          certificatePem: 'M'.repeat(16_000),
          owners:
            typedOwners ??
            Array.from({ length: 100 }, (_, i) => `a1e5c0de-0000-4000-8000-${String(i).padStart(12, '0')}`).join(','),
        },
        errors: Object.fromEntries([...requestFormFields, 'form'].map((f) => [f, 'E'.repeat(1500)])),
        ownerNames: Object.fromEntries(
          Array.from({ length: 100 }, (_, i) => [
            `a1e5c0de-0000-4000-8000-${String(i).padStart(12, '0')}`,
            'W'.repeat(300),
          ]),
        ),
      });
      const card = renderRequestForm(view);
      const permissionsInput = input(card, 'permissions')!;
      const values = (permissionsInput.choices as Json[]).map((c) => c.value);
      const byKind = [
        ...view.selected.filter((p) => p.type === 'Scope'),
        ...view.selected.filter((p) => p.type === 'Role'),
      ];
      expect(values.slice(0, 25)).toEqual(byKind.map(permissionKey));
      expect(String(permissionsInput.value).split(',')).toEqual(view.selected.map(permissionKey));
      expect(values.length).toBeLessThan(50);
      expect(all(card)).toMatch(/Showing \d+ of 700 permissions that match/);
      // The owners stay: the picker keeps 20 ids (Teams names them), the text box a bounded part of what was typed.
      const owners = input(card, 'owners')!;
      expect(owners.type).toBe(typeahead ? 'Input.ChoiceSet' : 'Input.Text');
      if (typeahead) expect(String(owners.value).split(',')).toHaveLength(formLimits.owners);
      else expect(typedOwners!.startsWith(String(owners.value).replace(/…$/, ''))).toBe(true);
      expect(cardBytes(card)).toBeLessThanOrEqual(26 * 1024);
      expect(cardBytes(card)).toBeLessThan(maxCardBytes);
      expect(libraryEvents(card)).toEqual([]);
    },
  );
});

describe('a private key in the request form', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const keys: Array<[string, string]> = [
    ['PKCS#8', rsa.export({ type: 'pkcs8', format: 'pem' }).toString()],
    ['RSA', rsa.export({ type: 'pkcs1', format: 'pem' }).toString()],
    ['EC', ec.export({ type: 'sec1', format: 'pem' }).toString()],
    ['ENCRYPTED', rsa.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString()],
    [
      'headerless PKCS#8',
      rsa
        .export({ type: 'pkcs8', format: 'der' })
        .toString('base64')
        .replace(/(.{64})/g, '$1\n'),
    ],
  ];
  /** The key's base64 lines that made it into the card: none may. */
  const leaked = (card: AdaptiveCard, key: string) => {
    const json = JSON.stringify(card);
    return key.split('\n').filter((line) => line.length >= 16 && !line.startsWith('-----') && json.includes(line));
  };

  test.each(keys)(
    'when the certificate box holds a %s private key, then the card shows it empty, with the message Submit gives',
    (_kind, key) => {
      // As Find sends it back: the values as typed, and no message.
      const card = renderRequestForm(formView({ values: { credential: 'certificate', certificatePem: key } }));

      expect(JSON.stringify(card)).not.toMatch(/PRIVATE KEY-----/);
      expect(leaked(card, key)).toEqual([]);
      expect(input(card, 'certificatePem')?.value).toBe('');
      expect(all(card)).toContain(privateKeyInCertificateMessage);
    },
  );

  test('when the certificate box holds a private key and an older message, then the private key message replaces it, and a certificate is kept', () => {
    const key = keys[0]![1];
    const card = renderRequestForm(
      formView({ values: { certificatePem: key }, errors: { certificatePem: 'Paste a PEM certificate.' } }),
    );

    expect(all(card)).toContain(privateKeyInCertificateMessage);
    expect(all(card)).not.toContain('Paste a PEM certificate.');
    // A certificate stays as it was pasted.
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    expect(input(renderRequestForm(formView({ values: { certificatePem: pem } })), 'certificatePem')?.value).toBe(pem);
  });

  test.each(['purpose', 'redirectUris', 'otherPermissions', 'owners'] as const)(
    'when %s holds a private key, then it comes back empty with a message naming the field',
    (field) => {
      const key = keys[2]![1];
      const card = renderRequestForm(formView({ values: { [field]: `Here:\n${key}` } }));

      expect(leaked(card, key)).toEqual([]);
      expect(JSON.stringify(card)).not.toMatch(/PRIVATE KEY-----/);
      expect(all(card)).toMatch(
        /There is a private key in the [a-zA-Z ]+, so Registrar did not keep it or show it again\./,
      );
    },
  );

  test('when the search that was run holds a private key, then neither the box nor the results line repeats it', () => {
    const filter = keys[2]![1].slice(0, 100);
    const card = renderRequestForm(formView({ values: { permissionFilter: filter }, filter }));

    expect(JSON.stringify(card)).not.toMatch(/PRIVATE KEY-----/);
    expect(input(card, 'permissionFilter')?.value).toBe('');
  });
});
