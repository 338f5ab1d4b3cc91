import { FEDERATED_AUDIENCE } from '../domain/app-spec';
import type { FederatedWorkload } from '../domain/federated-credential';
import { shellWord, type TokenEndpoints } from './shell-word';

/*
 * How a workload uses its federated credential, as the delivery card shows it: for GitHub Actions the workflow job
 * with azure/login, for Kubernetes the workload identity annotation and label, for any other issuer the token request
 * that exchanges the workload's own token for one of the app. Every value comes from the server (the app's client id,
 * the tenant id, the workload as validated at submission), already passed through safeText by the caller.
 */

export interface FederatedUsage {
  /** What the snippet is, in a sentence before it. */
  intro: string;
  /** One line per element, for the fallback of hosts without CodeBlock. */
  lines: string[];
  /** A CodeBlock language Teams knows (it has none for YAML: PlainText then). */
  language: 'PlainText' | 'Bash';
  /** What to check once it runs, in sentences after it. */
  notes: string[];
}

const yamlReserved = /^(true|false|yes|no|on|off|y|n|null|~)$/i;

/**
 * A YAML scalar that reads back as the same string: plain when it is a simple word that YAML cannot take for a
 * number, a boolean or null; otherwise single-quoted, a quote doubled.
 */
export function yamlString(text: string): string {
  return /^[A-Za-z][A-Za-z0-9._/-]*$/.test(text) && !yamlReserved.test(text) ? text : `'${text.replace(/'/g, "''")}'`;
}

/**
 * A GitHub Actions job that signs in as the app: `permissions: id-token: write` lets the job ask GitHub for its OIDC
 * token, and azure/login@v2 exchanges it with client-id and tenant-id, with allow-no-subscriptions for an app that
 * holds no Azure role (https://learn.microsoft.com/azure/developer/github/connect-from-azure-openid-connect; the
 * inputs are those of https://github.com/Azure/login#readme). The token's subject must match the credential's
 * exactly, so the trigger or the job's environment is the one the credential names.
 */
function gitHubUsage(
  workload: Extract<FederatedWorkload, { kind: 'github' }>,
  appId: string,
  tenantId: string,
): FederatedUsage {
  const trigger: string[] =
    workload.entity === 'branch'
      ? ['on:', '  push:', `    branches: [${yamlString(workload.entityName ?? '')}]`]
      : workload.entity === 'tag'
        ? ['on:', '  push:', `    tags: [${yamlString(workload.entityName ?? '')}]`]
        : workload.entity === 'pullRequest'
          ? ['on: pull_request']
          : ['on: workflow_dispatch'];
  const lines = [
    ...trigger,
    '',
    'jobs:',
    '  sign-in:',
    '    runs-on: ubuntu-latest',
    ...(workload.entity === 'environment' ? [`    environment: ${yamlString(workload.entityName ?? '')}`] : []),
    '    permissions:',
    '      id-token: write',
    '      contents: read',
    '    steps:',
    '      - uses: azure/login@v2',
    '        with:',
    `          client-id: ${appId}`,
    `          tenant-id: ${tenantId}`,
    '          allow-no-subscriptions: true',
    '      - run: az account show',
  ];
  const where = `${workload.organization}/${workload.repository}`;
  const matches =
    workload.entity === 'environment'
      ? `The job must name the environment ${workload.entityName}: a job without it gets a token whose subject names its branch instead, and Entra ID refuses it.`
      : workload.entity === 'branch'
        ? `Only runs on the branch ${workload.entityName} get in; a job that names an environment gets a token for the environment instead, and Entra ID refuses it.`
        : workload.entity === 'tag'
          ? `Only runs for the tag ${workload.entityName} get in; a job that names an environment gets a token for the environment instead, and Entra ID refuses it.`
          : 'Runs of pull requests get in, except those from forks, which GitHub gives no id-token permission.';
  return {
    intro: `A workflow of ${where} (in .github/workflows/) with a job that signs in as the app. Only the permissions block and the azure/login step are needed in a job of your own:`,
    lines,
    language: 'PlainText',
    notes: [matches, 'The client id and tenant id are not secrets; you may keep them as repository variables instead.'],
  };
}

