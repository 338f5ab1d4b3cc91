/**
 * The demo Azure AD B2C directory of local mode, Contoso B2C (contosob2c.onmicrosoft.com): a tenant of its own,
 * served by the same local tenant server as the Teams tenant, so that a request can make an app in "another
 * directory than Teams'". It holds a few administrators (member accounts with user principal names in the B2C
 * domain; they are not Teams users), the owners group Registrar falls back on, Microsoft Graph's service principal
 * with its catalog, and Registrar's second identity: an app registered in this directory, as a B2C management
 * app is (https://learn.microsoft.com/azure/active-directory-b2c/microsoft-graph-get-started), with a client
 * secret and the application permissions Registrar needs there.
 */
import { graphServicePrincipal, seedRegistrarIdentity } from './seed';
import { type DirectoryRecord, emptyTenant, graphTimestamp, type Json, type TenantData } from './state';

export const DEMO_B2C_DOMAIN = 'contosob2c.onmicrosoft.com';
export const DEMO_B2C_NAME = 'Contoso B2C';

/**
 * Registrar's client secret in the demo B2C directory. LOCAL ONLY, like DEMO_REGISTRAR_SECRET: published here and
 * accepted by the local tenant alone.
 */
export const DEMO_B2C_REGISTRAR_SECRET = 'B2c8Q~LOCAL-ONLY.demo-b2c-directory.not-a-secret';

export const demoB2cIds = {
  tenantId: 'b2c0c0de-0000-4000-8000-000000000001',
  graphServicePrincipal: 'b2c0c0de-0000-4000-8000-000000000050',
  registrarApplication: 'b2c0c0de-0000-4000-8000-000000000041',
  registrarServicePrincipal: 'b2c0c0de-0000-4000-8000-000000000042',
  /** Registrar's client id in the B2C directory: another app than its Teams tenant identity. */
  registrarAppId: 'b2c0c0de-0000-4000-9000-000000000040',
  ownersGroup: 'b2c0c0de-0000-4000-8000-000000000031',
} as const;

export interface DemoB2cUser {
  id: string;
  displayName: string;
  userPrincipalName: string;
}

const b2cUser = (n: number, givenName: string, surname: string): DemoB2cUser => ({
  id: `b2c0c0de-0000-4000-8000-0000000000${String(20 + n)}`,
  displayName: `${givenName} ${surname}`,
  userPrincipalName: `${givenName.toLowerCase()}.${surname.toLowerCase()}@${DEMO_B2C_DOMAIN}`,
});

/** The B2C directory's administrators. Ana and Ben are in the owners group; Chloe is not. */
export const demoB2cUsers: readonly DemoB2cUser[] = [
  b2cUser(1, 'Ana', 'Ruiz'),
  b2cUser(2, 'Ben', 'Okafor'),
  b2cUser(3, 'Chloe', 'Martin'),
];

const DAY = 86_400_000;

/** The demo B2C directory, and Registrar's identity in it. */
export function demoB2cTenant(now: Date = new Date()): {
  data: TenantData;
  registrar: { tenantId: string; clientId: string; clientSecret: string };
} {
  const data = emptyTenant(demoB2cIds.tenantId, DEMO_B2C_DOMAIN);
  const created = graphTimestamp(new Date(now.getTime() - 60 * DAY));
  const record = <T extends Json>(json: T): DirectoryRecord => ({
    data: json,
    visibleFrom: 0,
    sequence: (data.sequence += 1),
  });
  const [ana, ben] = demoB2cUsers;

  for (const person of demoB2cUsers) {
    const [givenName = '', surname = ''] = person.displayName.split(' ');
    data.users[person.id] = record({
      id: person.id,
      accountEnabled: true,
      displayName: person.displayName,
      givenName,
      surname,
      userPrincipalName: person.userPrincipalName,
      mail: null,
      jobTitle: 'B2C administrator',
      userType: 'Member',
    });
  }
  data.groups[demoB2cIds.ownersGroup] = {
    ...record({
      id: demoB2cIds.ownersGroup,
      displayName: 'B2C app owners',
      description: 'Own the app registrations Registrar creates in Contoso B2C when a request names no owners.',
      mailNickname: 'b2cappowners',
      mail: null,
      mailEnabled: false,
      securityEnabled: true,
      groupTypes: [],
      createdDateTime: created,
      deletedDateTime: null,
    }),
    members: [ana!.id, ben!.id],
  };

  data.servicePrincipals[demoB2cIds.graphServicePrincipal] = {
    ...record(graphServicePrincipal(demoB2cIds.graphServicePrincipal, created)),
    owners: [],
  };

  seedRegistrarIdentity(data, record, {
    applicationId: demoB2cIds.registrarApplication,
    appId: demoB2cIds.registrarAppId,
    servicePrincipalId: demoB2cIds.registrarServicePrincipal,
    graphServicePrincipalId: demoB2cIds.graphServicePrincipal,
    displayName: 'Registrar (Contoso B2C)',
    notes: 'Local mode: the identity Registrar uses in the demo B2C directory. Its secret is public and local-only.',
    secret: DEMO_B2C_REGISTRAR_SECRET,
    secretKeyId: 'b2c0c0de-0000-4000-8000-0000000000f1',
    owner: ana!.id,
    tenantId: demoB2cIds.tenantId,
    domain: DEMO_B2C_DOMAIN,
    created,
    now,
  });
  return {
    data,
    registrar: {
      tenantId: demoB2cIds.tenantId,
      clientId: demoB2cIds.registrarAppId,
      clientSecret: DEMO_B2C_REGISTRAR_SECRET,
    },
  };
}

/** The TARGET_DIRECTORY_B2C value that points Registrar at the demo B2C directory (local mode and tests). */
export function demoB2cTargetSetting(): string {
  return JSON.stringify({
    name: DEMO_B2C_NAME,
    tenantId: demoB2cIds.tenantId,
    clientId: demoB2cIds.registrarAppId,
    clientSecret: DEMO_B2C_REGISTRAR_SECRET,
    ownersGroupId: demoB2cIds.ownersGroup,
  });
}
