/**
 * Delta queries on directory collections (GET /applications/delta, GET /servicePrincipals/delta): the first round
 * lists every object, later rounds (by $deltatoken) what changed since, deleted ones as @removed; pages of 100
 * chained by $skiptoken, the last with the next round's deltaLink. $select and $filter=id eq '…' are given on the
 * first request only and ride in the tokens.
 * A token this tenant did not issue for this collection and directory, or one older than 7 days (the lifetime of
 * directory objects' delta tokens), answers 410 Gone with syncStateNotFound and a Location to restart from: the
 * client must sync in full again ("Synchronization reset" and "Token duration" in
 * https://learn.microsoft.com/graph/delta-query-overview; the message wording is not documented).
 * https://learn.microsoft.com/graph/api/application-delta, https://learn.microsoft.com/graph/api/serviceprincipal-delta
 */
import { isVisible, type TenantContext } from '../context';
import { GraphError, type GraphRequest, type GraphResponse } from '../http';
import { type CollectionCapabilities, contextUrl, parseSelect } from '../odata';
import { checkFilter, matchesFilter, parseFilter } from '../odata-filter';
import type { DeletedRecord, Json, TenantState } from '../state';

const DELTA_PAGE_SIZE = 100;
/** Delta tokens for directory objects expire after 7 days (delta-query-overview, "Token duration"). */
export const DELTA_TOKEN_LIFETIME_MS = 7 * 24 * 3600 * 1000;
const TOKEN_PREFIX = 'RFNwdAIAAQAAA'; // as odata.ts's tokens: looks like Graph's, the rest is ours

interface DeltaToken {
  /** Which collection and directory issued it. */
  set: string;
  tenant: string;
  /** When the round's first request was made (epoch ms): the token expires 7 days after. */
  issuedAt: number;
  /** Changes after this sequence; null = initial sync (everything present). */
  since: number | null;
  /** Changes up to this sequence (the tenant's sequence when the round started). */
  upTo: number;
  /** The last (sequence, id) returned. */
  after?: [number, string];
  select?: string[];
  filter?: string;
}

/** What a collection gives delta: its live records, how one renders under $select, and its deleted items' kind. */
export interface DeltaCollection<R extends { data: Json; sequence: number; visibleFrom: number }> {
  /** The entity set: "applications", "servicePrincipals". */
  set: string;
  /** $select's properties (and the entity type for its errors); $filter is id eq only. */
  capabilities: CollectionCapabilities;
  records(state: TenantState): Iterable<R>;
  render(record: R, select: string[] | undefined): Json;
  deletedKind: DeletedRecord['kind'];
}

/** Permanently deleted objects, for delta's @removed "deleted" (kept in memory, not saved). */
const tombstones = new WeakMap<TenantState, Array<{ kind: DeletedRecord['kind']; id: string; sequence: number }>>();

/** Records that an object is gone for good, so the next delta round reports it removed as "deleted". */
export function recordTombstone(s: TenantState, kind: DeletedRecord['kind'], id: string): void {
  const list = tombstones.get(s) ?? [];
  list.push({ kind, id, sequence: s.nextSequence() });
  tombstones.set(s, list);
}

