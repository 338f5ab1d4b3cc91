/**
 * Finding Microsoft Graph permissions by what people type: the request form's Data.Query type-ahead and its
 * Find filter both call this, because the catalog is far larger than a card may carry. An index lowers every
 * field once, so a search is one pass over plain strings.
 */
import type { CatalogPermission, PermissionType } from './app-spec';

/** A catalog entry as the catalog file and the resource's service principal give it (displayName is optional there). */
export type SearchablePermission = CatalogPermission & { displayName?: string };

export interface PermissionSearchResult {
  /** How many permissions matched in all; `items` holds the first `limit` of them. */
  total: number;
  items: SearchablePermission[];
}

export interface PermissionSearchOptions {
  /** At most this many items (default 25, at most 100). */
  limit?: number;
  type?: PermissionType;
}

/**
 * What a card sends for a chosen permission: its type and id. An id alone is not enough: Microsoft Graph gives
 * User.Export.All's application role and delegated scope the same id (405a51b5-8d8d-430b-9842-8be4b0e9f324).
 */
export function permissionKey(permission: { id: string; type: PermissionType }): string {
  return `${permission.type}:${permission.id.toLowerCase()}`;
}

const keyPattern = /^(Role|Scope):([0-9a-f-]{36})$/i;

export interface PermissionIndex {
  search(query: string, options?: PermissionSearchOptions): PermissionSearchResult;
  /** By permission key (permissionKey), or by a bare id where only one permission has it (forms sent before keys). */
  byKey(key: string): SearchablePermission | undefined;
  byValue(value: string, type: PermissionType): SearchablePermission | undefined;
  readonly size: number;
}

interface Entry {
  permission: SearchablePermission;
  value: string;
  segments: string[];
  text: string;
}

/** Longer queries are cut: nobody types a permission name this long. */
export const maxQueryLength = 100;

/** Better matches first: the name itself, a name that starts with the query, a word of the name, anywhere in the name, the description. */
const Rank = { Exact: 0, Prefix: 1, SegmentPrefix: 2, InName: 3, InText: 4 } as const;
type Rank = (typeof Rank)[keyof typeof Rank];

function rank(entry: Entry, query: string, terms: readonly string[]): Rank | undefined {
  if (entry.value === query) return Rank.Exact;
  if (entry.value.startsWith(query)) return Rank.Prefix;
  if (entry.segments.some((segment) => segment.startsWith(query))) return Rank.SegmentPrefix;
  if (entry.value.includes(query)) return Rank.InName;
  return terms.every((term) => entry.value.includes(term) || entry.text.includes(term)) ? Rank.InText : undefined;
}

export function createPermissionIndex(catalog: readonly SearchablePermission[]): PermissionIndex {
  const entries: Entry[] = catalog
    .map((permission) => {
      const value = permission.value.toLowerCase();
      return {
        permission,
        value,
        segments: value.split(/[._-]/),
        text: `${permission.displayName ?? ''}\n${permission.description ?? ''}`.toLowerCase(),
      };
    })
    // Alphabetical, delegated before application: the order within a rank, decided once.
    .sort((a, b) =>
      a.value < b.value
        ? -1
        : a.value > b.value
          ? 1
          : a.permission.type === b.permission.type
            ? 0
            : a.permission.type === 'Scope'
              ? -1
              : 1,
    );
  const keys = new Map(catalog.map((p) => [permissionKey(p), p]));
  const ids = new Map<string, SearchablePermission | null>();
  for (const p of catalog) ids.set(p.id.toLowerCase(), ids.has(p.id.toLowerCase()) ? null : p);
  const values = new Map(catalog.map((p) => [`${p.type}:${p.value.toLowerCase()}`, p]));

  return {
    size: entries.length,
    byKey(key) {
      const text = key.trim();
      const typed = keyPattern.exec(text);
      if (typed) {
        const type = typed[1]!.toLowerCase() === 'role' ? 'Role' : 'Scope';
        return keys.get(`${type}:${typed[2]!.toLowerCase()}`);
      }
      return ids.get(text.toLowerCase()) ?? undefined;
    },
    byValue: (value, type) => values.get(`${type}:${value.trim().toLowerCase()}`),
    search(rawQuery, options = {}) {
      const limit = Math.max(0, Math.min(options.limit ?? 25, 100));
      const query = rawQuery.slice(0, maxQueryLength).trim().toLowerCase().replace(/\s+/g, ' ');
      const terms = query.split(' ').filter(Boolean);
      const buckets: SearchablePermission[][] = [[], [], [], [], []];
      let total = 0;
      for (const entry of entries) {
        if (options.type && entry.permission.type !== options.type) continue;
        const found = query === '' ? Rank.Exact : rank(entry, query, terms);
        if (found === undefined) continue;
        total += 1;
        buckets[found]!.push(entry.permission);
      }
      return { total, items: buckets.flat().slice(0, limit) };
    },
  };
}
