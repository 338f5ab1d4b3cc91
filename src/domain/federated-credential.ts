/**
 * A federated identity credential, as a person names the workload that will act as the app: GitHub Actions (an
 * organisation, a repository, and an environment, branch, tag or pull request), a Kubernetes service account, or any
 * issuer and subject. Checked field by field; the FederatedCredentialSpec Registrar sends to Graph is built here, with
 * its name derived on the server (never typed), so that the same workload always gets the same name.
 *
 * Entra ID matches issuer and subject exactly, case included, with no wildcards
 * (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations), so nothing is rewritten
 * that would change what a token must say.
 */
import { createHash } from 'node:crypto';
import { FEDERATED_AUDIENCE, type FederatedCredentialSpec } from './app-spec';
import { textProblem } from './text-rules';

/** GitHub's OIDC issuer (https://docs.github.com/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect). */
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

export type FederatedWorkloadKind = 'github' | 'kubernetes' | 'other';
export const federatedWorkloadKinds: readonly FederatedWorkloadKind[] = ['github', 'kubernetes', 'other'];

/** What a GitHub Actions job's token names besides its repository: its environment, branch, tag, or a pull request. */
export type GitHubEntity = 'environment' | 'branch' | 'tag' | 'pullRequest';
export const gitHubEntities: readonly GitHubEntity[] = ['environment', 'branch', 'tag', 'pullRequest'];

export type FederatedWorkload =
  | { kind: 'github'; organization: string; repository: string; entity: GitHubEntity; entityName?: string }
  | { kind: 'kubernetes'; issuer: string; namespace: string; serviceAccount: string }
  | { kind: 'other'; issuer: string; subject: string };

/** The form fields of a federated credential, shared by the request form and the `federate <app>` card. */
export const federatedFields = [
  'federatedWorkload',
  'githubOrganization',
  'githubRepository',
  'githubEntity',
  'githubEntityName',
  'kubernetesNamespace',
  'kubernetesServiceAccount',
  'federatedIssuer',
  'federatedSubject',
] as const;
export type FederatedField = (typeof federatedFields)[number];

export type FederatedResult =
  | { ok: true; workload: FederatedWorkload; credential: FederatedCredentialSpec }
  | { ok: false; errors: Partial<Record<FederatedField, string>> };

/** Graph's limits on issuer and subject (https://learn.microsoft.com/graph/api/resources/federatedidentitycredential). */
export const federatedLimits = { issuer: 600, subject: 600, name: 120, description: 600 } as const;

/** A GitHub user or organisation name: up to 39 letters, digits and single hyphens, neither first nor last. */
const gitHubOwner = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
/** A GitHub repository name: up to 100 letters, digits, '.', '_' and '-'. */
const gitHubRepository = /^[A-Za-z0-9._-]{1,100}$/;
/** RFC 1123 label: a Kubernetes namespace (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/). */
const dnsLabel = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** RFC 1123 subdomain: a Kubernetes ServiceAccount name, dot-separated labels, at most 253 characters. */
const isDnsSubdomain = (name: string) => name.length <= 253 && name.split('.').every((label) => dnsLabel.test(label));

/** What git check-ref-format refuses in a branch or tag name, as a sentence; undefined when the name is fine. */
function refProblem(name: string, what: 'branch' | 'tag'): string | undefined {
  const label = what === 'branch' ? 'The branch name' : 'The tag name';
  if (name === '') return `${label} is required: the one ${what} whose workflow runs may act as the app.`;
  if (name.length > 255) return `${label} is ${name.length} characters long; git refs this long are not supported.`;
  if (/[*?[]/.test(name))
    return `${label} holds a wildcard. Entra ID matches the subject exactly: name one ${what}, like ${what === 'branch' ? 'main' : 'v1.0.0'}, and add another credential for each other ${what}.`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:\\]/.test(name)) return `${label} holds a space or one of ~ ^ : \\, which git does not allow.`;
  if (
    name.includes('..') ||
    name.includes('@{') ||
    name.includes('//') ||
    /^[-/.]|[/.]$|\.lock$|\/\./.test(name) ||
    name === '@'
  )
    return `${label} is not a name git accepts for a ${what} (no "..", "@{", "//", no leading "-", "/" or ".", no trailing "/", "." or ".lock").`;
  return undefined;
}

/** An issuer URL as Entra accepts one: https, no user, query or fragment, at most 600 characters. */
export function issuerProblem(text: string, label: string): string | undefined {
  if (text === '') return `${label} is required: the https address its tokens name in their iss claim.`;
  const shown = textProblem(text, { label, max: federatedLimits.issuer });
  if (shown) return shown;
  if (text.length > federatedLimits.issuer)
    return `${label} is ${text.length} characters long; Entra ID accepts at most ${federatedLimits.issuer}.`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${label} is not a URL. Give the https address its tokens name in their iss claim, like https://oidc.example.com/.`;
  }
  if (url.protocol !== 'https:')
    return `${label} must start with https://: Entra ID fetches its signing keys from there, and only over TLS.`;
  if (url.username || url.password || url.search || url.hash || /\s/.test(text))
    return `${label} must be a plain https address, with no user name, query (?) or fragment (#), exactly as its tokens' iss claim says it.`;
  return undefined;
}

