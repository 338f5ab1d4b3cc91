/**
 * `npm run setup:permissions` against the local tenant: a new identity standing for Registrar's managed identity
 * (an app registration with a secret, so that its token can be read) starts with no Graph permission, and a
 * "setup" administrator app holds AppRoleAssignment.ReadWrite.All and Application.Read.All, the application
 * equivalents of what the Azure CLI's administrator session carries. Both are made through Graph, as the demo
 * tenant's Registrar (which may). The tenant's state and the new identity's token are the judges.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { Client } from '@microsoft/microsoft-graph-client';
import { createGraphConnection } from '../../../src/adapters/graph/graph-client';
import { GraphCaller } from '../../../src/adapters/graph/graph-caller';
import { GraphProvisioner } from '../../../src/adapters/graph/graph-provisioner';
import { RegistrarError } from '../../../src/domain/errors';
import { graphAppPermissions } from '../../../src/domain/graph-app-permissions';
import { createLogger } from '../../../src/lib/logger';
import { allRoutes } from '../../../src/local/tenant/routes/index';
import { demoApplicationIds, demoIds, demoTenant } from '../../../src/local/tenant/seed';
import type { RunningTenant } from '../../../src/local/tenant/server';
import {
  formatReport,
  grantGraphPermissions,
  type GrantOptions,
  type GrantReport,
  SetupError,
} from '../../../src/setup/grant-permissions';
import { runSetup } from '../../../src/setup/setup-command';
import { roleIds } from '../../helpers/graph-catalog';
import { LogCapture } from '../../helpers/logs';
import { graphClientFor, registrarConnection, startTestTenant } from '../../helpers/tenant';

jest.setTimeout(60_000);

const demo = demoTenant();
const root = join(__dirname, '..', '..', '..');
const USER_ADMINISTRATOR = 'fe930be7-5e62-47db-91af-98c3a49a38b1';
const roles = roleIds([
  'AppRoleAssignment.ReadWrite.All',
  'Application.Read.All',
  'Application.ReadWrite.OwnedBy',
  'User.Read.All',
] as const);
const required = graphAppPermissions.filter((p) => !p.optional);
const everything = graphAppPermissions.map((p) => p.value).sort();
const fast: Partial<GrantOptions> = { baseDelayMs: 20, maxDelayMs: 100, stepTimeoutMs: 10_000 };

interface Identity {
  appId: string;
  spId: string;
  secret: string;
}

let tenant: RunningTenant;
let admin: Identity;
let managedIdentity: Identity;

/** An app registration with a secret and a service principal, made through Graph as the demo Registrar, with these Graph application permissions. */
async function newIdentity(displayName: string, grant: readonly (keyof typeof roles)[] = []): Promise<Identity> {
  const graph = registrarConnection(tenant).client;
  const app = (await graph.api('/applications').post({ displayName })) as { id: string; appId: string };
  const { secretText } = (await graph
    .api(`/applications/${app.id}/addPassword`)
    .post({ passwordCredential: { displayName: 'test' } })) as { secretText: string };
  const sp = (await graph.api('/servicePrincipals').post({ appId: app.appId })) as { id: string };
  for (const role of grant) {
    await graph
      .api(`/servicePrincipals/${demoIds.graphServicePrincipal}/appRoleAssignedTo`)
      .post({ principalId: sp.id, resourceId: demoIds.graphServicePrincipal, appRoleId: roles[role] });
  }
  return { appId: app.appId, spId: sp.id, secret: secretText };
}

function clientOf(identity: Identity): Client {
  return graphClientFor(tenant, identity.appId, identity.secret).client;
}

