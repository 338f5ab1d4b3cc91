/**
 * The people and places of local mode. The Agents Playground impersonates them (src/local/playground.ts writes
 * its config from this list) and local configuration trusts them, so that `npm start` needs no setup.
 * The ids are well-formed GUIDs, unlike the Playground's built-in ones, so that the local tenant can treat
 * them as Entra object ids.
 */
export interface DemoUser {
  /** Teams user id as the Playground sends it. */
  id: string;
  name: string;
  givenName: string;
  surname: string;
  /**
   * The name they sign in with, in the demo tenant's domain, as Entra ID requires of a user principal name: what the
   * request form takes for an additional owner where there is no people picker (the Playground), like
   * megan@contoso.onmicrosoft.com.
   */
  userPrincipalName: string;
  /** Their mail address: a tenant with no domain of its own gives its users their user principal name as mail. */
  email: string;
  aadObjectId: string;
}

export const demoTenantId = '5e1f0c9a-2b4d-4c6e-9a1b-3d5f7e9a0c01';

/** The demo tenant's one verified domain: its initial onmicrosoft.com domain. */
export const demoDomain = 'contoso.onmicrosoft.com';

export const demoBot = { id: '7c3e9f21-4a6b-4d8c-9e0f-1a2b3c4d5e60', name: 'Registrar' } as const;

const user = (id: string, name: string, aadObjectId: string): DemoUser => {
  const [givenName = name, surname = ''] = name.split(' ');
  const userPrincipalName = `${givenName.toLowerCase()}@${demoDomain}`;
  return { id, name, givenName, surname, userPrincipalName, email: userPrincipalName, aadObjectId };
};

/** The Playground's current user: an operator and a requester in local mode. */
export const alex = user('user-id-0', 'Alex Wilber', 'a1e5c0de-0000-4000-8000-000000000020');

/** The Playground requires exactly five other users. Megan is the second person of the browser tests. */
export const demoUsers: readonly DemoUser[] = [
  user('user-id-1', 'Megan Bowen', 'a1e5c0de-0000-4000-8000-000000000021'),
  user('user-id-2', 'Adele Vance', 'a1e5c0de-0000-4000-8000-000000000022'),
  user('user-id-3', 'Isaiah Langer', 'a1e5c0de-0000-4000-8000-000000000023'),
  user('user-id-4', 'Patti Fernandez', 'a1e5c0de-0000-4000-8000-000000000024'),
  user('user-id-5', 'Lynne Robbins', 'a1e5c0de-0000-4000-8000-000000000025'),
];

/** The Playground's team: its General channel (whose id is the team id) and at most one more channel. */
export const demoTeam = {
  id: 'team-id',
  name: 'IT Operations',
  aadGroupId: 'a1e5c0de-0000-4000-8000-000000000031',
  channels: [{ id: 'channel-reminders-id', name: 'Credential reminders' }],
} as const;

/** Local mode's defaults: Alex operates, Megan and Adele approve (the demo tenant's approvers group has them too). */
export const localDefaults = {
  tenantId: demoTenantId,
  operatorIds: [alex.aadObjectId],
  approverIds: [demoUsers[0]!.aadObjectId, demoUsers[1]!.aadObjectId],
};
