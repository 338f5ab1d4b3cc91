/**
 * Directory roles: the built-in role definitions, and role assignments to users and service principals
 * (list, get, create, delete). https://learn.microsoft.com/graph/api/rbacapplication-post-roleassignments
 */
import { isVisible, type RouteModule } from '../context';
import { badRequest, notFound } from '../http';
import { type DirectoryRecord, type Json, newRoleAssignmentId } from '../state';
import { capabilities, collection, entity, EQ, EQ_STARTS, findDirectoryObject, read } from './directory';

const ROLE_READ = [
  'RoleManagement.Read.Directory',
  'RoleManagement.ReadWrite.Directory',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
] as const;
const ROLE_WRITE = ['RoleManagement.ReadWrite.Directory'] as const;

// ---------------------------------------------------------------------------------------------------------
// Built-in directory roles: template ids are the same in every tenant
// (https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).

export const BUILT_IN_ROLES: ReadonlyArray<{ id: string; displayName: string; description: string }> = [
  {
    id: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
    displayName: 'User Administrator',
    description: 'Can manage all aspects of users and groups, including resetting passwords for limited admins.',
  },
  {
    id: '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3',
    displayName: 'Application Administrator',
    description: 'Can create and manage all aspects of app registrations and enterprise apps.',
  },
  {
    id: '158c047a-c907-4556-b7ef-446551a6b5f7',
    displayName: 'Cloud Application Administrator',
    description: 'Can create and manage all aspects of app registrations and enterprise apps except App Proxy.',
  },
  {
    id: 'cf1c38e5-3621-4004-a7cb-879624dced7c',
    displayName: 'Application Developer',
    description: "Can create application registrations independent of the 'Users can register applications' setting.",
  },
  {
    id: '62e90394-69f5-4237-9190-012177145e10',
    displayName: 'Global Administrator',
    description:
      'Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.',
  },
  {
    id: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
    displayName: 'Global Reader',
    description: 'Can read everything that a Global Administrator can, but not update anything.',
  },
  {
    id: 'e8611ab8-c189-46e8-94e1-60213ab1f814',
    displayName: 'Privileged Role Administrator',
    description:
      'Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.',
  },
  {
    id: 'fdd7a751-b60b-444a-984c-02652fe8fa1c',
    displayName: 'Groups Administrator',
    description:
      'Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies, and view groups activity and audit reports.',
  },
  {
    id: '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
    displayName: 'Directory Readers',
    description:
      'Can read basic directory information. Commonly used to grant directory read access to applications and guests.',
  },
  {
    id: '9360feb5-f418-4baa-8175-e2a00bac4301',
    displayName: 'Directory Writers',
    description:
      'Can read and write basic directory information. For granting access to applications, not intended for users.',
  },
  {
    id: '729827e3-9c14-49f7-bb1b-9608f156bbb8',
    displayName: 'Helpdesk Administrator',
    description: 'Can reset passwords for non-administrators and Helpdesk Administrators.',
  },
  {
    id: '194ae4cb-b126-40b2-bd5b-6091b380977d',
    displayName: 'Security Administrator',
    description:
      'Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365.',
  },
  {
    id: '69091246-20e8-4a56-aa4d-066075b2a7a8',
    displayName: 'Teams Administrator',
    description: 'Can manage the Microsoft Teams service.',
  },
];

function roleDefinition(role: (typeof BUILT_IN_ROLES)[number]): Json {
  return {
    id: role.id,
    description: role.description,
    displayName: role.displayName,
    isBuiltIn: true,
    isEnabled: true,
    resourceScopes: ['/'],
    templateId: role.id,
    version: '1',
    rolePermissions: [],
  };
}

const ROLE_DEFINITIONS = capabilities(
  'UnifiedRoleDefinition',
  'unifiedRoleDefinition',
  'id description displayName isBuiltIn isEnabled resourceScopes templateId version rolePermissions',
  {
    id: EQ,
    displayName: EQ_STARTS,
    templateId: EQ,
    isBuiltIn: EQ,
  },
);
const ROLE_ASSIGNMENTS = capabilities(
  'UnifiedRoleAssignment',
  'unifiedRoleAssignment',
  'id roleDefinitionId principalId directoryScopeId appScopeId condition principalOrganizationId',
  {
    id: EQ,
    principalId: EQ,
    roleDefinitionId: EQ,
    directoryScopeId: EQ,
    appScopeId: EQ,
  },
);