/** The Graph application permissions the identity holds, as the tenant records them. */
function heldBy(identity: Identity): string[] {
  const values = new Map(
    (
      demo.data.servicePrincipals[demoIds.graphServicePrincipal]!.data.appRoles as Array<{ id: string; value: string }>
    ).map((r) => [r.id, r.value]),
  );
  return Object.values(tenant.state().data.appRoleAssignments)
    .map((a) => a.data)
    .filter((a) => a.principalId === identity.spId && a.resourceId === demoIds.graphServicePrincipal)
    .map((a) => values.get(String(a.appRoleId)) ?? String(a.appRoleId))
    .sort();
}

/** The roles claim of a new token for the identity: what Registrar would carry on its next Graph call. */
async function tokenRoles(identity: Identity): Promise<string[]> {
  const { credential } = graphClientFor(tenant, identity.appId, identity.secret);
  const token = await credential.getToken(`${tenant.url}/.default`);
  const claims = JSON.parse(Buffer.from(token.token.split('.')[1]!, 'base64url').toString('utf8')) as {
    roles?: string[];
  };
  return [...(claims.roles ?? [])].sort();
}

function grant(options: Partial<GrantOptions> = {}, as: Identity = admin): Promise<GrantReport> {
  return grantGraphPermissions(clientOf(as), {
    identity: managedIdentity.appId,
    directoryRoles: false,
    dryRun: false,
    ...fast,
    ...options,
  });
}

/** A report line as formatReport writes it: the status in a column, then the text. */
const line = (status: string, text: string) => `  ${status.padEnd('already granted'.length)}  ${text}`;
const statuses = (report: GrantReport) =>
  Object.fromEntries(report.permissions.map((p) => [p.permission.value, p.status]));
const all = (status: string, options: { optional?: string } = {}) =>
  Object.fromEntries(
    graphAppPermissions.map((p) => [p.value, p.optional && options.optional ? options.optional : status]),
  );

/** The compiled command as `npm run setup:permissions` runs it, signed in as the setup administrator. */
function runScript(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const {
    GRAPH_CLOUD: _cloud,
    AZURE_CLIENT_ID: _id,
    AZURE_CLIENT_SECRET: _secret,
    AZURE_TENANT_ID: _tenant,
    ...inherited
  } = process.env;
  const childEnv = {
    ...inherited,
    AZURE_TENANT_ID: tenant.tenantId,
    AZURE_CLIENT_SECRET: admin.secret,
    GRAPH_ENDPOINT: tenant.url,
    AUTHORITY_HOST: tenant.url,
    ...env,
  };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'dist', 'scripts', 'setup-permissions.js'), ...args],
      { env: childEnv, cwd: root },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

beforeEach(async () => {
  tenant = await startTestTenant({ data: structuredClone(demo.data), routes: allRoutes });
  admin = await newIdentity('Setup administrator', ['AppRoleAssignment.ReadWrite.All', 'Application.Read.All']);
  managedIdentity = await newIdentity('registrar-identity');
});

afterEach(async () => {
  await tenant.stop();
});