function decodeDeltaToken(text: string): DeltaToken | undefined {
  try {
    if (!text.startsWith(TOKEN_PREFIX)) return undefined;
    const value = JSON.parse(Buffer.from(text.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8')) as unknown;
    const token = value as DeltaToken;
    const valid =
      typeof value === 'object' &&
      value !== null &&
      typeof token.set === 'string' &&
      typeof token.tenant === 'string' &&
      typeof token.issuedAt === 'number' &&
      typeof token.upTo === 'number';
    return valid ? token : undefined;
  } catch {
    return undefined;
  }
}

/** The delta handler of one collection over the acting directory's state. */
export function deltaHandler<R extends { data: Json; sequence: number; visibleFrom: number }>(
  ctx: TenantContext,
  collection: DeltaCollection<R>,
): (request: GraphRequest) => GraphResponse {
  const filterCapabilities: CollectionCapabilities = {
    ...collection.capabilities,
    filter: { id: { byDefault: ['eq'] } },
  };
  const deltaUrl = (request: GraphRequest) => `${request.serviceRoot}/${collection.set}/delta`;

  /** 410 Gone: the client must start over with a full round (Location: the first request again, $select kept). */
  function resyncRequired(request: GraphRequest, token: DeltaToken | undefined): GraphError {
    const params = new URLSearchParams();
    if (token?.select) params.set('$select', token.select.join(','));
    if (token?.filter) params.set('$filter', token.filter);
    const query = params.toString().replace(/%24/g, '$').replace(/%2C/g, ',');
    return new GraphError(
      410,
      'syncStateNotFound',
      'The sync state is not found or has expired. Start a full synchronization without a delta token.',
      undefined,
      { location: `${deltaUrl(request)}${query ? `?${query}` : ''}` },
    );
  }

  /** A token from this collection and directory, not yet expired; else 410. */
  function accepted(request: GraphRequest, text: string, s: TenantState): DeltaToken {
    const token = decodeDeltaToken(text);
    if (!token || token.set !== collection.set || token.tenant !== s.tenantId) throw resyncRequired(request, undefined);
    if (request.now.getTime() - token.issuedAt > DELTA_TOKEN_LIFETIME_MS) throw resyncRequired(request, token);
    return token;
  }

  return function delta(request: GraphRequest): GraphResponse {
    const s = ctx.state();
    // A seed may stamp records with sequences the tenant counter has not reached; rounds must start above them.
    for (const record of [...collection.records(s), ...Object.values(s.data.deletedItems)]) {
      if (record.sequence > s.data.sequence) s.data.sequence = record.sequence;
    }
    const q = request.query;
    const issuedAt = request.now.getTime();
    const base = { set: collection.set, tenant: s.tenantId };
    let token: DeltaToken;
    const deltaToken = q.get('$deltatoken');
    const skipToken = q.get('$skiptoken');
    const link = (next: DeltaToken, kind: 'deltatoken' | 'skiptoken') =>
      `${deltaUrl(request)}?$${kind}=${TOKEN_PREFIX}${Buffer.from(JSON.stringify(next), 'utf8').toString('base64url')}`;
    if (deltaToken !== null && deltaToken.toLowerCase() === 'latest') {
      const select = parseSelect(q.get('$select'), collection.capabilities);
      const filter = q.get('$filter') ?? undefined;
      if (filter) checkFilter(parseFilter(filter), filterCapabilities, false);
      const next: DeltaToken = { ...base, issuedAt, since: s.data.sequence, upTo: s.data.sequence, select, filter };
      return {
        status: 200,
        body: {
          '@odata.context': contextUrl(request.serviceRoot, collection.set, select),
          '@odata.deltaLink': link(next, 'deltatoken'),
          value: [],
        },
      };
    } else if (deltaToken !== null) {
      const previous = accepted(request, deltaToken, s);
      token = {
        ...base,
        issuedAt,
        since: previous.upTo,
        upTo: s.data.sequence,
        select: previous.select,
        filter: previous.filter,
      };
    } else if (skipToken !== null) {
      token = accepted(request, skipToken, s);
    } else {
      const select = parseSelect(q.get('$select'), collection.capabilities);
      token = { ...base, issuedAt, since: null, upTo: s.data.sequence, select, filter: q.get('$filter') ?? undefined };
    }
    const filter = token.filter ? parseFilter(token.filter) : undefined;
    if (filter) checkFilter(filter, filterCapabilities, false);
    const since = token.since;
    const inRound = (sequence: number) => sequence <= token.upTo && (since === null || sequence > since);
    const wanted = (object: Json) => !filter || matchesFilter(filter, object);

    const changes: Array<{ sequence: number; id: string; item: Json }> = [];
    for (const record of collection.records(s)) {
      if (!inRound(record.sequence) || !isVisible(record, request.now) || !wanted(record.data)) continue;
      changes.push({
        sequence: record.sequence,
        id: String(record.data.id),
        item: { id: record.data.id, ...collection.render(record, token.select) },
      });
    }
    if (since !== null) {
      for (const [id, record] of Object.entries(s.data.deletedItems)) {
        if (record.kind === collection.deletedKind && inRound(record.sequence) && wanted({ id })) {
          changes.push({ sequence: record.sequence, id, item: { id, '@removed': { reason: 'changed' } } });
        }
      }
      for (const gone of tombstones.get(s) ?? []) {
        if (gone.kind === collection.deletedKind && inRound(gone.sequence) && wanted({ id: gone.id }))
          changes.push({
            sequence: gone.sequence,
            id: gone.id,
            item: { id: gone.id, '@removed': { reason: 'deleted' } },
          });
      }
    }
    const order = (a: { sequence: number; id: string }, b: { sequence: number; id: string }) =>
      a.sequence - b.sequence || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    changes.sort(order);
    const after = token.after;
    const remaining = after ? changes.filter((c) => order(c, { sequence: after[0], id: after[1] }) > 0) : changes;
    const page = remaining.slice(0, DELTA_PAGE_SIZE);
    const body: Json = { '@odata.context': contextUrl(request.serviceRoot, collection.set, token.select) };
    if (remaining.length > page.length) {
      const last = page[page.length - 1]!;
      body['@odata.nextLink'] = link({ ...token, after: [last.sequence, last.id] }, 'skiptoken');
    } else {
      // The deltaLink's 7 days run from when it is handed out.
      const next: DeltaToken = {
        ...base,
        issuedAt,
        since: token.upTo,
        upTo: token.upTo,
        select: token.select,
        filter: token.filter,
      };
      body['@odata.deltaLink'] = link(next, 'deltatoken');
    }
    body.value = page.map((c) => c.item);
    return { status: 200, body };
  };
}
