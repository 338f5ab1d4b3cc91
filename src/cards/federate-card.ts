/**
 * The `federate <app>` card: the federated credential fields of the request form (federatedFields), for an app that
 * exists, with who decides and how many of Entra ID's 20 the app holds. Submit sends the app's id and what the card
 * offered (owner or approval) and nothing else: the server reads the right again (federation-service.ts).
 */
import federateTemplate from '../../adaptiveCards/federate.json';
import { MAX_FEDERATED_CREDENTIALS } from '../domain/app-spec';
import { federatedWorkloadKinds, gitHubEntities, type FederatedField } from '../domain/federated-credential';
import type { AdaptiveCard } from './adaptive-card';
import { plural } from './request-card-parts';
import { expandTemplate, safeText, TextLimit } from './render';
import { Verb } from './verbs';

export interface FederateCardView {
  appId: string;
  appName: string;
  askedAs: 'owner' | 'approval';
  /** Why the approvers decide first, when they do. */
  approvalReason?: string;
  /** The app's federated credentials now. */
  existing: number;
  /** What the person typed, put back after a refusal. */
  values?: Partial<Record<FederatedField, string>>;
  /** A message under each bad field. */
  errors?: Partial<Record<FederatedField, string>>;
}

/** A little above what the server accepts (federated-credential.ts), so that too long is said, not cut silently. */
const echoMax: Record<FederatedField, number> = {
  federatedWorkload: 20,
  githubOrganization: 60,
  githubRepository: 120,
  githubEntity: 20,
  githubEntityName: 260,
  kubernetesNamespace: 70,
  kubernetesServiceAccount: 260,
  federatedIssuer: 620,
  federatedSubject: 620,
};

export function renderFederateCard(view: FederateCardView): AdaptiveCard {
  const v = view.values ?? {};
  const echo = (field: FederatedField) => safeText(v[field], { max: echoMax[field] });
  const appName = safeText(view.appName, { max: TextLimit.title }) || 'the app';
  const errors = Object.fromEntries(
    Object.entries(view.errors ?? {})
      .map(([field, message]) => [field, safeText(message, { max: TextLimit.paragraph })])
      .filter(([, message]) => message),
  );
  const problems = Object.keys(errors).length;
  const decides =
    view.askedAs === 'owner' && !view.approvalReason
      ? `You own ${appName} in Entra ID: Registrar adds the credential when you submit, and nothing else about the app changes.`
      : view.askedAs === 'owner'
        ? `You own ${appName}, and an approver decides first because ${safeText(view.approvalReason, { max: TextLimit.paragraph })}.`
        : `You do not own ${appName} in Entra ID, so this goes to the approvers; you cannot approve it yourself.`;
  return expandTemplate(federateTemplate, {
    appId: safeText(view.appId, { max: TextLimit.reference }),
    appName,
    askedAs: view.askedAs,
    existingLine: `${appName} has ${plural(view.existing, 'federated credential')} of the ${MAX_FEDERATED_CREDENTIALS} Entra ID allows.`,
    decides,
    problem:
      problems > 0
        ? `Nothing was added: ${problems === 1 ? 'one field needs' : `${problems} fields need`} a change, marked below.`
        : undefined,
    values: {
      federatedWorkload: federatedWorkloadKinds.find((k) => k === v.federatedWorkload?.trim()) ?? 'github',
      githubOrganization: echo('githubOrganization'),
      githubRepository: echo('githubRepository'),
      githubEntity: gitHubEntities.find((e) => e === v.githubEntity?.trim()) ?? 'environment',
      githubEntityName: echo('githubEntityName'),
      kubernetesNamespace: echo('kubernetesNamespace'),
      kubernetesServiceAccount: echo('kubernetesServiceAccount'),
      federatedIssuer: echo('federatedIssuer'),
      federatedSubject: echo('federatedSubject'),
    },
    errors,
    verb: Verb,
  });
}
