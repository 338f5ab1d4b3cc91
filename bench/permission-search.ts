/**
 * The request form's permission search (Find, and the Data.Query type-ahead in Teams) over Microsoft Graph's real
 * catalog (copies = 1) or a multiple of it, as a person types queries. Target: about a millisecond per search.
 */
import { performance } from 'node:perf_hooks';
import type { PermissionType } from '../src/domain/app-spec';
import { createPermissionIndex, type SearchablePermission } from '../src/domain/permission-search';
import graphCatalog from '../src/local/tenant/graph-permissions.json';

export interface PermissionSearchResult {
  permissions: number;
  searches: number;
  perSearchMs: number;
  p99Ms: number;
}

export function benchPermissionSearch(copies = 1, searches = 4000): PermissionSearchResult {
  const catalog: SearchablePermission[] = graphCatalog.map((p) => ({
    id: p.id,
    value: p.value,
    type: p.type as PermissionType,
    adminConsentRequired: p.adminConsentRequired,
    description: p.description ?? '',
  }));
  const large = Array.from({ length: copies }, (_, i) =>
    catalog.map((p) => ({ ...p, id: `${i}-${p.id}`, value: `${p.value}${i === 0 ? '' : `.V${i}`}` })),
  ).flat();
  const index = createPermissionIndex(large);
  const queries = ['user', 'mail.send', 'read all', 'directory', 'sites', 'x', 'files.readwrite', 'channel messages'];
  for (const query of queries) index.search(query);
  const times: number[] = [];
  for (let i = 0; i < searches; i++) {
    const started = performance.now();
    index.search(queries[i % queries.length]!, { limit: 25 });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return {
    permissions: index.size,
    searches,
    perSearchMs: times.reduce((a, b) => a + b, 0) / searches,
    p99Ms: times[Math.floor(searches * 0.99)]!,
  };
}
