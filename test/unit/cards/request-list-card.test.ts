/** @jest-environment jsdom */
import { expiryWords, renderRequestList } from '../../../src/cards/request-list-card';
import { Verb } from '../../../src/cards/verbs';
import { myAppViews, requests, rotationRequest, scanAt } from './card-samples';
import { cardBytes, maxCardBytes, objectsOfType, texts } from './card-walk';
import { buttons, all } from './request-card-helpers';

describe('request list', () => {
  test('when requests are listed, then each has one row with its name, id, status, risk and date, and a Show button', () => {
    const list = [requests.submitted(), requests.delivered()];
    const card = renderRequestList({ title: 'Your requests', requests: list, empty: 'None.' });
    const text = texts(card);
    expect(text[0]).toBe('Your requests');
    expect(text).toEqual(
      expect.arrayContaining([
        'Payroll sync  Request F3K92M7Q',
        'Waiting for approval (1 of 2) · High risk · 2 Mar 2026, 09:00 UTC',
        'Delivered · High risk · 2 Mar 2026, 09:00 UTC',
      ]),
    );
    expect(buttons(card)).toEqual(
      list.map(() =>
        expect.objectContaining({ title: 'Show', verb: Verb.requestShow, data: { requestId: 'F3K92M7Q' } }),
      ),
    );
    expect(text).not.toContain('None.');
  });

  test('when an approver lists a rotation, then its row reads as a new client secret for the app, with a rotation reference rather than a request id', () => {
    const rotation = rotationRequest();
    const card = renderRequestList({ title: 'Waiting for your decision', requests: [rotation], empty: 'None.' });
    expect(texts(card)).toContain(
      `New client secret for ${rotation.form.displayName}  Rotation reference ${rotation.id}`,
    );
    expect(texts(card).join('\n')).not.toMatch(/Request 7K3M9Q2X/);
  });

  test('when there are more than 25 requests, then 25 rows are shown and the rest counted', () => {
    const many = Array.from({ length: 31 }, () => requests.submitted());
    const card = renderRequestList({ title: 'Waiting for your decision', requests: many, empty: 'None.' });
    expect(buttons(card)).toHaveLength(25);
    expect(all(card)).toContain('…and 6 more, not shown.');
    expect(cardBytes(card)).toBeLessThan(maxCardBytes);
  });

  test('when there is no request, then the empty text is shown and no button', () => {
    const card = renderRequestList({
      title: 'Waiting for your decision',
      requests: [],
      empty: 'Nothing waits for your decision.',
    });
    expect(texts(card)).toEqual(['Waiting for your decision', 'Nothing waits for your decision.']);
    expect(buttons(card)).toEqual([]);
  });
  describe('mine', () => {
    const mine = (notShown = 0) =>
      renderRequestList({
        title: 'Your apps and requests',
        apps: { items: myAppViews(), notShown, now: scanAt },
        requests: [requests.delivered()],
        empty: 'None.',
      });

    test('when the person has apps, then each is listed with its client id on its own line and each credential with its kind, name, expiry and days left in words', () => {
      const text = texts(mine());
      expect(text).toEqual(
        expect.arrayContaining([
          'Your apps',
          'Expense Bot',
          'Application (client) ID',
          'a1e5c0de-0000-4000-9000-000000000203',
          '2 credentials',
          'Client secret Expense Bot secret (Ex3…) · expires 30 Nov 2026, 08:00 UTC · 7 days left',
          'Certificate CN=expense-bot (thumbprint 3F2A9C7B…) · expires 1 Mar 2027, 00:00 UTC · 97 days left',
          'New client secret asked for on 20 Nov 2026, 08:00 UTC: revealed',
          'Registrar could not read its credentials just now; try again in a minute.',
          'Your requests for new apps',
          'Payroll sync  Request F3K92M7Q',
        ]),
      );
      expect(text.join('\n')).not.toMatch(/\(s\)/);
      // The client id is never wrapped inside the value.
      expect(
        objectsOfType(mine(), 'TextBlock').find((b) => b.text === 'a1e5c0de-0000-4000-9000-000000000203'),
      ).toMatchObject({
        fontType: 'Monospace',
        wrap: false,
      });
    });

    test("when the days left are few, then they are said in bold words in the default colour: Teams' red and yellow text fail WCAG AA in one theme or the other", () => {
      const soon = objectsOfType(mine(), 'TextRun').find((r) => r.text === '7 days left');
      expect(soon).toMatchObject({ weight: 'Bolder' });
      expect(soon?.color).toBeUndefined();
    });

    test('when a secret was made by Reveal, then it is named as made by Registrar, not by the id of a request the owner may not have made', () => {
      const [app] = myAppViews();
      const made = { ...app!.credentials![0]!, displayName: 'Registrar DNH5ZYME', hint: 'Q7x' };
      const card = renderRequestList({
        title: 'Your apps and requests',
        apps: { items: [{ ...app!, credentials: [made] }], notShown: 0, now: scanAt },
        requests: [],
        empty: 'None.',
      });
      expect(all(card)).toContain(
        'Client secret made by Registrar (Q7x…) · expires 30 Nov 2026, 08:00 UTC · 7 days left',
      );
      expect(all(card)).not.toContain('DNH5ZYME');
    });

    test('when more apps were found than read, then the card says how many more', () => {
      expect(all(mine(3))).toContain('3 more apps not shown');
      expect(all(mine(1))).toContain('1 more app not shown');
      expect(all(mine(0))).not.toContain('not shown');
    });

    test('when the person has no app, then the card says so and still lists the requests', () => {
      const card = renderRequestList({
        title: 'Your apps and requests',
        apps: { items: [], notShown: 0, now: scanAt },
        requests: [],
        empty: 'You have not asked for any app yet.',
      });
      expect(all(card)).toContain('Registrar has made or rotated no app for you yet.');
      expect(all(card)).toContain('You have not asked for any app yet.');
    });

    test('when pending is listed, then no apps section appears', () => {
      const card = renderRequestList({ title: 'Waiting for your decision', requests: [], empty: 'Nothing.' });
      expect(all(card)).not.toMatch(/Your apps|credential/);
    });

    test.each([
      ['2026-12-03T06:00:00Z', '10 days left'],
      ['2026-11-24T06:00:00Z', '1 day left'],
      ['2026-11-23T18:00:00Z', 'expires within a day'],
      ['2026-11-23T05:00:00Z', 'expired today'],
      ['2026-11-22T05:00:00Z', 'expired 1 day ago'],
      ['2026-11-20T05:00:00Z', 'expired 3 days ago'],
    ])('when a credential ends on %s, then it reads "%s"', (end, text) => {
      expect(expiryWords(end, scanAt)).toBe(text);
    });
  });
});
