/** What the request card tests share: how a person sees a card (buttons, inputs, text), and a request in every status. */
import type { AdaptiveCard } from '../../../src/cards/adaptive-card';
import type { AppRequest, RequestStatus } from '../../../src/domain/request';
import { requestAfter, requests, riskyForm } from './card-samples';
import { objectsOfType, texts, visible, type Json } from './card-walk';

/** Every Action.Execute a person can click (the root's refresh action is not a button). */
export function buttons(card: AdaptiveCard): Json[] {
  const { refresh: _refresh, ...rest } = card;
  return objectsOfType(rest, 'Action.Execute');
}
export const titles = (card: AdaptiveCard) => buttons(card).map((b) => b.title);
export const inputs = (card: AdaptiveCard) =>
  objectsOfType(card, 'Input.Text', 'Input.ChoiceSet', 'Input.Number', 'Input.Toggle', 'Input.Date', 'Input.Time');
export const input = (card: AdaptiveCard, id: string) => inputs(card).find((i) => i.id === id);
export const all = (card: AdaptiveCard) => texts(card).join('\n');
/** The text of every TextRun, as a person reads it. */
export const runs = (card: AdaptiveCard) => objectsOfType(card, 'TextRun').map((run) => visible(String(run.text)));

/** A request of every status, each reached through the legal moves. */
export const byStatus: Record<RequestStatus, () => AppRequest> = {
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
