/**
 * The Entra built-in roles a request may ask for its service principal, by role template id (the same in every
 * tenant: https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
 * Deliberately short: roles that can grant themselves more (Global, Privileged Role, Application and Cloud
 * Application Administrator) are never offered.
 */
export interface DirectoryRole {
  templateId: string;
  displayName: string;
  /** What the role lets the app do, for the form and the approval card. */
  summary: string;
}

export const requestableDirectoryRoles: readonly DirectoryRole[] = [
  {
    templateId: '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
    displayName: 'Directory Readers',
    summary: 'read basic directory information',
  },
  {
    templateId: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
    displayName: 'Global Reader',
    summary: 'read everything a Global Administrator can, change nothing',
  },
  {
    templateId: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
    displayName: 'User Administrator',
    summary:
      'create and manage users and groups, reset passwords of non-administrators (for example a B2C password reset)',
  },
  {
    templateId: '729827e3-9c14-49f7-bb1b-9608f156bbb8',
    displayName: 'Helpdesk Administrator',
    summary: 'reset passwords of non-administrators and helpdesk administrators',
  },
  {
    templateId: 'fdd7a751-b60b-444a-984c-02652fe8fa1c',
    displayName: 'Groups Administrator',
    summary: 'create and manage groups and their settings',
  },
];

export function findDirectoryRole(templateId: string): DirectoryRole | undefined {
  const id = templateId.trim().toLowerCase();
  return requestableDirectoryRoles.find((role) => role.templateId === id);
}
