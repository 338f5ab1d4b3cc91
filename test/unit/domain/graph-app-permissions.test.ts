/**
 * The one list of Registrar's Microsoft Graph application permissions against what depends on it: infra/README.md
 * names exactly these (and, in prose, only the superseded ones besides), and every role id is Microsoft Graph's
 * (shared/reference/graph-permissions.json, which the local tenant serves as src/local/tenant/graph-permissions.json).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  graphAppPermissions,
  graphPermissionsToGrant,
  supersededGraphPermissions,
} from '../../../src/domain/graph-app-permissions';
import emulatorCatalog from '../../../src/local/tenant/graph-permissions.json';
import { REGISTRAR_ROLES } from '../../../src/local/tenant/seed';

const root = join(__dirname, '..', '..', '..');
const readme = readFileSync(join(root, 'infra', 'README.md'), 'utf8');
const referencePath = '/work/shared/reference/graph-permissions.json';

type CatalogEntry = { value: string; id: string; type: string };
const catalogs: Array<[string, CatalogEntry[]]> = [
  ['src/local/tenant/graph-permissions.json', emulatorCatalog as CatalogEntry[]],
];
if (existsSync(referencePath))
  catalogs.push([
    'shared/reference/graph-permissions.json',
    JSON.parse(readFileSync(referencePath, 'utf8')) as CatalogEntry[],
  ]);

/** The "## Microsoft Graph permissions" section, up to the next "## " heading. */
function section(): string {
  const start = readme.indexOf('\n## Microsoft Graph permissions\n');
  if (start < 0) throw new Error('infra/README.md has no "## Microsoft Graph permissions" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The first cell of each row of the section's first table: the permission names it lists. */
function tablePermissions(): string[] {
  const rows = section()
    .split('\n')
    .filter((line) => line.startsWith('| `'));
  return rows.map((row) => /^\| `([^`]+)`/.exec(row)![1]!);
}

/** Every name shaped like a Graph permission (Resource.Read…, Resource.ReadWrite…) anywhere in the README. */
function mentionedPermissionNames(): Set<string> {
  const names = new Set<string>();
  const known = new Set(catalogs.flatMap(([, c]) => c.map((p) => p.value)).filter((v) => v.includes('.')));
  for (const m of readme.matchAll(
    /(?<![\w.])[A-Z][A-Za-z]*\.(?:Read|ReadWrite|ReadBasic|Create|Send|Manage)[A-Za-z]*(?:\.[A-Z][A-Za-z]*)*/g,
  ))
    names.add(m[0]);
  // A whole name: User.Read is not mentioned by User.Read.All.
  for (const name of known)
    if (new RegExp(`(?<![\\w.])${name.replace(/\./g, '\\.')}(?![\\w.]*\\w)`).test(readme)) names.add(name);
  return names;
}

describe("Registrar's Microsoft Graph application permissions", () => {
  test('when infra/README.md is read, then its table lists every permission of the list, in order, and no other', () => {
    expect(tablePermissions()).toEqual(graphAppPermissions.map((p) => p.value));
    for (const p of graphAppPermissions.filter((x) => x.optional))
      expect(section()).toContain(`\`${p.value}\` (optional: \`--directory-roles\`)`);
  });

  test('when infra/README.md names a Graph permission anywhere, then it is one of the list or one the list supersedes', () => {
    const allowed = new Set([
      ...graphAppPermissions.map((p) => p.value),
      ...supersededGraphPermissions.map((p) => p.value),
    ]);

    const others = [...mentionedPermissionNames()].filter((name) => !allowed.has(name));

    expect(others).toEqual([]);
  });

  test.each(catalogs)(
    'when the role ids are compared with %s, then each is the application permission of that name',
    (_name, catalog) => {
      for (const permission of graphAppPermissions) {
        const roles = catalog.filter((p) => p.type === 'Role' && p.value === permission.value);
        expect({ value: permission.value, ids: roles.map((r) => r.id) }).toEqual({
          value: permission.value,
          ids: [permission.id],
        });
      }
      // The superseded ones are real permissions too (the setup command names them when an identity holds them).
      for (const { value } of supersededGraphPermissions)
        expect(catalog.some((p) => p.type === 'Role' && p.value === value)).toBe(true);
    },
  );

  test('when the list is read, then values and ids are unique, only RoleManagement.ReadWrite.Directory is optional, and none is also superseded', () => {
    expect(new Set(graphAppPermissions.map((p) => p.value)).size).toBe(graphAppPermissions.length);
    expect(new Set(graphAppPermissions.map((p) => p.id)).size).toBe(graphAppPermissions.length);
    expect(graphAppPermissions.filter((p) => p.optional).map((p) => p.value)).toEqual([
      'RoleManagement.ReadWrite.Directory',
    ]);
    expect(supersededGraphPermissions.filter((s) => graphAppPermissions.some((p) => p.value === s.value))).toEqual([]);
    for (const p of graphAppPermissions) {
      expect(p.neededBy.length).toBeGreaterThan(0);
      expect(p.why.length).toBeGreaterThan(40);
      expect(p.reference).toMatch(/^https:\/\/learn\.microsoft\.com\/graph\/api\//);
    }
  });

  test('when the permissions to grant are asked for, then the optional one comes only with directory roles', () => {
    const required = graphAppPermissions.filter((p) => !p.optional).map((p) => p.value);

    expect(graphPermissionsToGrant({ directoryRoles: false }).map((p) => p.value)).toEqual(required);
    expect(graphPermissionsToGrant({ directoryRoles: true }).map((p) => p.value)).toEqual(
      graphAppPermissions.map((p) => p.value),
    );
  });

  test('when the local tenant seeds Registrar, then it holds the whole list, the optional permission included', () => {
    expect([...REGISTRAR_ROLES]).toEqual(graphAppPermissions.map((p) => p.value));
  });
});
