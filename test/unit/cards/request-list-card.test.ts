/** @jest-environment jsdom */
import { renderRequestList } from '../../../src/cards/request-list-card';
import { Verb } from '../../../src/cards/verbs';
import { requests } from './card-samples';
import { cardBytes, maxCardBytes, texts } from './card-walk';
import { buttons, all } from './request-card-helpers';

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
    expect(buttons(card)).toEqual(
      list.map(() =>
        expect.objectContaining({ title: 'Show', verb: Verb.requestShow, data: { requestId: 'F3K92M7Q' } }),
      ),
    );
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
    const card = renderRequestList({
      title: 'Waiting for your decision',
      requests: [],
      empty: 'Nothing waits for your decision.',
    });
    expect(texts(card)).toEqual(['Waiting for your decision', 'Nothing waits for your decision.']);
    expect(buttons(card)).toEqual([]);
  });
});
