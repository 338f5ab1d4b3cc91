/**
 * The shape of an expanded card, as much as the renderers and tests need. Deliberately not botbuilder's
 * Attachment or the adaptivecards classes: src/cards/ must load where those cannot (a jsdom test environment).
 */
export type AdaptiveCard = {
  type: 'AdaptiveCard';
  version: string;
  body: unknown[];
  actions?: unknown[];
  [k: string]: unknown;
};
