/** @jest-environment jsdom */
import type { AdaptiveCard } from '../../../src/cards/adaptive-card';
import {
  daysLeftWords,
  digestCardBudget,
  digestFromRefresh,
  mentionName,
  ownerReminderMax,
  renderOwnerReminder,
  renderReminderDigest,
  renderRotationCleanup,
  splitDigest,
  type MentionEntity,
} from '../../../src/cards/reminder-cards';
import { formatUtc } from '../../../src/cards/render';
import { Verb } from '../../../src/cards/verbs';
import type { ExpiringCredential } from '../../../src/domain/expiry';
import { libraryEvents } from './card-library';
import {
  appId,
  cleanupView,
  expiring,
  expiringMix,
  manyExpiring,
  manyOwnerNames,
  ownerIds,
  ownerNames,
  scanAt,
  unnamedOwnerId,
} from './card-samples';
import { cardBytes, extraProblems, maxCardBytes, objectsOfType, strings, texts, visible, type Json } from './card-walk';

const all = (card: AdaptiveCard) => texts(card).join('\n');
const runs = (card: AdaptiveCard) => objectsOfType(card, 'TextRun').map((run) => visible(String(run.text)));
/** The card's buttons (its refresh action is not one). */
const buttons = (card: AdaptiveCard) =>
  objectsOfType(card, 'Action.Execute').filter((action) => action.verb !== Verb.digestRefresh);
/** One credential at each urgency, each of its own application. */
const mixOfApps = () =>
  expiringMix().map((c, i) => ({ ...c, applicationObjectId: `0c1d2e3f-0000-4000-8000-00000000010${i}` }));
const entities = (card: AdaptiveCard) =>
  ((card.msteams as { entities?: MentionEntity[] } | undefined)?.entities ?? []) as MentionEntity[];
/** The owners lines: the only TextBlocks whose text the renderer builds from directory data. */
const ownerLines = (card: AdaptiveCard) =>
  objectsOfType(card, 'TextBlock')
    .map((block) => String(block.text))
    .filter((text) => /^Owners?:/.test(text));
const atTags = (text: string) => text.match(/<at>.*?<\/at>/g) ?? [];
/** The group headings, in order. */
const headings = (card: AdaptiveCard) => runs(card).filter((text) => /^(Expired|Expiring within)/.test(text));
/** The application (client) ids the card lists, in order: the run after each "Application (client) ID" label. */
const listedAppIds = (card: AdaptiveCard) =>
  objectsOfType(card, 'RichTextBlock')
    .map((block) => block.inlines as Json[])
    .filter((inlines) => inlines[0]?.text === 'Application (client) ID ')
    .map((inlines) => visible(String(inlines[1]!.text)));
/** The app names, in the order the credentials are listed (each is the first TextRun of its row). */
const appOrder = (card: AdaptiveCard) =>
  objectsOfType(card, 'Column')
    .filter((column) => column.width === 'stretch')
    .map((column) => visible(String(((column.items as Json[])[0]!.inlines as Json[])[0]!.text)));