describe('npm run setup:permissions', () => {
  test('when run on an identity without Graph permissions, then it grants exactly the required ones, its token carries them, and the optional one is explained', async () => {
    const report = await grant();

    expect(statuses(report)).toEqual(all('granted', { optional: 'not granted' }));
    expect(report.identity).toEqual({
      id: managedIdentity.spId,
      appId: managedIdentity.appId,
      displayName: 'registrar-identity',
    });
    expect(report.extra).toEqual([]);
    expect(heldBy(managedIdentity)).toEqual(required.map((p) => p.value).sort());
    expect(await tokenRoles(managedIdentity)).toEqual(required.map((p) => p.value).sort());
    const lines = formatReport(report);
    expect(lines).toContain(line('granted', 'Application.ReadWrite.All'));
    expect(lines.find((l) => l.includes('RoleManagement.ReadWrite.Directory'))).toBe(
      line(
        'not granted',
        `RoleManagement.ReadWrite.Directory (optional): requests that ask for a directory role will fail at the directory role step; grant it later with: npm run setup:permissions -- --identity ${managedIdentity.appId} --directory-roles`,
      ),
    );
    expect(lines).toContain(`${required.length} granted, 0 already granted.`);
  });

  test('when the identity then provisions a directory role without RoleManagement.ReadWrite.Directory, then the step fails as not authorized, naming the permission', async () => {
    await grant();
    const connection = createGraphConnection({
      cloud: 'global',
      endpoint: tenant.url,
      authorityHost: tenant.url,
      tenantId: tenant.tenantId,
      clientId: managedIdentity.appId,
      clientSecret: managedIdentity.secret,
    });
    const provisioner = new GraphProvisioner({
      graph: new GraphCaller({ connection, baseDelayMs: 20, maxDelayMs: 100, stepTimeoutMs: 5000 }),
      logger: createLogger({ level: 'silent', destination: new LogCapture() }),
    });

    const failure = await provisioner
      .assignDirectoryRole(demoApplicationIds(1).servicePrincipalId, USER_ADMINISTRATOR, {
        requestId: 'setup-permissions-test',
      })
      .catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(RegistrarError);
    expect(failure).toMatchObject({ code: 'not-authorized' });
    expect((failure as RegistrarError).message).toContain('RoleManagement.ReadWrite.Directory');
    expect(Object.values(tenant.state().data.roleAssignments)).toHaveLength(0);
  });

  test('when run with --directory-roles and then again, then the first run grants all five and the second grants nothing and says so for each', async () => {
    const first = await grant({ directoryRoles: true });
    tenant.counters.reset();
    const second = await grant({ directoryRoles: true });

    expect(statuses(first)).toEqual(all('granted'));
    expect(statuses(second)).toEqual(all('already granted'));
    expect(Object.keys(tenant.counters.snapshot()).filter((call) => call.startsWith('POST'))).toEqual([]);
    expect(heldBy(managedIdentity)).toEqual(everything);
    expect(await tokenRoles(managedIdentity)).toEqual(everything);
    expect(formatReport(second).filter((l) => l.includes('already granted')).length).toBe(
      graphAppPermissions.length + 1,
    );
    expect(formatReport(second).at(-1)).toBe(`0 granted, ${graphAppPermissions.length} already granted.`);
  });

  test('when run as a dry run, then it says what it would grant and changes nothing', async () => {
    const report = await grant({ dryRun: true, directoryRoles: true });

    expect(statuses(report)).toEqual(all('would grant'));
    expect(heldBy(managedIdentity)).toEqual([]);
    expect(formatReport(report)[0]).toContain('dry run: nothing is changed');
    expect(formatReport(report).at(-1)).toBe(`${graphAppPermissions.length} would be granted, 0 already granted.`);
  });

  test('when the identity already holds some of them and others Registrar does not need, then it adds the rest and reports the others without removing them', async () => {
    managedIdentity = await newIdentity('registrar-identity (old setup)', [
      'Application.ReadWrite.OwnedBy',
      'User.Read.All',
      'Application.Read.All',
    ]);
    const graph = registrarConnection(tenant).client;
    await graph.api(`/servicePrincipals/${demoIds.graphServicePrincipal}/appRoleAssignedTo`).post({
      principalId: managedIdentity.spId,
      resourceId: demoIds.graphServicePrincipal,
      appRoleId: graphAppPermissions.find((p) => p.value === 'Directory.Read.All')!.id,
    });

    const report = await grant();

    expect(statuses(report)).toMatchObject({
      'Application.ReadWrite.All': 'granted',
      'Directory.Read.All': 'already granted',
      'RoleManagement.ReadWrite.Directory': 'not granted',
    });
    expect(report.extra.map((e) => [e.value, e.reason])).toEqual([
      ['Application.ReadWrite.OwnedBy', 'Application.ReadWrite.All covers it, and OwnedBy alone cannot add owners'],
      ['User.Read.All', 'Directory.Read.All covers the group membership checks'],
      ['Application.Read.All', 'Application.ReadWrite.All covers it'],
    ]);
    expect(heldBy(managedIdentity)).toEqual(
      [
        ...required.map((p) => p.value),
        'Application.Read.All',
        'Application.ReadWrite.OwnedBy',
        'User.Read.All',
      ].sort(),
    );
    expect(formatReport(report)).toContain(
      line(
        'extra',
        'User.Read.All: Registrar does not need it (Directory.Read.All covers the group membership checks); left in place, remove it if nothing else uses it',
      ),
    );
  });

  test('when the identity is given by its object id, then the same service principal is set up', async () => {
    const report = await grant({ identity: managedIdentity.spId });

    expect(report.identity.id).toBe(managedIdentity.spId);
    expect(heldBy(managedIdentity)).toEqual(required.map((p) => p.value).sort());
  });

  test('when two runs race, then each permission is granted once, and each run ends with every one granted or already granted', async () => {
    const [a, b] = await Promise.all([grant(), grant()]);

    expect(heldBy(managedIdentity)).toEqual(required.map((p) => p.value).sort());
    for (const permission of required) {
      const outcomes = [statuses(a)[permission.value], statuses(b)[permission.value]];
      expect(outcomes.filter((s) => s === 'granted').length).toBeLessThanOrEqual(1);
      expect(outcomes.every((s) => s === 'granted' || s === 'already granted')).toBe(true);
    }
  });

  test('when the answer to a grant is lost, then the retry is refused as a duplicate and the permission counts as already granted, once', async () => {
    tenant.faults.configure({ loseResponses: 1 });

    const report = await grant();

    expect(statuses(report)).toEqual({
      ...all('granted', { optional: 'not granted' }),
      'Application.ReadWrite.All': 'already granted',
    });
    expect(heldBy(managedIdentity)).toEqual(required.map((p) => p.value).sort());
  });

  test('when Graph answers 503 twice, then the run retries and finishes', async () => {
    tenant.faults.configure({ unavailable: { rate: 1, count: 2 } });

    const report = await grant();

    expect(statuses(report)).toEqual(all('granted', { optional: 'not granted' }));
  });

  test('when the identity is not in the tenant, then it fails saying what to pass, and changes nothing', async () => {
    const unknown = '0b1c2d3e-4f50-4617-8283-949596979899';

    const failure = await grant({ identity: unknown }).catch((e: unknown) => e);
    const notAGuid = await grant({ identity: 'registrar' }).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(SetupError);
    expect((failure as Error).message).toContain(
      `No service principal in this tenant has the client id or object id ${unknown}`,
    );
    expect((failure as Error).message).toContain('BOT_ID output of infra/main.bicep');
    expect((notAGuid as Error).message).toContain('--identity "registrar" is not a GUID');
    expect(heldBy(managedIdentity)).toEqual([]);
  });

  test('when the administrator may read but not assign app roles, then it fails naming the admin roles and permissions needed, and changes nothing', async () => {
    const reader = await newIdentity('Reader', ['Application.Read.All']);
    const nobody = await newIdentity('Nobody');

    const refused = await grant({}, reader).catch((e: unknown) => e);
    const blind = await grant({}, nobody).catch((e: unknown) => e);

    for (const failure of [refused, blind]) {
      expect(failure).toBeInstanceOf(SetupError);
      expect((failure as Error).message).toContain('403 Authorization_RequestDenied');
      expect((failure as Error).message).toContain('Privileged Role Administrator or a Global Administrator');
      expect((failure as Error).message).toContain('AppRoleAssignment.ReadWrite.All and Application.Read.All');
    }
    expect((refused as Error).message).toContain('Refused while granting Application.ReadWrite.All');
    expect((blind as Error).message).toContain("Refused while reading Microsoft Graph's service principal");
    expect(heldBy(managedIdentity)).toEqual([]);
  });

  test('when run in-process from the command line with AZURE_CLIENT_ID as the identity, then it prints the report; a wrong admin secret fails at sign-in', async () => {
    const env = {
      AZURE_TENANT_ID: tenant.tenantId,
      AZURE_CLIENT_ID: managedIdentity.appId,
      AZURE_CLIENT_SECRET: admin.secret,
      GRAPH_ENDPOINT: tenant.url,
      AUTHORITY_HOST: tenant.url,
    };
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l) };

    const code = await runSetup(['--admin-client-id', admin.appId, '--dry-run'], env, io, fast);
    const waits: number[] = [];
    const badSecret = await runSetup(['--admin-client-id', admin.appId], { ...env, AZURE_CLIENT_SECRET: 'wrong' }, io, {
      ...fast,
      sleep: async (ms) => void waits.push(ms),
    });
    const unknownFlag = await runSetup(['--identity', managedIdentity.appId, '--directory-role'], env, io, fast);
    const noCloud = await runSetup(['--admin-client-id', admin.appId], { ...env, GRAPH_CLOUD: 'mars' }, io, fast);

    expect(code).toBe(0);
    expect(out.filter((l) => l.startsWith('  would grant'))).toHaveLength(required.length);
    expect([badSecret, unknownFlag, noCloud]).toEqual([1, 1, 1]);
    expect(err[0]).toMatch(/^setup:permissions: Could not sign in to Microsoft Entra ID: .*AADSTS7000215/s);
    expect(err[0]).toContain(`Check --admin-client-id ${admin.appId}, its client secret in AZURE_CLIENT_SECRET`);
    // A refused secret is not an outage: no retry waited on it.
    expect(waits).toEqual([]);
    expect(err[1]).toBe(
      'setup:permissions: Unknown argument "--directory-role". See npm run setup:permissions -- --help.',
    );
    expect(err[2]).toBe('setup:permissions: GRAPH_CLOUD is "mars": set it to global, usgov, usgovdod or china.');
    expect(heldBy(managedIdentity)).toEqual([]);
  });

  test('when the compiled script runs as npm run setup:permissions would, then it grants, prints a line per permission and exits 0; again, it grants nothing; on failure it exits 1', async () => {
    const first = await runScript(['--identity', managedIdentity.appId, '--admin-client-id', admin.appId]);
    const again = await runScript(['--admin-client-id', admin.appId, '--directory-roles'], {
      AZURE_CLIENT_ID: managedIdentity.appId,
    });
    const unknown = await runScript([
      '--identity',
      '0b1c2d3e-4f50-4617-8283-949596979899',
      '--admin-client-id',
      admin.appId,
    ]);
    const help = await runScript(['--help']);
    // The default sign-in, the administrator's Azure CLI session, where there is no Azure CLI.
    const noCli = await runScript(['--identity', managedIdentity.appId], { PATH: join(root, 'no-such-directory') });

    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout.split('\n').filter((l) => l.startsWith('  granted '))).toHaveLength(required.length);
    expect(first.stdout).toContain(line('not granted', 'RoleManagement.ReadWrite.Directory (optional): '));
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout.split('\n').filter((l) => l.startsWith('  already granted '))).toHaveLength(required.length);
    expect(again.stdout).toContain(
      line('granted', 'RoleManagement.ReadWrite.Directory (optional, for directory roles)'),
    );
    expect(heldBy(managedIdentity)).toEqual(everything);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain(
      'setup:permissions: No service principal in this tenant has the client id or object id 0b1c2d3e-4f50-4617-8283-949596979899',
    );
    expect(noCli.code).toBe(1);
    expect(noCli.stderr).toContain('setup:permissions: Could not sign in to Microsoft Entra ID:');
    expect(noCli.stderr).toContain(
      `Sign in with the Azure CLI first, as a Privileged Role Administrator or Global Administrator: az login --tenant ${tenant.tenantId}`,
    );
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(
      'Usage: npm run setup:permissions -- [--identity <id>] [--directory-roles] [--dry-run]',
    );
  });
});