/** The subject Entra compares with the token's sub claim (https://learn.microsoft.com/entra/workload-id/workload-identity-federation-create-trust#github-actions). */
export function subjectOf(workload: FederatedWorkload): string {
  switch (workload.kind) {
    case 'github': {
      const repo = `repo:${workload.organization}/${workload.repository}`;
      switch (workload.entity) {
        case 'environment':
          return `${repo}:environment:${workload.entityName}`;
        case 'branch':
          return `${repo}:ref:refs/heads/${workload.entityName}`;
        case 'tag':
          return `${repo}:ref:refs/tags/${workload.entityName}`;
        case 'pullRequest':
          return `${repo}:pull_request`;
      }
      break;
    }
    case 'kubernetes':
      // https://learn.microsoft.com/azure/aks/workload-identity-deploy-cluster#create-the-federated-identity-credential
      return `system:serviceaccount:${workload.namespace}:${workload.serviceAccount}`;
    case 'other':
      return workload.subject;
  }
}

export function issuerOf(workload: FederatedWorkload): string {
  return workload.kind === 'github' ? GITHUB_ISSUER : workload.issuer;
}

/** The workload in plain words, as approvers and the requester read it: "GitHub Actions in contoso/payments, environment production". */
export function workloadWords(workload: FederatedWorkload): string {
  switch (workload.kind) {
    case 'github': {
      const where = `GitHub Actions in ${workload.organization}/${workload.repository}`;
      switch (workload.entity) {
        case 'environment':
          return `${where}, environment ${workload.entityName}`;
        case 'branch':
          return `${where}, branch ${workload.entityName}`;
        case 'tag':
          return `${where}, tag ${workload.entityName}`;
        case 'pullRequest':
          return `${where}, any pull request`;
      }
      break;
    }
    case 'kubernetes':
      return `Kubernetes service account ${workload.serviceAccount} in namespace ${workload.namespace}, of the cluster whose issuer is ${workload.issuer}`;
    case 'other':
      return `The workload ${workload.subject} of the identity provider ${workload.issuer}`;
  }
}

const slug = (text: string) =>
  text
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');

/**
 * Graph's name for the credential: letters, digits, '-' and '_', starting with a letter or digit, at most 120
 * characters, unique within the app. Readable words of the workload, then 8 hex digits of a hash of issuer and
 * subject: the same workload always gets the same name (so adding it twice is recognised), another one never does.
 */
export function federatedCredentialName(workload: FederatedWorkload): string {
  const words =
    workload.kind === 'github'
      ? ['github', workload.organization, workload.repository, workload.entity, workload.entityName ?? '']
      : workload.kind === 'kubernetes'
        ? ['kubernetes', workload.namespace, workload.serviceAccount]
        : ['federated', new URL(workload.issuer).hostname];
  const hash = createHash('sha256')
    .update(`${issuerOf(workload)}\n${subjectOf(workload)}`)
    .digest('hex')
    .slice(0, 8);
  const readable = slug(words.filter(Boolean).join('-')).slice(0, federatedLimits.name - hash.length - 1);
  return `${slug(readable) || 'federated'}-${hash}`;
}

export function federatedCredentialSpec(workload: FederatedWorkload): FederatedCredentialSpec {
  return {
    name: federatedCredentialName(workload),
    issuer: issuerOf(workload),
    subject: subjectOf(workload),
    audiences: [FEDERATED_AUDIENCE],
    description: `Added by Registrar: ${workloadWords(workload)}.`.slice(0, federatedLimits.description),
  };
}

/**
 * The federated credential a form describes: the workload chosen (federatedWorkload) and its own fields; the fields
 * of the other workloads are ignored, as the form shows them all.
 */
