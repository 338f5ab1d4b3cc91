/**
 * The `federate <app>` card: what it says of who decides and of the 20, the fields it puts back, and the Submit it
 * carries (the app's id and what it offered, nothing else).
 */
import { renderFederateCard, type FederateCardView } from '../../../src/cards/federate-card';
import { Verb } from '../../../src/cards/verbs';
import { federatedFields } from '../../../src/domain/federated-credential';
import { actionFor, cardInputs } from '../../helpers/cards';
import { cardText } from '../../helpers/teams';

const base: FederateCardView = {
  appId: 'a1e5c0de-0000-4000-9000-000000000203',
  appName: 'Expense Bot',
  askedAs: 'owner',
  existing: 3,
};

describe('renderFederateCard', () => {
  test('when an owner opens it, then it says the credential is added at Submit and how many of the 20 the app has', () => {
    const card = renderFederateCard(base);
    const text = cardText(card);

    expect(text).toContain('Add a federated credential to Expense Bot');
    expect(text).toContain('You own Expense Bot in Entra ID: Registrar adds the credential when you submit');
    expect(text).toContain('Expense Bot has 3 federated credentials of the 20 Entra ID allows.');
    expect(text).not.toMatch(/nothing was added/i);
    expect(actionFor(card, Verb.federateSubmit).data).toEqual({ appId: base.appId, offeredAs: 'owner' });
  });

  test('when an owner must wait for approvers, or someone else asks, then the card says who decides and why', () => {
    expect(
      cardText(renderFederateCard({ ...base, approvalReason: 'its service principal holds Directory.ReadWrite.All' })),
    ).toContain('an approver decides first because its service principal holds Directory.ReadWrite.All');
    const asking = renderFederateCard({ ...base, askedAs: 'approval', approvalReason: 'not an owner' });
    expect(cardText(asking)).toContain('so this goes to the approvers; you cannot approve it yourself');
    expect(actionFor(asking, Verb.federateSubmit).data).toEqual({ appId: base.appId, offeredAs: 'approval' });
  });

  test('when it comes back after a refused field, then the values typed are kept and the message is under the field', () => {
    const card = renderFederateCard({
      ...base,
      values: { federatedWorkload: 'other', federatedIssuer: 'https://issuer.example.com', federatedSubject: 'a*' },
      errors: { federatedSubject: 'No wildcards here.' },
    });
    const inputs = new Map([...cardInputs(card).values()].map((i) => [i.id, i.value]));

    expect(inputs.get('federatedWorkload')).toBe('other');
    expect(inputs.get('federatedIssuer')).toBe('https://issuer.example.com');
    expect(inputs.get('federatedSubject')).toBe('a*');
    expect(cardText(card)).toContain('Nothing was added: one field needs a change, marked below.');
    expect(cardText(card)).toContain('No wildcards here.');
  });

  test('when the card is rendered, then its inputs are exactly the shared federated credential fields', () => {
    expect([...cardInputs(renderFederateCard(base)).keys()].sort()).toEqual([...federatedFields].sort());
  });

  test('when a value typed holds template text, then it is shown as text and never expanded', () => {
    const card = renderFederateCard({ ...base, appName: '${appId}', values: { githubOrganization: '${verb}' } });
    expect(JSON.stringify(card)).not.toContain('${');
  });
});
