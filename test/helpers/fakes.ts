/**
 * Small hand-written fakes of the ports, for service tests: a provisioner that knows the real Microsoft Graph
 * catalog and one more API, a directory of groups, a clock that moves only when told, and a random source
 * that gives a fixed sequence.
 */
import { createHash } from 'node:crypto';
import graphCatalog from '../../src/local/tenant/graph-permissions.json';
import { MICROSOFT_GRAPH_APP_ID, type CatalogPermission, type PermissionType } from '../../src/domain/app-spec';
import type { Clock, Directory, Provisioner, ResourceCatalog } from '../../src/services/ports';

export const ordersApi = {
  resourceAppId: 'a1b2c3d4-0000-4000-8000-00000000c0de',
  resourceDisplayName: 'Contoso Orders API',
} as const;

const ordersPermissions: CatalogPermission[] = [
  {
    id: '5f0c2c31-1b39-4f4b-9a7d-0d1e2f3a4b51',
    value: 'Orders.Read',
    type: 'Scope',
    adminConsentRequired: false,
    description: 'Read orders as the signed-in user.',
  },
  {
    id: '5f0c2c31-1b39-4f4b-9a7d-0d1e2f3a4b52',
    value: 'Orders.ReadWrite.All',
    type: 'Role',
    adminConsentRequired: true,
    description: 'Read and write every order.',
  },
];

function asCatalog(
  entries: ReadonlyArray<{
    id: string;
    value: string;
    type: string;
    adminConsentRequired: boolean;
    description?: string | null;
  }>,
): CatalogPermission[] {
  return entries.map(({ id, value, type, adminConsentRequired, description }) => ({
    id,
    value,
    type: type as PermissionType,
    adminConsentRequired,
    description: description ?? '',
  }));
}

/** catalog and findResource as the Graph provisioner answers them, for Microsoft Graph and the Orders API. */
export class FakeProvisioner implements Pick<Provisioner, 'catalog' | 'findResource'> {
  readonly calls: string[] = [];
  private readonly catalogs = new Map<string, ResourceCatalog>([
    [
      MICROSOFT_GRAPH_APP_ID,
      {
        resourceAppId: MICROSOFT_GRAPH_APP_ID,
        resourceDisplayName: 'Microsoft Graph',
        permissions: asCatalog(graphCatalog),
      },
    ],
    [ordersApi.resourceAppId, { ...ordersApi, permissions: ordersPermissions }],
  ]);

  async catalog(resourceAppId: string): Promise<ResourceCatalog> {
    this.calls.push(`catalog ${resourceAppId}`);
    const found = this.catalogs.get(resourceAppId.toLowerCase());
    if (!found) throw new Error(`no service principal for ${resourceAppId}`);
    return found;
  }

  async findResource(resourceAppId: string): Promise<ResourceCatalog | undefined> {
    this.calls.push(`find ${resourceAppId}`);
    return this.catalogs.get(resourceAppId.toLowerCase());
  }
}

/** Groups and their (transitive) members. */
export class FakeDirectory implements Directory {
  calls = 0;
  constructor(private readonly members: Record<string, readonly string[]>) {}
  async isMemberOfAnyGroup(user: string, groups: readonly string[]): Promise<boolean> {
    this.calls += 1;
    return groups.some((g) => this.members[g]?.some((m) => m.toLowerCase() === user.toLowerCase()));
  }
}

/** A clock that stands still until a test moves it. */
export class FixedClock implements Clock {
  private current: Date;
  constructor(start = '2026-03-02T09:00:00.000Z') {
    this.current = new Date(start);
  }
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
  set(iso: string): void {
    this.current = new Date(iso);
  }
}

/** Bytes from SHA-256 of a seed and a counter: distinct ids, the same in every run. */
export function deterministicRandom(seed = 'registrar'): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let filled = 0; filled < n;) {
      const block = createHash('sha256').update(`${seed}:${counter++}`).digest();
      out.set(block.subarray(0, Math.min(block.length, n - filled)), filled);
      filled += block.length;
    }
    return out;
  };
}