export function parseFederatedWorkload(values: Partial<Record<FederatedField, string>>): FederatedResult {
  const errors: Partial<Record<FederatedField, string>> = {};
  const get = (field: FederatedField) => (values[field] ?? '').trim();
  const fail = (field: FederatedField, message: string) => {
    errors[field] ??= message;
  };
  const kind = federatedWorkloadKinds.find((k) => k === get('federatedWorkload'));
  let workload: FederatedWorkload | undefined;
  if (!kind) {
    fail(
      'federatedWorkload',
      'Choose what will act as the app: GitHub Actions, a Kubernetes service account, or another identity provider.',
    );
  } else if (kind === 'github') {
    workload = gitHubWorkload(get, fail);
  } else if (kind === 'kubernetes') {
    const issuer = get('federatedIssuer');
    const namespace = get('kubernetesNamespace');
    const serviceAccount = get('kubernetesServiceAccount');
    const problem = issuerProblem(issuer, "The cluster's OIDC issuer URL");
    if (problem) fail('federatedIssuer', problem);
    if (namespace === '') fail('kubernetesNamespace', 'The namespace is required: the one the service account is in.');
    else if (!dnsLabel.test(namespace))
      fail(
        'kubernetesNamespace',
        'A Kubernetes namespace is at most 63 lower-case letters, digits and hyphens, starting and ending with a letter or digit, like payments.',
      );
    if (serviceAccount === '')
      fail('kubernetesServiceAccount', 'The service account is required: the pods that run as it act as the app.');
    else if (!isDnsSubdomain(serviceAccount))
      fail(
        'kubernetesServiceAccount',
        'A Kubernetes service account name is lower-case letters, digits, hyphens and dots (at most 253), each part starting and ending with a letter or digit, like payments-api.',
      );
    if (!problem && dnsLabel.test(namespace) && serviceAccount !== '' && isDnsSubdomain(serviceAccount))
      workload = { kind, issuer, namespace, serviceAccount };
  } else {
    const issuer = get('federatedIssuer');
    const subject = get('federatedSubject');
    const problem = issuerProblem(issuer, "The identity provider's issuer URL");
    if (problem) fail('federatedIssuer', problem);
    const subjectProblem =
      subject === ''
        ? 'The subject is required: the sub claim, exactly as the workload’s tokens carry it.'
        : textProblem(subject, { label: 'The subject', max: federatedLimits.subject });
    if (subjectProblem) fail('federatedSubject', subjectProblem);
    else if (subject.includes('*'))
      fail(
        'federatedSubject',
        'Entra ID matches the subject exactly and has no wildcards here: give the one sub claim the workload’s tokens carry.',
      );
    if (!problem && !errors.federatedSubject) workload = { kind, issuer, subject };
  }
  if (!workload || Object.keys(errors).length > 0) return { ok: false, errors };
  const credential = federatedCredentialSpec(workload);
  if (credential.subject.length > federatedLimits.subject) {
    const field = workload.kind === 'github' ? 'githubEntityName' : 'kubernetesServiceAccount';
    return {
      ok: false,
      errors: {
        [field]: `The subject this makes is ${credential.subject.length} characters long; Entra ID accepts at most ${federatedLimits.subject}. Use shorter names.`,
      },
    };
  }
  return { ok: true, workload, credential };
}

function gitHubWorkload(
  get: (field: FederatedField) => string,
  fail: (field: FederatedField, message: string) => void,
): FederatedWorkload | undefined {
  const organization = get('githubOrganization');
  const repository = get('githubRepository').replace(/\.git$/, '');
  const entity = gitHubEntities.find((e) => e === get('githubEntity'));
  let entityName = get('githubEntityName');
  let good = true;
  const bad = (field: FederatedField, message: string) => {
    fail(field, message);
    good = false;
  };
  if (organization === '')
    bad(
      'githubOrganization',
      'The organisation (or user) is required: the part before the / in the repository’s name.',
    );
  else if (!gitHubOwner.test(organization))
    bad(
      'githubOrganization',
      'A GitHub organisation or user name is at most 39 letters, digits and single hyphens, not starting or ending with a hyphen, like contoso.',
    );
  if (repository === '') bad('githubRepository', 'The repository is required: the part after the / in its name.');
  else if (!gitHubRepository.test(repository) || repository === '.' || repository === '..')
    bad(
      'githubRepository',
      'A GitHub repository name is at most 100 letters, digits, dots, hyphens and underscores, like payments-api.',
    );
  if (!entity) {
    bad('githubEntity', 'Choose which runs may act as the app: an environment, a branch, a tag, or pull requests.');
    return undefined;
  }
  if (entity === 'pullRequest') {
    if (entityName !== '')
      bad(
        'githubEntityName',
        'Pull requests need no name (every pull request of the repository may act as the app): leave this empty, or choose an environment, branch or tag.',
      );
    return good ? { kind: 'github', organization, repository, entity } : undefined;
  }
  if (entity === 'environment') {
    const problem =
      entityName === ''
        ? 'The environment name is required, exactly as the repository’s Settings › Environments spells it.'
        : textProblem(entityName, { label: 'The environment name', max: 255 });
    if (problem) bad('githubEntityName', problem);
    else if (entityName.includes(':'))
      bad('githubEntityName', 'The environment name holds a colon, which would make the subject ambiguous.');
  } else {
    // refs/heads/main and refs/tags/v1 are what the token says; a person may paste either form.
    entityName = entityName.replace(entity === 'branch' ? /^refs\/heads\// : /^refs\/tags\//, '');
    const problem = refProblem(entityName, entity);
    if (problem) bad('githubEntityName', problem);
  }
  return good ? { kind: 'github', organization, repository, entity, entityName } : undefined;
}
