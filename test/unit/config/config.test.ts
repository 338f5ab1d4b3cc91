import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeConfig, variables } from '../../../src/config';
import { localDefaults } from '../../../src/local/demo-identities';
import { load, problemsOf } from '../../helpers/config';

const production = {
  BOT_ID: '3f0c6a52-8d1e-4b7a-9c2f-5e4d3c2b1a09',
  BOT_TENANT_ID: '9d2a1b3c-4e5f-4a6b-8c7d-0e1f2a3b4c5d',
  STORAGE_ACCOUNT_URL: 'https://registrarprod.table.core.windows.net',
  ADMIN_GROUP_ID: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
};

describe('configuration', () => {
  test('when nothing is set, then Registrar runs in local mode on loopback with embedded storage and the demo operator', () => {
    const config = load({});

    expect(config).toMatchObject({
      mode: 'local',
      port: 3978,
      host: '127.0.0.1',
      bot: undefined,
      allowedTenantIds: [localDefaults.tenantId],
      operators: { ids: localDefaults.operatorIds },
      storage: { kind: 'embedded', dataDir: '.registrar', port: 10002, tablePrefix: 'registrar' },
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.operators)).toBe(true);
  });

  test('when BOT_ID is set with what production needs, then authentication is on, all interfaces are served and the tenant defaults to the bot tenant', () => {
    const config = load(production);

    expect(config).toMatchObject({
      mode: 'teams',
      host: '0.0.0.0',
      bot: { id: production.BOT_ID, type: 'UserAssignedMsi', tenantId: production.BOT_TENANT_ID },
      allowedTenantIds: [production.BOT_TENANT_ID],
      operators: { ids: [], groupId: production.ADMIN_GROUP_ID },
      storage: { kind: 'account-url', accountUrl: production.STORAGE_ACCOUNT_URL },
    });
  });

  test('when BOT_ID is set without storage, operators or tenant, then every missing piece is named at once', () => {
    const problems = problemsOf({ BOT_ID: production.BOT_ID, BOT_TYPE: 'MultiTenant', BOT_PASSWORD: 'x' });

    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/STORAGE_CONNECTION_STRING or STORAGE_ACCOUNT_URL is required/);
    expect(problems.join('\n')).toMatch(/ADMIN_IDS or ADMIN_GROUP_ID is required/);
    expect(problems.join('\n')).toMatch(/ALLOWED_TENANT_IDS is required/);
  });

  test.each([
    [{ PORT: 'eighty' }, /PORT must be a port number/],
    [{ PORT: '70000' }, /PORT must be a port number/],
    [{ BOT_ID: 'my-bot' }, /BOT_ID must be a GUID \(got "my-bot"\)/],
    [
      { ADMIN_IDS: 'a1e5c0de-0000-4000-8000-000000000020, alex@contoso.com' },
      /ADMIN_IDS must be GUIDs separated by commas/,
    ],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [
      { STORAGE_ACCOUNT_URL: 'http://insecure.table.core.windows.net' },
      /STORAGE_ACCOUNT_URL must be an https:\/\/ URL/,
    ],
    [{ STORAGE_TABLE_PREFIX: 'my-tables' }, /STORAGE_TABLE_PREFIX must start with a letter/],
    [{ BOT_PASSWORD: 'secret' }, /without BOT_ID/],
    [{ HOST: '0.0.0.0' }, /HOST is set without BOT_ID/],
    [{ ...production, BOT_TYPE: 'SingleTenant' }, /BOT_PASSWORD is required when BOT_TYPE is SingleTenant/],
    [{ ...production, BOT_PASSWORD: 'x' }, /BOT_PASSWORD is set but BOT_TYPE is UserAssignedMsi/],
    [{ ...production, BOT_TYPE: 'Whatever' }, /BOT_TYPE/],
    [
      {
        STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
        STORAGE_ACCOUNT_URL: 'https://a.table.core.windows.net',
      },
      /only one of STORAGE/,
    ],
    [{ AZURE_CLIENT_SECRET: 'x' }, /AZURE_TENANT_ID and AZURE_CLIENT_ID are required/],
  ])('when %j is given, then the process is stopped with a message naming the variable', (env, message) => {
    expect(problemsOf(env).join('\n')).toMatch(message);
  });

  const graphIdentity = {
    AZURE_TENANT_ID: production.BOT_TENANT_ID,
    AZURE_CLIENT_ID: production.BOT_ID,
    AZURE_CLIENT_SECRET: 'abc8Q~secretsecretsecretsecretsecretsec',
  };
  const localTenant = { GRAPH_ENDPOINT: 'https://127.0.0.1:8443', AUTHORITY_HOST: 'https://127.0.0.1:8443' };

  test.each([
    [
      'a storage account connection string',
      {
        STORAGE_CONNECTION_STRING:
          'DefaultEndpointsProtocol=https;AccountName=registrarprod;AccountKey=c2VjcmV0a2V5;EndpointSuffix=core.windows.net',
      },
      'STORAGE_CONNECTION_STRING',
    ],
    [
      'a connection string with a remote TableEndpoint',
      {
        STORAGE_CONNECTION_STRING:
          'AccountName=devstoreaccount1;AccountKey=c2VjcmV0a2V5;TableEndpoint=https://registrarprod.table.core.windows.net/',
      },
      'STORAGE_CONNECTION_STRING',
    ],
    [
      'a storage account URL',
      { STORAGE_ACCOUNT_URL: 'https://registrarprod.table.core.windows.net' },
      'STORAGE_ACCOUNT_URL',
    ],
    ["App Service's site name", { WEBSITE_SITE_NAME: 'registrar-prod' }, 'WEBSITE_SITE_NAME'],
    ["App Service's instance id", { WEBSITE_INSTANCE_ID: '5f1b0c7e2a9d' }, 'WEBSITE_INSTANCE_ID'],
    ["a managed identity's client id", { AZURE_CLIENT_ID: production.BOT_ID }, 'AZURE_CLIENT_ID'],
    ['a tenant to manage', { AZURE_TENANT_ID: production.BOT_TENANT_ID }, 'AZURE_TENANT_ID'],
    ['a Graph identity with a secret', graphIdentity, 'AZURE_CLIENT_SECRET'],
    [
      'a Graph identity with a certificate',
      { ...graphIdentity, AZURE_CLIENT_SECRET: '', AZURE_CLIENT_CERTIFICATE_PATH: '/etc/registrar/graph.pem' },
      'AZURE_CLIENT_CERTIFICATE_PATH',
    ],
    [
      'a Graph identity aimed at the real Graph',
      {
        ...graphIdentity,
        GRAPH_ENDPOINT: 'https://graph.microsoft.com',
        AUTHORITY_HOST: 'https://login.microsoftonline.com',
      },
      'AZURE_CLIENT_ID',
    ],
    [
      'a Graph identity whose sign-in is not the local tenant',
      { ...graphIdentity, ...localTenant, AUTHORITY_HOST: 'https://login.microsoftonline.com' },
      'AZURE_CLIENT_SECRET',
    ],
    [
      'Application Insights',
      {
        APPLICATIONINSIGHTS_CONNECTION_STRING:
          'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/',
      },
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
    ],
    [
      'Application Insights with the default endpoint',
      { APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000' },
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
    ],
  ])(
    'when BOT_ID is unset but %s is present, then the process is stopped with a message naming BOT_ID and the setting',
    (_what, env, name) => {
      const problems = problemsOf(env).join('\n');

      expect(problems).toMatch(/BOT_ID is not set, but this looks like a deployment/);
      expect(problems).toContain(name);
      expect(problems).toMatch(/set BOT_ID/);
      expect(problems).not.toContain('c2VjcmV0a2V5');
      expect(problems).not.toContain('abc8Q~');
    },
  );

  test.each([
    [
      "the test run's Azurite and the local tenant",
      {
        STORAGE_CONNECTION_STRING:
          'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0a2V5;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;',
        ...graphIdentity,
        ...localTenant,
      },
    ],
    ['the development storage shortcut', { STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' }],
    [
      'an Azurite on localhost and the local tenant on [::1]',
      {
        STORAGE_CONNECTION_STRING:
          'AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://localhost:10002/devstoreaccount1',
        ...graphIdentity,
        GRAPH_ENDPOINT: 'https://[::1]:8443',
        AUTHORITY_HOST: 'https://localhost:8443/',
      },
    ],
    [
      'a local ingestion endpoint for telemetry tests',
      {
        APPLICATIONINSIGHTS_CONNECTION_STRING:
          'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:40123/',
      },
    ],
    ['empty App Service variables', { WEBSITE_SITE_NAME: '  ' }],
  ])('when BOT_ID is unset with %s, then local mode still loads', (_what, env) => {
    expect(load(env)).toMatchObject({ mode: 'local', host: '127.0.0.1', bot: undefined });
  });

  test('when BOT_ID is set, then the deployment settings are simply used', () => {
    const config = load({
      ...production,
      ...graphIdentity,
      WEBSITE_SITE_NAME: 'registrar-prod',
      APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000',
    });

    expect(config).toMatchObject({
      mode: 'teams',
      graph: { clientId: production.BOT_ID },
      storage: { kind: 'account-url' },
    });
  });

  test('when a secret variable is wrong, then its value is not repeated in the message', () => {
    const problems = problemsOf({ BOT_PASSWORD: 'Sup3r~Secret~Value' });

    expect(problems.join('\n')).not.toContain('Sup3r~Secret~Value');
  });

  test('when a message is about a known variable, then it says what the variable should be', () => {
    const [problem] = problemsOf({ GRAPH_CLOUD: 'mars' });

    expect(problem).toContain(variables.GRAPH_CLOUD);
  });

  test('when the configuration is described for the startup log, then it holds no secret', () => {
    const config = load({
      ...production,
      STORAGE_ACCOUNT_URL: '',
      STORAGE_CONNECTION_STRING: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0a2V5;',
      AZURE_TENANT_ID: production.BOT_TENANT_ID,
      AZURE_CLIENT_ID: production.BOT_ID,
      AZURE_CLIENT_SECRET: 'abc8Q~secretsecretsecretsecretsecretsec',
    });

    const described = JSON.stringify(describeConfig(config));

    expect(described).not.toContain('c2VjcmV0a2V5');
    expect(described).not.toContain('abc8Q~');
    expect(described).toContain(production.BOT_ID);
  });

  test('when the README documents the configuration, then every variable is in its table', () => {
    const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');

    for (const name of Object.keys(variables)) expect(readme).toContain(`\`${name}\``);
  });
});