describe('reminder digest', () => {
  test('when credentials of every urgency are given out of order, then they are grouped expired first, then 1, 7, 30 and 60 days', () => {
    const card = renderReminderDigest({ credentials: expiringMix(), scanAt, ownerNames });
    expect(headings(card)).toEqual([
      'Expired',
      'Expiring within 1 day',
      'Expiring within 7 days',
      'Expiring within 30 days',
      'Expiring within 60 days',
    ]);
    expect(appOrder(card)).toEqual(['Badge reader', 'Door sync', 'Payroll sync', 'Timesheets', 'Wiki bot']);
    expect(libraryEvents(card)).toEqual([]);
  });

  test('when two credentials share an urgency, then they are one group, the sooner expiry first', () => {
    const later = expiring({ appName: 'Later app', endDateTime: '2026-11-30T12:00:00Z' });
    const sooner = expiring({ appName: 'Sooner app', endDateTime: '2026-11-29T08:00:00Z', daysLeft: 6 });
    const card = renderReminderDigest({ credentials: [later, sooner], scanAt });
    expect(headings(card)).toEqual(['Expiring within 7 days']);
    expect(appOrder(card)).toEqual(['Sooner app', 'Later app']);
  });

  test('when a credential is listed, then it shows its app, appId in monospace, type, name, hint or thumbprint, expiry date and days left', () => {
    const card = renderReminderDigest({ credentials: expiringMix(), scanAt, ownerNames });
    const text = all(card);
    expect(text).toContain(`Payroll sync\nApplication (client) ID ${appId}`);
    expect(objectsOfType(card, 'TextRun').find((run) => run.text === appId)).toMatchObject({ fontType: 'Monospace' });
    expect(text).toContain('Client secret · Production · hint Q_e…');
    expect(text).toContain('Certificate · CN=badge-reader · thumbprint 3F2A9C7B1D4E5F60718293A4B5C6D7E8F9012345');
    expect(text).toContain(`6 days left · expires on ${formatUtc('2026-11-29T10:00:00Z')}`);
    expect(text).toContain(`expired 3 days ago · expired on ${formatUtc('2026-11-19T22:00:00Z')}`);
    expect(text).toContain('expires today');
    expect(text).toContain('5 credentials · scan of 23 Nov 2026, 06:00 UTC');
  });

  test('when days are counted, then an expired credential says how long ago, and one due says today or how many days are left', () => {
    expect(daysLeftWords({ threshold: 0, daysLeft: -4 })).toBe('expired 3 days ago');
    expect(daysLeftWords({ threshold: 0, daysLeft: -2 })).toBe('expired 1 day ago');
    expect(daysLeftWords({ threshold: 0, daysLeft: -1 })).toBe('expired today');
    expect(daysLeftWords({ threshold: 1, daysLeft: 0 })).toBe('expires today');
    expect(daysLeftWords({ threshold: 7, daysLeft: 1 })).toBe('1 day left');
    expect(daysLeftWords({ threshold: 7, daysLeft: 2 })).toBe('2 days left');
  });

  test('when the digest is posted, then nobody sees Rotate on it, and it says that owners do', () => {
    const card = renderReminderDigest({ credentials: expiringMix(), scanAt, ownerNames });
    expect(buttons(card)).toEqual([]);
    expect(all(card)).toContain("Only each app's owners see its Rotate button.");
  });

  test('when an owner views the digest, then the rows of the apps they own offer Rotate with the appId and nothing else, and the others none', () => {
    const mix = mixOfApps();
    const theirs = [mix[0]!, mix[2]!];
    const card = renderReminderDigest({
      credentials: mix,
      scanAt,
      ownerNames,
      ownedApplications: new Set(theirs.map((c) => c.applicationObjectId.toUpperCase())),
    });
    const shown = buttons(card).map((b) => ({ title: b.title, verb: b.verb, data: b.data }));
    expect(shown).toHaveLength(2);
    expect(new Set(shown)).toEqual(
      new Set(theirs.map((c) => ({ title: 'Rotate', verb: Verb.rotationStart, data: { appId: c.appId } }))),
    );
    expect(all(card)).toContain('You see Rotate on the apps you own.');
  });

  test("when the owners' Teams ids are known, then the card refreshes for exactly them, at most 60, and the refresh carries the card back", () => {
    const owners = Array.from({ length: 70 }, (_, i) => `c0c0c0c0-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const credentials = mixOfApps().map((c, i) => ({ ...c, ownerIds: owners.slice(i * 14, i * 14 + 14) }));
    const ownerTeamsIds = Object.fromEntries(owners.slice(1).map((id) => [id.toUpperCase(), `29:${id}`]));
    const card = renderReminderDigest({ credentials, scanAt, ownerNames, ownerTeamsIds });

    const refresh = card.refresh as { action: Json; userIds: string[] };
    expect(refresh.userIds).toHaveLength(60);
    expect(new Set(refresh.userIds).size).toBe(60);
    expect(refresh.userIds).not.toContain(`29:${owners[0]}`);
    expect(refresh.userIds.every((id) => owners.some((o) => id === `29:${o}`))).toBe(true);
    expect(refresh.action).toMatchObject({ type: 'Action.Execute', verb: Verb.digestRefresh });

    // The refresh gives back the same card; with what the viewer owns, only those rows get Rotate.
    const view = digestFromRefresh(refresh.action.data as Record<string, unknown>)!;
    const again = renderReminderDigest({ ...view, ownedApplications: new Set([credentials[1]!.applicationObjectId]) });
    expect(all(again)).toBe(
      all(card).replace(
        "Only each app's owners see its Rotate button. An owner can also type rotate <app name> in their chat with Registrar.",
        'You see Rotate on the apps you own. Others see this card without it.',
      ),
    );
    expect(buttons(again).map((b) => b.data)).toEqual([{ appId: credentials[1]!.appId }]);
    expect((again.refresh as { userIds: string[] }).userIds).toEqual(refresh.userIds);
    expect(libraryEvents(again)).toEqual([]);
  });

  test('when no owner has a Teams id, then the digest has no refresh', () => {
    expect(
      renderReminderDigest({ credentials: expiringMix(), scanAt, ownerNames }).refresh ?? undefined,
    ).toBeUndefined();
  });

  test('when refresh data is not a digest, then it is refused; when it is forged, it is cleaned like any card text', () => {
    expect(digestFromRefresh({})).toBeUndefined();
    expect(digestFromRefresh({ digest: { scanAt: 1, credentials: [] } })).toBeUndefined();
    const forged = digestFromRefresh({
      digest: {
        scanAt: scanAt.toISOString(),
        credentials: [
          { ...expiring({ appName: '${danger} [x](https://evil)' }), daysLeft: 6 },
          { appId: 1, applicationObjectId: 'x' },
        ],
        ownerNames: { a: 3 },
      },
    })!;
    expect(forged.credentials).toHaveLength(1);
    expect(forged.ownerNames).toEqual({});
    const card = renderReminderDigest({ ...forged, ownedApplications: new Set() });
    expect(buttons(card)).toEqual([]);
    expect(strings(card).filter((s) => s.value.includes('${'))).toEqual([]);
  });

  test('when a credential has no appId, then it is still listed, without a Rotate button even for its owner', () => {
    const credential = expiring({ appId: '' });
    const card = renderReminderDigest({
      credentials: [credential],
      scanAt,
      ownedApplications: new Set([credential.applicationObjectId]),
    });
    expect(appOrder(card)).toEqual(['Payroll sync']);
    expect(all(card)).toContain('Payroll sync\nApplication (client) ID appId not known');
    expect(buttons(card)).toEqual([]);
    expect(libraryEvents(card)).toEqual([]);
  });

  test('when owners have names, then each is a Teams mention: an entity with their object id, and the same <at> text in the card', () => {
    const card = renderReminderDigest({ credentials: expiringMix(), scanAt, ownerNames });
    expect(entities(card)).toEqual([
      { type: 'mention', text: '<at>Megan Bowen</at>', mentioned: { id: ownerIds[0], name: 'Megan Bowen' } },
      { type: 'mention', text: '<at>Adele Vance</at>', mentioned: { id: ownerIds[1], name: 'Adele Vance' } },
    ]);
    const tags = ownerLines(card).flatMap(atTags);
    expect(new Set(tags)).toEqual(new Set(entities(card).map((e) => e.text)));
    expect(ownerLines(card)).toContain('Owners: <at>Megan Bowen</at> and <at>Adele Vance</at>');
  });

  test('when an owner has no known name, then they are listed by id and not mentioned', () => {
    const card = renderReminderDigest({ credentials: expiringMix(), scanAt, ownerNames });
    expect(ownerLines(card)).toContain(`Owners: <at>Megan Bowen</at> and an owner (id ${unnamedOwnerId})`);
    expect(entities(card).map((e) => e.mentioned.id)).not.toContain(unnamedOwnerId);
  });

  test('when an app has no owner, then its line says so', () => {
    expect(ownerLines(renderReminderDigest({ credentials: [expiring({ ownerIds: [] })], scanAt }))).toEqual([
      'Owners: none recorded',
    ]);
  });

  test('when an owner id is not an object id, then nobody is mentioned for it', () => {
    const card = renderReminderDigest({
      credentials: [expiring({ ownerIds: ['not-a-guid', '29:teams-id'] })],
      scanAt,
      ownerNames: { 'not-a-guid': 'Megan Bowen' },
    });
    expect(entities(card)).toEqual([]);
    expect(ownerLines(card)).toEqual(['Owners: Megan Bowen and an owner']);
  });

  test('when an app has many owners, then five are named and the rest counted', () => {
    const many = Array.from({ length: 8 }, (_, i) => `a1e5c0de-0000-4000-8000-0000000001${String(i).padStart(2, '0')}`);
    const card = renderReminderDigest({
      credentials: [expiring({ ownerIds: many })],
      scanAt,
      ownerNames: Object.fromEntries(many.map((id, i) => [id, `Person ${i}`])),
    });
    expect(entities(card)).toHaveLength(5);
    expect(ownerLines(card)[0]).toMatch(/<at>Person 4<\/at> and 3 more owners$/);
  });

  test('when an owner is on several credentials, then the card has one entity for them', () => {
    const card = renderReminderDigest({
      credentials: [expiring({ keyId: 'a' }), expiring({ keyId: 'b' })],
      scanAt,
      ownerNames,
    });
    expect(ownerLines(card)).toEqual(['Owner: <at>Megan Bowen</at>', 'Owner: <at>Megan Bowen</at>']);
    expect(entities(card)).toHaveLength(1);
  });

  test('when two owners have the same name, then each mention has its own text, so each reaches its own person', () => {
    const card = renderReminderDigest({
      credentials: [expiring({ ownerIds: [...ownerIds] })],
      scanAt,
      ownerNames: { [ownerIds[0]!]: 'Alex Kim', [ownerIds[1]!]: 'Alex Kim' },
    });
    const texts = entities(card).map((e) => e.text);
    expect(new Set(texts).size).toBe(2);
    expect(entities(card).map((e) => e.mentioned.id)).toEqual(ownerIds);
    expect(ownerLines(card).flatMap(atTags)).toEqual(texts);
  });

  const hostileNames: Record<string, string> = {
    'a closing and opening mention': '</at><at>Global Admin',
    'a markdown link': '[x](https://evil.example)',
    'a bare address': 'see https://evil.example/login',
    'a template binding': '${x}',
    'a Teams date function': '{{DATE(2026-01-01T00:00:00Z, SHORT)}}',
    'emphasis and code': '**boss** _it_ ~~gone~~ `rm -rf`',
    'an HTML entity': '&lt;at&gt;Admin&lt;/at&gt;',
    'a markdown escape': '\\[x\\]\\(y\\)',
    'invisible characters': 'Ad\u200Bmin\u202E {\u200B{x}}',
  };

  test.each(Object.entries(hostileNames))(
    'when an owner name holds %s, then it becomes plain words inside one mention, with nothing markup can read',
    (_, name) => {
      const card = renderReminderDigest({
        credentials: [expiring({ ownerIds: [ownerIds[0]!] })],
        scanAt,
        ownerNames: { [ownerIds[0]!]: name },
      });
      const [line] = ownerLines(card);
      const [entity] = entities(card);
      expect(entities(card)).toHaveLength(1);
      expect(atTags(line!)).toEqual([entity!.text]);
      expect(entity!.mentioned).toEqual({ id: ownerIds[0], name: mentionName(name) });
      const inside = entity!.text.slice('<at>'.length, -'</at>'.length);
      for (const text of [line!.replace(entity!.text, ''), inside, entity!.mentioned.name]) {
        expect(text).not.toMatch(/[<>[\]{}*_~`\\&\u200B\u202E]|:\/\/|\$\{|\{\{/);
      }
      expect(libraryEvents(card)).toEqual([]);
    },
  );

  test('when an owner name is only markup, then the owner is listed by id and not mentioned', () => {
    const card = renderReminderDigest({
      credentials: [expiring({ ownerIds: [ownerIds[0]!] })],
      scanAt,
      ownerNames: { [ownerIds[0]!]: '<<[]>>' },
    });
    expect(entities(card)).toEqual([]);
    expect(ownerLines(card)).toEqual([`Owner: an owner (id ${ownerIds[0]})`]);
  });

  test('when a mention name is cleaned, then readable names keep their letters, accents and punctuation', () => {
    expect(mentionName('Zoë O’Brien-Łukasiewicz (IT, Ops)')).toBe('Zoë O’Brien-Łukasiewicz (IT, Ops)');
    expect(mentionName('</at><at>Global Admin')).toBe('/atatGlobal Admin');
    expect(mentionName('[x](https://evil)')).toBe('x(https:evil)');
    expect(mentionName('x'.repeat(500))).toHaveLength(120);
  });

  test.each([
    ['the app name', { appName: '[click](https://evil) **now** <at>x</at>' }],
    ['the credential name', { displayName: '{{DATE(2026-01-01T00:00:00Z)}} ${x}' }],
    ['the hint', { hint: '`x`' }],
  ] as const)('when %s holds markup, then it reaches the card only as TextRun text', (_, overrides) => {
    const card = renderReminderDigest({ credentials: [expiring(overrides)], scanAt, ownerNames });
    const value = Object.values(overrides)[0]!;
    const probe = value.slice(0, 6);
    const places = strings(card).filter((s) => visible(s.value).includes(probe));
    expect(places.length).toBeGreaterThan(0);
    for (const s of places) expect({ owner: s.owner.type, key: s.key }).toEqual({ owner: 'TextRun', key: 'text' });
    expect(strings(card).filter((s) => s.value.includes('${') || s.value.includes('{{'))).toEqual([]);
  });

  test('when the digest is one card of several, then the title says which part', () => {
    expect(runs(renderReminderDigest({ credentials: expiringMix(), scanAt, part: { index: 2, count: 3 } }))[0]).toBe(
      'Credentials expiring, part 2 of 3',
    );
    expect(runs(renderReminderDigest({ credentials: expiringMix(), scanAt, part: { index: 1, count: 1 } }))[0]).toBe(
      'Credentials expiring',
    );
  });
});

describe('service principal credentials', () => {
  const saml = () =>
    expiring({
      applicationObjectId: '0c1d2e3f-0000-4000-8000-0000000003a1',
      appName: 'Contoso Expenses (SAML)',
      kind: 'certificate',
      keyId: 'k-saml',
      displayName: 'CN=Microsoft Azure Federated SSO Certificate',
      hint: undefined,
      thumbprint: '9A8B7C6D5E4F30211203F4E5D6C7B8A990817263',
      source: 'servicePrincipal',
      samlSigning: true,
      managed: false,
    });
  const spSecret = () =>
    expiring({
      applicationObjectId: '0c1d2e3f-0000-4000-8000-0000000003a2',
      keyId: 'k-sp',
      source: 'servicePrincipal',
    });
  const renewal =
    "Renew it in the enterprise application's Single sign-on page in the Entra admin center: create a new certificate, make it active, then update the service provider.";

  test('when the digest lists an app registration, an enterprise application and its SAML certificate, then each row says which, and only the app registration offers Rotate', () => {
    const app = expiring();
    const card = renderReminderDigest({
      credentials: [app, saml(), spSecret()],
      scanAt,
      ownerNames,
      ownedApplications: new Set([app, saml(), spSecret()].map((c) => c.applicationObjectId)),
    });
    const text = all(card);
    expect(text).toContain(
      `Payroll sync\nApplication (client) ID ${appId}\nApp registration\nClient secret · Production`,
    );
    expect(text).toContain(
      `Contoso Expenses (SAML)\nApplication (client) ID ${appId}\nEnterprise application (service principal)\nSAML signing certificate · CN=Microsoft Azure Federated SSO Certificate · thumbprint 9A8B7C6D5E4F30211203F4E5D6C7B8A990817263`,
    );
    expect(text.split(renewal)).toHaveLength(2);
    expect(text).toContain('3 credentials · scan of');
    expect(buttons(card).map((b) => b.data)).toEqual([{ appId }]);
    expect(libraryEvents(card)).toEqual([]);
  });

  test('when an owner is reminded of a SAML certificate only, then the card says how to renew it, offers no Rotate and does not explain Rotate', () => {
    const card = renderOwnerReminder({ credentials: [saml()], ownerName: 'Megan Bowen' });
    const text = all(card);
    expect(text).toContain('Enterprise application (service principal)');
    expect(text).toContain(renewal);
    expect(buttons(card)).toEqual([]);
    expect(text).not.toContain('Rotate gives the app');
    expect(libraryEvents(card)).toEqual([]);
  });

  test('when an owner is reminded of an app secret and a SAML certificate, then Rotate is explained and offered for the secret alone', () => {
    const card = renderOwnerReminder({ credentials: [expiring(), saml()] });
    expect(all(card)).toContain('Rotate gives the app a new client secret');
    expect(buttons(card).map((b) => b.data)).toEqual([{ appId }]);
    expect(all(card).split(renewal)).toHaveLength(2);
  });

  test('when a digest with a SAML certificate is refreshed, then it comes back labelled and without Rotate', () => {
    const posted = renderReminderDigest({
      credentials: [saml()],
      scanAt,
      ownerNames,
      ownerTeamsIds: { [ownerIds[0]!]: '29:1-megan' },
    });
    const data = (posted.refresh as { action: { data: Record<string, unknown> } }).action.data;
    const view = digestFromRefresh(data)!;
    expect(view.credentials[0]).toMatchObject({ source: 'servicePrincipal', samlSigning: true });
    const card = renderReminderDigest({ ...view, ownedApplications: new Set([saml().applicationObjectId]) });
    expect(all(card)).toContain(renewal);
    expect(buttons(card)).toEqual([]);
  });

  test('when refresh data from an earlier card names no source, then its credentials are app registrations', () => {
    const { source: _source, samlSigning: _saml, keyId: _keyId, managed: _managed, ...earlier } = expiring();
    const view = digestFromRefresh({ digest: { scanAt: scanAt.toISOString(), credentials: [earlier] } })!;
    expect(view.credentials[0]).toMatchObject({ source: 'application', samlSigning: false });
  });
});

describe('splitting a digest', () => {
  const credentials = manyExpiring(500);
  const cards = splitDigest(credentials, { scanAt, ownerNames: manyOwnerNames });
  const rotated = listedAppIds;

  test('when 500 credentials expire, then the digest takes several cards, each valid and within the size budget', () => {
    expect(cards.length).toBeGreaterThan(1);
    const problems = cards.map((card, i) => ({
      card: i + 1,
      events: libraryEvents(card),
      extra: extraProblems(card),
      fits: cardBytes(card) <= digestCardBudget,
    }));
    expect(problems).toEqual(cards.map((_, i) => ({ card: i + 1, events: [], extra: [], fits: true })));
    expect(digestCardBudget).toBeLessThan(maxCardBytes);
  });

  test('when 500 credentials are split, then every credential is on exactly one card, most urgent first across the cards', () => {
    const listed = cards.flatMap(rotated);
    expect(listed).toHaveLength(credentials.length);
    expect(new Set(listed).size).toBe(credentials.length);
    const urgency = new Map(credentials.map((c) => [c.appId, c.threshold]));
    const thresholds = listed.map((id) => urgency.get(id)!);
    expect(thresholds).toEqual([...thresholds].sort((a, b) => a - b));
  });

  test('when 500 credentials are split, then the cards are numbered part 1 of n to part n of n and each counts its own credentials', () => {
    expect(cards.map((card) => runs(card)[0])).toEqual(
      cards.map((_, i) => `Credentials expiring, part ${i + 1} of ${cards.length}`),
    );
    for (const card of cards)
      expect(runs(card)[1]).toBe(`${rotated(card).length} credentials · scan of ${formatUtc(scanAt)}`);
  });

  test('when 500 credentials are split, then each card mentions exactly the owners named on it', () => {
    for (const card of cards) {
      expect(new Set(ownerLines(card).flatMap(atTags))).toEqual(new Set(entities(card).map((e) => e.text)));
    }
  });

  test('when every name is as long as it may be, then each card still fits', () => {
    const wide = '𝔚'.repeat(400);
    const owners = Array.from({ length: 12 }, (_, i) => `b0b0b0b0-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const big = manyExpiring(60).map((c, i) => ({
      ...c,
      appName: wide + i,
      displayName: wide,
      hint: wide,
      ownerIds: owners,
    }));
    const out = splitDigest(big, { scanAt, ownerNames: Object.fromEntries(owners.map((id, i) => [id, wide + i])) });
    expect(out.map(cardBytes).filter((bytes) => bytes > digestCardBudget)).toEqual([]);
    expect(out.flatMap(rotated)).toHaveLength(60);
  });

  test('when the budget is smaller than one credential, then each credential still gets a card of its own', () => {
    const out = splitDigest(expiringMix(), { scanAt, ownerNames, maxBytes: 100 });
    expect(out.map((card) => rotated(card).length)).toEqual([1, 1, 1, 1, 1]);
  });

  test('when few credentials expire, then there is one card without a part number', () => {
    const out = splitDigest(expiringMix(), { scanAt, ownerNames });
    expect(out).toHaveLength(1);
    expect(runs(out[0]!)[0]).toBe('Credentials expiring');
  });

  test('when nothing expires, then there is no card', () => {
    expect(splitDigest([], { scanAt })).toEqual([]);
  });
});

describe('owner reminder', () => {
  test('when an owner has expiring credentials, then the card lists them most urgent first, with Rotate buttons and no mentions', () => {
    const card = renderOwnerReminder({ credentials: expiringMix(), ownerName: 'Megan Bowen' });
    expect(runs(card)).toContain('Hello Megan Bowen,');
    expect(headings(card)[0]).toBe('Expired');
    expect(appOrder(card)).toEqual(['Badge reader', 'Door sync', 'Payroll sync', 'Timesheets', 'Wiki bot']);
    expect(buttons(card).map((b) => b.verb)).toEqual(Array(5).fill(Verb.rotationStart));
    expect(card.msteams).toBeUndefined();
    expect(all(card)).not.toContain('<at>');
    expect(libraryEvents(card)).toEqual([]);
  });

  test('when an owner has more credentials than the card lists, then it lists the most urgent and counts the rest', () => {
    const many = manyExpiring(45);
    const card = renderOwnerReminder({ credentials: many });
    const listed = buttons(card).length;
    expect(listed).toBeLessThanOrEqual(ownerReminderMax);
    expect(all(card)).toContain(
      `…and ${45 - listed} more credentials of your apps, not listed here. The reminders channel lists them all.`,
    );
    expect(headings(card)[0]).toBe('Expired');
    expect(cardBytes(card)).toBeLessThanOrEqual(digestCardBudget);
  });

  test('when the names are as long as they may be, then the card lists fewer and still fits', () => {
    const wide = '𝔚'.repeat(400);
    const card = renderOwnerReminder({
      credentials: manyExpiring(30).map((c): ExpiringCredential => ({ ...c, appName: wide, displayName: wide })),
    });
    expect(cardBytes(card)).toBeLessThanOrEqual(digestCardBudget);
    expect(all(card)).toContain(`…and ${30 - buttons(card).length} more credentials`);
  });

  test('when the owner has no name, then there is no greeting', () => {
    expect(runs(renderOwnerReminder({ credentials: expiringMix().slice(0, 1) }))[0]).toBe(
      'A credential of your app is expiring',
    );
  });
});

describe('rotation cleanup', () => {
  test('when the owner is asked, then the card shows the old and new secret by hint and expiry, warns plainly, and offers remove or keep', () => {
    const card = renderRotationCleanup(cleanupView());
    const text = all(card);
    expect(text).toContain('Remove the old secret?');
    expect(text).toContain('Old secret\nQ_e…');
    expect(text).toContain(`Valid until\n${formatUtc('2026-11-30T10:00:00Z')}`);
    expect(text).toContain('New secret\nXy7…');
    expect(text).toContain(`Valid until\n${formatUtc('2027-05-29T10:00:00Z')}`);
    expect(text).toContain('Removing the old secret breaks anything that still uses it');
    expect(buttons(card).map((b) => ({ title: b.title, verb: b.verb, data: b.data }))).toEqual([
      { title: 'Remove the old secret', verb: Verb.rotationRemoveOld, data: { requestId: 'R7T2K9M4' } },
      { title: 'Keep it for now', verb: Verb.rotationKeepOld, data: { requestId: 'R7T2K9M4' } },
    ]);
    expect(libraryEvents(card)).toEqual([]);
  });

  test('when the old credential was removed or kept, then the card says so and has no button', () => {
    const removed = renderRotationCleanup(cleanupView({ state: 'removed' }));
    const kept = renderRotationCleanup(cleanupView({ state: 'kept', message: 'Kept at your request.' }));
    expect(buttons(removed)).toEqual([]);
    expect(buttons(kept)).toEqual([]);
    expect(all(removed)).toContain('The old secret was removed');
    expect(all(removed)).toContain('can no longer sign in');
    expect(all(kept)).toContain('The old secret was kept');
    expect(all(kept)).toContain(`still works until ${formatUtc('2026-11-30T10:00:00Z')}`);
    expect(all(kept)).toContain('Kept at your request.');
  });

  test('when the old credential is a certificate, then the card shows its thumbprint and the button names it', () => {
    const card = renderRotationCleanup(
      cleanupView({
        old: { kind: 'certificate', keyId: 'k', thumbprint: 'ABCDEF0123', endDateTime: '2026-11-25T00:00:00Z' },
      }),
    );
    expect(all(card)).toContain('Old certificate\nABCDEF0123');
    expect(buttons(card)[0]).toMatchObject({ title: 'Remove the old certificate', verb: Verb.rotationRemoveOld });
  });

  test('when the app name, hint or message hold markup, then they reach the card only as TextRun text', () => {
    const card = renderRotationCleanup(
      cleanupView({
        appName: '[x](https://evil)',
        message: '${secret} {{DATE(x)}}',
        old: { ...cleanupView().old, hint: '**b**', displayName: '<at>y</at>' },
      }),
    );
    for (const probe of ['[x](http', '${secret', '**b**', '<at>y']) {
      const places = strings(card).filter((s) => visible(s.value).includes(probe));
      expect(places.length).toBeGreaterThan(0);
      for (const s of places) expect({ probe, owner: s.owner.type }).toEqual({ probe, owner: 'TextRun' });
    }
  });
});