/**
 * The ServiceAccount the credential names, annotated with the app's client id, and a pod that runs as it with the
 * label that makes the workload identity webhook project the token and set AZURE_CLIENT_ID, AZURE_TENANT_ID,
 * AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST (https://learn.microsoft.com/azure/aks/workload-identity-overview).
 */
function kubernetesUsage(
  workload: Extract<FederatedWorkload, { kind: 'kubernetes' }>,
  appId: string,
  tenantId: string,
): FederatedUsage {
  const name = yamlString(workload.serviceAccount);
  const namespace = yamlString(workload.namespace);
  return {
    intro: `The service account ${workload.serviceAccount} in the namespace ${workload.namespace}, and a pod that runs as it:`,
    lines: [
      'apiVersion: v1',
      'kind: ServiceAccount',
      'metadata:',
      `  name: ${name}`,
      `  namespace: ${namespace}`,
      '  annotations:',
      `    azure.workload.identity/client-id: "${appId}"`,
      `    azure.workload.identity/tenant-id: "${tenantId}"`,
      '---',
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      `  name: ${yamlString(`${workload.serviceAccount}-check`.slice(0, 63))}`,
      `  namespace: ${namespace}`,
      '  labels:',
      '    azure.workload.identity/use: "true"',
      'spec:',
      `  serviceAccountName: ${name}`,
      '  containers:',
      '    - name: azure-cli',
      '      image: mcr.microsoft.com/azure-cli',
      '      command: ["sh", "-c", "az login --service-principal -u $AZURE_CLIENT_ID -t $AZURE_TENANT_ID --federated-token \\"$(cat $AZURE_FEDERATED_TOKEN_FILE)\\" --allow-no-subscriptions && az account show"]',
    ],
    language: 'PlainText',
    notes: [
      'The label goes on the pods (in a Deployment, on spec.template.metadata.labels); the cluster needs the workload identity webhook (on AKS: --enable-oidc-issuer --enable-workload-identity).',
      `DefaultAzureCredential and WorkloadIdentityCredential of the Azure SDKs read what the webhook sets. The cluster's issuer must be ${workload.issuer} exactly.`,
    ],
  };
}

/**
 * The client credentials grant with a federated credential: the workload's own token, whose iss, sub and aud must be
 * the credential's, goes as client_assertion
 * (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#third-case-access-token-request-with-a-federated-credential).
 * It is read from a variable, so it never lands in the shell history.
 */
function otherUsage(
  workload: Extract<FederatedWorkload, { kind: 'other' }>,
  appId: string,
  tenantId: string,
  endpoints: TokenEndpoints,
): FederatedUsage {
  const login = endpoints.login.replace(/\/+$/, '');
  const graph = endpoints.graph.replace(/\/+$/, '');
  const parts = [
    `curl -X POST ${shellWord(`${login}/${tenantId}/oauth2/v2.0/token`)}`,
    ...(endpoints.caFile ? [`--cacert ${shellWord(endpoints.caFile)}`] : []),
    '-d grant_type=client_credentials',
    `-d client_id=${shellWord(appId)}`,
    `-d scope=${shellWord(`${graph}/.default`)}`,
    '-d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    '--data-urlencode "client_assertion=$WORKLOAD_TOKEN"',
  ];
  return {
    intro:
      'With the workload’s own token in WORKLOAD_TOKEN, this asks Entra ID for a token of the app (the Azure SDKs’ ClientAssertionCredential does the same):',
    lines: parts.map((line, i) => (i < parts.length - 1 ? `${line} \\` : line)),
    language: 'Bash',
    notes: [
      `The workload’s token must say iss ${workload.issuer}, sub ${workload.subject} and aud ${FEDERATED_AUDIENCE}, exactly; Entra ID fetches the issuer’s signing keys from its /.well-known/openid-configuration.`,
    ],
  };
}

export function federatedUsage(
  workload: FederatedWorkload,
  ids: { appId: string; tenantId: string },
  endpoints: TokenEndpoints,
): FederatedUsage {
  switch (workload.kind) {
    case 'github':
      return gitHubUsage(workload, ids.appId, ids.tenantId);
    case 'kubernetes':
      return kubernetesUsage(workload, ids.appId, ids.tenantId);
    case 'other':
      return otherUsage(workload, ids.appId, ids.tenantId, endpoints);
  }
}
