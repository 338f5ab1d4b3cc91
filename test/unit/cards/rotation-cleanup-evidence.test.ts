/** @jest-environment jsdom */
/**
 * The rotation cleanup card with Entra's sign-in report: when the old credential last signed in, a warning while it
 * is in use, what the card says when the report cannot be read, and when a Remove click was stopped by a new sign-in.
 */
import type { AdaptiveCard } from '../../../src/cards/adaptive-card';
import { renderRotationCleanup } from '../../../src/cards/reminder-cards';
import { formatUtc } from '../../../src/cards/render';
import { Verb } from '../../../src/cards/verbs';
import { libraryEvents } from './card-library';
import { cleanupView } from './card-samples';
import { objectsOfType, texts, visible } from './card-walk';

const all = (card: AdaptiveCard) => texts(card).join('\n');
/** The texts of bold runs: what the card stresses. */
const bold = (card: AdaptiveCard) =>
  objectsOfType(card, 'TextRun')
    .filter((run) => run.weight === 'Bolder')
    .map((run) => visible(String(run.text)));
const buttons = (card: AdaptiveCard) => objectsOfType(card, 'Action.Execute').map((action) => action.verb);

const created = '2026-11-20T09:00:00Z';
const readAt = '2026-11-20T12:00:00Z';
const view = (signIns: NonNullable<Parameters<typeof cleanupView>[0]>['signIns']) =>
  cleanupView({ newSecret: { hint: 'Xy7', endDateTime: '2027-05-29T10:00:00Z', createdAt: created }, signIns });

describe('rotation cleanup with sign-in evidence', () => {
  test('when the old secret signed in after the new one was made, then the card shows when and warns it is still in use', () => {
    const card = renderRotationCleanup(view({ readAt, lastSignIn: '2026-11-20T11:30:00Z' }));

    expect(all(card)).toContain(`Last signed in\n${formatUtc('2026-11-20T11:30:00Z')}`);
    expect(bold(card).join('\n')).toContain('Still in use: the old secret signed in at');
    expect(all(card)).toContain(`read ${formatUtc(readAt)}; it can lag by hours`);
    expect(buttons(card)).toEqual([Verb.rotationRemoveOld, Verb.rotationKeepOld]);
    expect(libraryEvents(card)).toEqual([]);
  });

  test('when the old secret signed in days before the new one was made, then the card still warns it is probably in use', () => {
    const card = renderRotationCleanup(view({ readAt, lastSignIn: '2026-11-17T08:00:00Z' }));

    expect(bold(card).join('\n')).toContain('Probably still in use: the old secret signed in 3 days ago');
  });

  test('when the old secret has not signed in for weeks, or never, then the card says so without a warning', () => {
    const idle = renderRotationCleanup(view({ readAt, lastSignIn: '2026-07-20T12:00:00Z' }));
    const never = renderRotationCleanup(view({ readAt }));

    expect(all(idle)).toContain('Nothing has signed in with the old secret for 123 days');
    expect(bold(idle).join('\n')).not.toMatch(/in use/);
    expect(all(never)).toContain('Last signed in\nNo sign-in on record');
    expect(all(never)).toContain('Entra has no sign-in with the old secret on record');
  });

  test('when the report cannot be read, then the card says why and that it cannot tell, instead of a date', () => {
    const card = renderRotationCleanup(
      view({
        readAt,
        unavailable:
          'This tenant has no Microsoft Entra ID P1 or P2 licence, which Entra needs to report when a credential was last used.',
      }),
    );

    expect(all(card)).toContain('Last signed in\nNot known');
    expect(bold(card).join('\n')).toContain(
      'Registrar cannot tell whether the old secret is still in use: This tenant has no Microsoft Entra ID P1 or P2 licence',
    );
    expect(all(card)).not.toContain('No sign-in on record');
  });

  test('when a Remove click found a sign-in the card had not shown, then the card says it did not remove and asks again', () => {
    const card = renderRotationCleanup(view({ readAt, lastSignIn: '2026-11-20T11:55:00Z', stoppedRemove: true }));

    expect(all(card)).toContain(
      `Not removed: the old secret signed in at ${formatUtc('2026-11-20T11:55:00Z')}, which this card had not shown yet.`,
    );
    expect(buttons(card)).toEqual([Verb.rotationRemoveOld, Verb.rotationKeepOld]);
  });

  test('when the card comes from before the report was read, then it shows no sign-in line at all', () => {
    expect(all(renderRotationCleanup(cleanupView()))).not.toContain('Last signed in');
  });
});
