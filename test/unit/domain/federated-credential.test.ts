import { FEDERATED_AUDIENCE } from '../../../src/domain/app-spec';
import {
  GITHUB_ISSUER,
  federatedCredentialName,
  parseFederatedWorkload,
  workloadWords,
  type FederatedField,
} from '../../../src/domain/federated-credential';

const parse = (values: Partial<Record<FederatedField, string>>) => parseFederatedWorkload(values);
const github = (entity: string, entityName = '') =>
  parse({
    federatedWorkload: 'github',
    githubOrganization: 'contoso',
    githubRepository: 'payments',
    githubEntity: entity,
    githubEntityName: entityName,
  });

describe('a federated credential from the form', () => {
  test.each([
    ['environment', 'production', 'repo:contoso/payments:environment:production'],
    ['branch', 'main', 'repo:contoso/payments:ref:refs/heads/main'],
    ['branch', 'refs/heads/release/2.0', 'repo:contoso/payments:ref:refs/heads/release/2.0'],
    ['tag', 'v1.2.0', 'repo:contoso/payments:ref:refs/tags/v1.2.0'],
    ['pullRequest', '', 'repo:contoso/payments:pull_request'],
  ])('when GitHub Actions %s "%s" is named, then the subject is %s, issued by GitHub', (entity, name, subject) => {
    const result = github(entity, name);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.credential).toMatchObject({ issuer: GITHUB_ISSUER, subject, audiences: [FEDERATED_AUDIENCE] });
    expect(result.credential.name).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$/);
  });

  test('when the approver reads it, then the workload is in plain words', () => {
    const result = github('environment', 'production');
    expect(result.ok && workloadWords(result.workload)).toBe(
      'GitHub Actions in contoso/payments, environment production',
    );
  });

  test('when a Kubernetes service account is named, then the subject is system:serviceaccount:<ns>:<sa> and the issuer is kept exactly', () => {
    const issuer = 'https://eastus.oic.prod-aks.azure.com/tenant/cluster/';
    const result = parse({
      federatedWorkload: 'kubernetes',
      federatedIssuer: issuer,
      kubernetesNamespace: 'payments',
      kubernetesServiceAccount: 'payments-api',
    });
    expect(result.ok && result.credential).toMatchObject({
      issuer,
      subject: 'system:serviceaccount:payments:payments-api',
    });
  });

  test.each([
    [{ githubOrganization: '-contoso' }, 'githubOrganization'],
    [{ githubOrganization: 'a'.repeat(40) }, 'githubOrganization'],
    [{ githubRepository: 'pay ments' }, 'githubRepository'],
    [{ githubEntity: 'branch', githubEntityName: 'feature/*' }, 'githubEntityName'],
    [{ githubEntity: 'branch', githubEntityName: '' }, 'githubEntityName'],
    [{ githubEntity: 'pullRequest', githubEntityName: 'main' }, 'githubEntityName'],
    [{ githubEntity: 'everything' }, 'githubEntity'],
  ] as const)('when GitHub field %j is wrong, then %s says so', (change, field) => {
    const result = parse({
      federatedWorkload: 'github',
      githubOrganization: 'contoso',
      githubRepository: 'payments',
      githubEntity: 'environment',
      githubEntityName: 'production',
      ...change,
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && Object.keys(result.errors)).toEqual([field]);
  });

  test.each([
    [{ federatedIssuer: 'http://cluster.example.com/' }, 'federatedIssuer', /https/],
    [{ federatedIssuer: 'https://cluster.example.com/?a=1' }, 'federatedIssuer', /query/],
    [{ kubernetesNamespace: 'Payments' }, 'kubernetesNamespace', /lower-case/],
    [{ kubernetesNamespace: 'a'.repeat(64) }, 'kubernetesNamespace', /63/],
    [{ kubernetesServiceAccount: 'api_' }, 'kubernetesServiceAccount', /lower-case/],
  ] as const)('when Kubernetes field %j is wrong, then %s says so', (change, field, words) => {
    const result = parse({
      federatedWorkload: 'kubernetes',
      federatedIssuer: 'https://cluster.example.com/',
      kubernetesNamespace: 'payments',
      kubernetesServiceAccount: 'payments-api',
      ...change,
    });
    expect(!result.ok && result.errors[field]).toMatch(words);
  });

  test('when another issuer is named, then its subject is taken as typed, and a wildcard is refused', () => {
    const ok = parse({
      federatedWorkload: 'other',
      federatedIssuer: 'https://idp.example.com',
      federatedSubject: 'svc:Build',
    });
    expect(ok.ok && ok.credential.subject).toBe('svc:Build');
    const wild = parse({
      federatedWorkload: 'other',
      federatedIssuer: 'https://idp.example.com',
      federatedSubject: 'svc:*',
    });
    expect(!wild.ok && wild.errors.federatedSubject).toMatch(/exactly/);
  });

  test('when two workloads differ only in case, then their names differ; the same workload always gets the same name', () => {
    const a = {
      kind: 'github',
      organization: 'contoso',
      repository: 'payments',
      entity: 'branch',
      entityName: 'Main',
    } as const;
    const b = { ...a, entityName: 'main' } as const;
    expect(federatedCredentialName(a)).not.toBe(federatedCredentialName(b));
    expect(federatedCredentialName(a)).toBe(federatedCredentialName({ ...a }));
  });
});
