/** @jest-environment jsdom */
import { Template } from 'adaptivecards-templating';
import type { AdaptiveCard } from '../../../src/cards/adaptive-card';
import { renderApproval } from '../../../src/cards/approval-card';
import { renderDelivery } from '../../../src/cards/delivery-card';
import { renderRequestForm } from '../../../src/cards/request-form-card';
import { renderRequestList } from '../../../src/cards/request-list-card';
import { renderRequestStatus } from '../../../src/cards/request-status-card';
import type { AppRequest } from '../../../src/domain/request';
import { formLimits } from '../../../src/domain/request-form';
import { renderInDom } from './card-library';
import { approverIds, formView, requests, tenantId, trail } from './card-samples';
import { objectsOfType, strings, visible } from './card-walk';
import { input, runs } from './request-card-helpers';

// What holds for every request card; each card's own behaviour is tested in its file (approval-card.test.ts, ...).
describe('text from people on the request cards', () => {
  const hostile =
    'Pay [link](https://evil.example) ${x} ${$root.secret} {{DATE(2026-01-01T00:00:00Z, SHORT)}} **bold** <at>Someone</at>';
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
    [
      'the status card',
      () =>
        renderRequestStatus({
          request: hostileRequest(),
          viewer: 'requester',
          audit: [{ ...trail('rejected')[0]!, detail: hostile, by: { aadObjectId: 'x', name: hostile } }],
        }),
    ],
    ['the list', () => renderRequestList({ title: 'Your requests', requests: [hostileRequest()], empty: 'None.' })],
    [
      'the approval card',
      () =>
        renderApproval({ request: hostileRequest(), mode: 'approver', refreshUserIds: approverIds, message: hostile }),
    ],
    [
      'the delivery card',
      () => renderDelivery({ request: hostileRequest(), tenantId, state: 'ready', message: hostile }),
    ],
  ];

  test.each(cards)(
    'when names, the purpose and the reason hold markdown and expressions, then %s shows them only as TextRun text, neutralised',
    (_, render) => {
      const card = render();
      const holding = strings(card).filter((s) => visible(s.value).includes(probe));
      expect(holding.length).toBeGreaterThan(0);
      expect(
        holding.map((s) => `${String(s.owner.type)}.${s.key}`).filter((where) => where !== 'TextRun.text'),
      ).toEqual([]);
      expect(strings(card).filter((s) => s.value.includes('${') || s.value.includes('{{'))).toEqual([]);
      expect(runs(card).some((text) => text.includes(hostile))).toBe(true);
      expect(objectsOfType(card, 'Action.OpenUrl', 'Action.Submit', 'Action.ShowCard')).toEqual([]);
      const again = new Template(card).expand({ $root: { secret: 'S3CRET', x: 'X' } }) as unknown;
      expect(again).toEqual(card);
    },
  );

  test.each(cards)(
    'when names, the purpose and the reason hold markdown, then %s renders them as raw text, unformatted and unlinked',
    (_, render) => {
      const { element, markdownInputs } = renderInDom(render());
      expect(visible(element.textContent ?? '')).toContain(probe);
      expect(markdownInputs.filter((text) => visible(text).includes(probe))).toEqual([]);
      expect(element.querySelectorAll('a, strong, b, em, i, at').length).toBe(0);
    },
  );

  test('when form values hold markdown and expressions, then they go back only as input values, neutralised', () => {
    const card = renderRequestForm(
      formView({
        values: { name: hostile, purpose: hostile, redirectUris: hostile },
        errors: { name: hostile },
        notice: hostile,
        filter: hostile,
      }),
    );
    const holding = strings(card).filter((s) => visible(s.value).includes(probe));
    expect(new Set(holding.map((s) => `${String(s.owner.type)}.${s.key}`))).toEqual(
      new Set(['Input.Text.value', 'TextRun.text']),
    );
    expect(strings(card).filter((s) => s.value.includes('${') || s.value.includes('{{'))).toEqual([]);
    expect(visible(String(input(card, 'purpose')?.value))).toBe(hostile);
  });

  test('when a form value starts with a brace or ends with a dollar, then it goes back exactly as typed', () => {
    const card = renderRequestForm(
      formView({ values: { name: '{Payroll}', purpose: 'Costs about 500$', otherPermissions: 'x {' } }),
    );
    expect([input(card, 'name')?.value, input(card, 'purpose')?.value, input(card, 'otherPermissions')?.value]).toEqual(
      ['{Payroll}', 'Costs about 500$', 'x {'],
    );
  });

  test('when a value is cut for the card, then it ends with an ellipsis within its cap', () => {
    const long = 'w'.repeat(5000);
    const status = renderRequestStatus({
      request: { ...requests.rejected(), rejection: { ...requests.rejected().rejection!, reason: long } },
      viewer: 'requester',
    });
    const reason = runs(status).find((t) => t.startsWith('www'))!;
    expect(Array.from(reason).length).toBeLessThanOrEqual(formLimits.purpose);
    expect(reason.endsWith('…')).toBe(true);
  });
});
