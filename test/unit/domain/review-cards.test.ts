import { MAX_REVIEW_CARDS, withReviewCard, type ReviewCardRef } from '../../../src/domain/request';

const address = (conversationId: string) => ({
  channelId: 'msteams',
  serviceUrl: 'https://smba.trafficmanager.net/emea/',
  conversation: { id: conversationId, conversationType: 'personal' },
  bot: { id: '28:registrar' },
});

const megan = { id: '29:megan', aadObjectId: 'a1e5c0de-0000-4000-8000-000000000021', name: 'Megan Bowen' };
const adele = { id: '29:adele', aadObjectId: 'a1e5c0de-0000-4000-8000-000000000022', name: 'Adele Vance' };

function card(activityId: string, viewer = megan, conversationId = `a:${viewer.id}`): ReviewCardRef {
  return { conversationId, activityId, address: address(conversationId), viewer, shownAt: '2026-01-05T10:00:00.000Z' };
}

describe('the approval cards a request keeps from personal chats', () => {
  test('when a card is answered for the first time, then it is added as the newest', () => {
    const first = card('1');
    expect(withReviewCard(undefined, first)).toEqual([first]);
    const second = card('2', adele);
    expect(withReviewCard([first], second)).toEqual([first, second]);
  });

  test('when the same card is answered again for the same person (a refresh, a second click), then nothing changes', () => {
    const cards = [card('1'), card('2', adele)];
    expect(withReviewCard(cards, card('1'))).toBeUndefined();
    expect(
      withReviewCard(cards, { ...card('1'), viewer: { ...megan, aadObjectId: megan.aadObjectId.toUpperCase() } }),
    ).toBeUndefined();
  });

  test('when the same message id comes from another conversation, then it is another card', () => {
    const mine = card('1');
    const theirs = card('1', adele);
    expect(withReviewCard([mine], theirs)).toEqual([mine, theirs]);
  });

  test('when a message is shown to someone else than it was recorded for, then the newer record replaces it', () => {
    const before = card('1', megan, 'a:shared');
    const after = card('1', adele, 'a:shared');
    expect(withReviewCard([before, card('2')], after)).toEqual([card('2'), after]);
  });

  test(`when more than ${MAX_REVIEW_CARDS} cards were opened, then only the newest ${MAX_REVIEW_CARDS} are kept`, () => {
    let cards: ReviewCardRef[] = [];
    for (let i = 1; i <= MAX_REVIEW_CARDS + 3; i++) cards = withReviewCard(cards, card(String(i))) ?? cards;
    expect(cards.map((c) => c.activityId)).toEqual(Array.from({ length: MAX_REVIEW_CARDS }, (_, i) => String(i + 4)));
  });
});
