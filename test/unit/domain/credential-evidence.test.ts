/** When a rotation's old credential counts as in use, and when a reading at the Remove click is news. */
import { credentialUse, evidenceOf, signedInSince } from '../../../src/domain/credential-evidence';

const created = '2026-11-20T09:00:00Z';
const readAt = '2026-11-20T12:00:00Z';
const DAY = 86_400_000;
const daysBefore = (days: number) => new Date(Date.parse(readAt) - days * DAY).toISOString();

describe('credential use from the sign-in report', () => {
  test('when it signed in after the new secret was made, then it is in use however long ago that was read', () => {
    expect(credentialUse({ readAt: '2027-01-01T00:00:00Z', lastSignIn: '2026-11-20T09:00:01Z' }, created)).toBe(
      'in-use',
    );
  });

  test('when it signed in before the new secret, within a week, then it is recent; a week or more, idle', () => {
    expect(credentialUse({ readAt, lastSignIn: daysBefore(6.9) }, created)).toBe('recent');
    expect(credentialUse({ readAt, lastSignIn: daysBefore(7) }, created)).toBe('idle');
  });

  test('when there is no sign-in or no report, then it is never or unknown', () => {
    expect(credentialUse({ readAt }, created)).toBe('never');
    expect(credentialUse({ readAt, unavailable: 'no licence' }, created)).toBe('unknown');
  });

  test('when the report answers for other keys, then the reading is for the one asked, by keyId in any case', () => {
    const answer = new Map([['b7d0f8a2-0000-4000-8000-00000000000a', '2026-11-19T00:00:00Z']]);
    const now = new Date(readAt);
    const at = now.toISOString();
    expect(evidenceOf(answer, 'B7D0F8A2-0000-4000-8000-00000000000A', now)).toEqual({
      readAt: at,
      lastSignIn: '2026-11-19T00:00:00Z',
    });
    expect(evidenceOf(answer, 'b7d0f8a2-0000-4000-8000-00000000000b', now)).toEqual({ readAt: at });
    expect(evidenceOf({ unavailable: 'no licence' }, 'x', now)).toEqual({ readAt: at, unavailable: 'no licence' });
  });
});

describe('a new sign-in at the Remove click', () => {
  const shown = { readAt, lastSignIn: '2026-11-19T00:00:00Z' };

  test('when the click reads a later sign-in, or the first one, then it is news', () => {
    expect(signedInSince(shown, { readAt, lastSignIn: '2026-11-20T11:00:00Z' })).toBe(true);
    expect(signedInSince({ readAt }, { readAt, lastSignIn: '2026-11-20T11:00:00Z' })).toBe(true);
    expect(signedInSince({ readAt, unavailable: 'x' }, { readAt, lastSignIn: '2026-11-20T11:00:00Z' })).toBe(true);
  });

  test('when the click reads the same, nothing, or no report, or the card showed no reading, then it is not', () => {
    expect(signedInSince(shown, { ...shown })).toBe(false);
    expect(signedInSince(shown, { readAt })).toBe(false);
    expect(signedInSince(shown, { readAt, unavailable: 'busy' })).toBe(false);
    expect(signedInSince(undefined, { readAt, lastSignIn: '2026-11-20T11:00:00Z' })).toBe(false);
  });
});