const CONFLICT = 'A conflicting object with one or more of the specified property values is present in the directory.';

export const directoryRoleRoutes: RouteModule = (ctx) => {
  function findRoleAssignment(id: string, now: Date): DirectoryRecord {
    const record = ctx.state().data.roleAssignments[id];
    if (!record || !isVisible(record, now)) throw notFound(id);
    return record;
  }

  return [
    read(ROLE_READ, '/roleManagement/directory/roleDefinitions', (r) => {
      return collection(
        r,
        'roleManagement/directory/roleDefinitions',
        BUILT_IN_ROLES.map(roleDefinition),
        ROLE_DEFINITIONS,
      );
    }),
    read(ROLE_READ, '/roleManagement/directory/roleDefinitions/{id}', (r) => {
      const role = BUILT_IN_ROLES.find((d) => d.id === r.params.id!.toLowerCase());
      if (!role) throw notFound(r.params.id!);
      return entity(r, 'roleManagement/directory/roleDefinitions', roleDefinition(role), ROLE_DEFINITIONS);
    }),
    read(ROLE_READ, '/roleManagement/directory/roleAssignments', (r) => {
      const assignments = Object.values(ctx.state().data.roleAssignments)
        .filter((a) => isVisible(a, r.now))
        .map((a) => a.data);
      return collection(r, 'roleManagement/directory/roleAssignments', assignments, ROLE_ASSIGNMENTS);
    }),
    read(ROLE_READ, '/roleManagement/directory/roleAssignments/{id}', (r) =>
      entity(
        r,
        'roleManagement/directory/roleAssignments',
        findRoleAssignment(r.params.id!, r.now).data,
        ROLE_ASSIGNMENTS,
      ),
    ),
    {
      method: 'POST',
      pattern: '/roleManagement/directory/roleAssignments',
      permission: { anyOf: ROLE_WRITE },
      write: true,
      handler: (r) => {
        const body = (r.body ?? {}) as Json;
        const principalId = typeof body.principalId === 'string' ? body.principalId.toLowerCase() : '';
        const roleDefinitionId = typeof body.roleDefinitionId === 'string' ? body.roleDefinitionId.toLowerCase() : '';
        const directoryScopeId = typeof body.directoryScopeId === 'string' ? body.directoryScopeId : null;
        const appScopeId = typeof body.appScopeId === 'string' ? body.appScopeId : null;
        if (!principalId || !roleDefinitionId) throw badRequest('One or more properties are invalid.');
        if (!directoryScopeId && !appScopeId)
          throw badRequest('Either directoryScopeId or appScopeId must be specified.');
        if (!BUILT_IN_ROLES.some((d) => d.id === roleDefinitionId)) throw notFound(roleDefinitionId);
        const principal = findDirectoryObject(ctx.state(), principalId);
        if (!principal || principal.kind === 'application' || !isVisible(principal.record, r.now))
          throw notFound(principalId);
        const duplicate = Object.values(ctx.state().data.roleAssignments).some(
          (a) =>
            a.data.principalId === principalId &&
            a.data.roleDefinitionId === roleDefinitionId &&
            (a.data.directoryScopeId ?? null) === directoryScopeId &&
            (a.data.appScopeId ?? null) === appScopeId,
        );
        if (duplicate) throw badRequest(CONFLICT);
        const id = newRoleAssignmentId();
        const data: Json = {
          id,
          roleDefinitionId,
          principalId,
          directoryScopeId,
          ...(appScopeId ? { appScopeId } : {}),
        };
        ctx.state().data.roleAssignments[id] = {
          data,
          visibleFrom: ctx.visibleFrom(),
          sequence: ctx.state().nextSequence(),
        };
        return {
          status: 201,
          body: {
            '@odata.context': `${r.serviceRoot}/$metadata#roleManagement/directory/roleAssignments/$entity`,
            ...data,
          },
        };
      },
    },
    {
      method: 'DELETE',
      pattern: '/roleManagement/directory/roleAssignments/{id}',
      permission: { anyOf: ROLE_WRITE },
      write: true,
      handler: (r) => {
        const record = findRoleAssignment(r.params.id!, r.now);
        delete ctx.state().data.roleAssignments[String(record.data.id)];
        return { status: 204 };
      },
    },
  ];
};
