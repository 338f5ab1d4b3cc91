/**
 * Microsoft Graph permission ids for test fixtures, read from the real catalog the local tenant serves
 * (never typed by hand: third-party lists carry typos; https://learn.microsoft.com/graph/permissions-reference is the
 * source of that catalog).
 */
import catalog from '../../src/local/tenant/graph-permissions.json';

function idsOf<const N extends readonly string[]>(type: 'Role' | 'Scope', names: N): Record<N[number], string> {
  return Object.fromEntries(
    names.map((name) => {
      const entry = catalog.find((p) => p.value === name && p.type === type);
      if (!entry) throw new Error(`${name} (${type}) is not in graph-permissions.json`);
      return [name, entry.id];
    }),
  ) as Record<N[number], string>;
}

/** Application permissions (appRoles of Microsoft Graph) by name. */
export const roleIds = <const N extends readonly string[]>(names: N) => idsOf('Role', names);
/** Delegated permissions (oauth2PermissionScopes of Microsoft Graph) by name. */
export const scopeIds = <const N extends readonly string[]>(names: N) => idsOf('Scope', names);
