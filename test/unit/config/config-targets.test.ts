import { describeConfig } from '../../../src/config';
import { load, problemsOf } from '../../helpers/config';

const teamsTenant = '9d2a1b3c-4e5f-4a6b-8c7d-0e1f2a3b4c5d';
const b2c = {
  name: 'Contoso B2C',
  tenantId: 'B2C00000-0000-4000-8000-000000000001',
  clientId: 'b2c00000-0000-4000-8000-000000000002',
  clientSecret: 'b2c8Q~very-secret-value',
  ownersGroupId: 'b2c00000-0000-4000-8000-000000000003',
};

describe('target directories (TARGET_DIRECTORY_<KEY>)', () => {
  test('when a target is set as JSON, then it is read with its key, ids in lower case, and described without its secret', () => {
    const config = load({
      GRAPH_ENDPOINT: 'https://127.0.0.1:8443',
      AUTHORITY_HOST: 'https://127.0.0.1:8443',
      TARGET_DIRECTORY_B2C: JSON.stringify(b2c),
    });

    expect(config.targets).toEqual([
      {
        key: 'b2c',
        name: 'Contoso B2C',
        tenantId: b2c.tenantId.toLowerCase(),
        clientId: b2c.clientId,
        clientSecret: b2c.clientSecret,
        ownersGroupId: b2c.ownersGroupId,
      },
    ]);
    const described = JSON.stringify(describeConfig(config));
    expect(described).toContain('Contoso B2C');
    expect(described).not.toContain(b2c.clientSecret);
  });

  test('when none is set, then there are no targets', () => {
    expect(load({}).targets).toEqual([]);
  });

  test('when a target has neither or both of a secret and a certificate, then the start is refused saying so', () => {
    const { clientSecret: _secret, ...noCredential } = b2c;
    expect(problemsOf({ TARGET_DIRECTORY_B2C: JSON.stringify(noCredential) }).join('\n')).toMatch(
      /TARGET_DIRECTORY_B2C: give exactly one of clientSecret and certificatePath \(a managed identity cannot sign in to another tenant\)/,
    );
    expect(
      problemsOf({ TARGET_DIRECTORY_B2C: JSON.stringify({ ...b2c, certificatePath: '/etc/b2c.pem' }) }).join('\n'),
    ).toMatch(/exactly one of clientSecret and certificatePath/);
  });

  test('when a target is not JSON, has a bad id, an unknown field or a bad key, then each is named and no secret is quoted', () => {
    const problems = problemsOf({
      TARGET_DIRECTORY_B2C: `{"name":"x","clientSecret":"${b2c.clientSecret}"`,
      TARGET_DIRECTORY_WORK: JSON.stringify({ ...b2c, name: 'Workload', tenantId: 'not-a-guid', color: 'blue' }),
      TARGET_DIRECTORY_b2c: JSON.stringify(b2c),
    });

    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/TARGET_DIRECTORY_B2C must be a JSON object/);
    expect(problems.join('\n')).toMatch(/TARGET_DIRECTORY_WORK: .*tenantId must be a GUID/);
    expect(problems.join('\n')).toMatch(/TARGET_DIRECTORY_WORK: .*unknown field color/);
    expect(problems.join('\n')).toMatch(
      /TARGET_DIRECTORY_b2c: the part after TARGET_DIRECTORY_ must be 1 to 20 capital letters/,
    );
    expect(problems.join('\n')).not.toContain(b2c.clientSecret);
  });

  test('when a target names the Teams tenant or the tenant of another target, then the start is refused', () => {
    const problems = problemsOf({
      AZURE_TENANT_ID: teamsTenant,
      AZURE_CLIENT_ID: b2c.clientId,
      AZURE_CLIENT_SECRET: 'x',
      GRAPH_ENDPOINT: 'https://127.0.0.1:8443',
      AUTHORITY_HOST: 'https://127.0.0.1:8443',
      TARGET_DIRECTORY_A: JSON.stringify({ ...b2c, tenantId: teamsTenant }),
      TARGET_DIRECTORY_B: JSON.stringify(b2c),
      TARGET_DIRECTORY_C: JSON.stringify({ ...b2c, name: 'Other' }),
    });

    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/TARGET_DIRECTORY_A: tenantId .* is the Teams tenant/);
    expect(problems[1]).toMatch(/TARGET_DIRECTORY_C names the same tenant .* as TARGET_DIRECTORY_B/);
  });

  test('when a target is set without BOT_ID and Graph is not the local tenant, then it counts as a deployment setting', () => {
    expect(problemsOf({ TARGET_DIRECTORY_B2C: JSON.stringify(b2c) }).join('\n')).toMatch(
      /looks like a deployment: TARGET_DIRECTORY_\*/,
    );
  });
});
