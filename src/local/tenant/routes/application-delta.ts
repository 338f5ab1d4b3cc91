/**
 * GET /applications/delta: the first round lists every application, later rounds (by $deltatoken) what changed
 * since, deleted ones as @removed; pages of 100 chained by $skiptoken, the last with the next round's deltaLink.
 * https://learn.microsoft.com/graph/api/application-delta and https://learn.microsoft.com/graph/delta-query-overview
 */
import { isVisible, type TenantContext } from '../context';
import type { GraphRequest, GraphResponse } from '../http';
import { type CollectionCapabilities, contextUrl, decodeToken, encodeToken, parseSelect } from '../odata';
import { checkFilter, matchesFilter, parseFilter } from '../odata-filter';
import type { Json, TenantState } from '../state';
import { APPLICATION_CAPABILITIES, renderApplication } from './application-schema';

const DELTA_PAGE_SIZE = 100;

/** Delta supports only $filter=id eq '…' [or id eq '…']. */
const DELTA_CAPABILITIES: CollectionCapabilities = {
  ...APPLICATION_CAPABILITIES,
  filter: { id: { byDefault: ['eq'] } },
};

function deltaTokenValid(value: unknown): value is DeltaToken {
  return typeof value === 'object' && value !== null && typeof (value as DeltaToken).upTo === 'number';
}

interface DeltaToken {
  /** Changes after this sequence; null = initial sync (everything present). */
  since: number | null;
  /** Changes up to this sequence (the tenant's sequence when the round started). */
  upTo: number;
  /** The last (sequence, id) returned. */
  after?: [number, string];
  select?: string[];
  filter?: string;
}

/** Permanently deleted applications, for delta's @removed "deleted" (kept in memory, not saved). */
const tombstones = new WeakMap<TenantState, Array<{ id: string; sequence: number }>>();

/** Records that an application is gone for good, so the next delta round reports it removed as "deleted". */
export function recordTombstone(s: TenantState, id: string): void {
  const list = tombstones.get(s) ?? [];
  list.push({ id, sequence: s.nextSequence() });
  tombstones.set(s, list);
}

/** The delta handler over the tenant's state. */
export function applicationDelta(ctx: TenantContext): (request: GraphRequest) => GraphResponse {
  return delta;

  function delta(request: GraphRequest): GraphResponse {
    const s = ctx.state();
    // A seed may stamp records with sequences the tenant counter has not reached; rounds must start above them.
    for (const record of [...Object.values(s.data.applications), ...Object.values(s.data.deletedItems)]) {
      if (record.sequence > s.data.sequence) s.data.sequence = record.sequence;
    }
    const q = request.query;
    let token: DeltaToken;
    const deltaToken = q.get('$deltatoken');
    const skipToken = q.get('$skiptoken');
    if (deltaToken !== null && deltaToken.toLowerCase() === 'latest') {
      const select = parseSelect(q.get('$select'), APPLICATION_CAPABILITIES);
      const next: DeltaToken = {
        since: s.data.sequence,
        upTo: s.data.sequence,
        select,
        filter: q.get('$filter') ?? undefined,
      };
      return {
        status: 200,
        body: {
          '@odata.context': contextUrl(request.serviceRoot, 'applications', select),
          '@odata.deltaLink': `${request.serviceRoot}/applications/delta?$deltatoken=${encodeToken(next)}`,
          value: [],
        },
      };
    } else if (deltaToken !== null) {
      const previous = decodeToken(deltaToken, deltaTokenValid);
      token = { since: previous.upTo, upTo: s.data.sequence, select: previous.select, filter: previous.filter };
    } else if (skipToken !== null) {
      token = decodeToken(skipToken, deltaTokenValid);
    } else {
      const select = parseSelect(q.get('$select'), APPLICATION_CAPABILITIES);
      const filterText = q.get('$filter') ?? undefined;
      token = { since: null, upTo: s.data.sequence, select, filter: filterText };
    }
    const filter = token.filter ? parseFilter(token.filter) : undefined;
    if (filter) checkFilter(filter, DELTA_CAPABILITIES, false);
    const since = token.since;
    const inRound = (sequence: number) => sequence <= token.upTo && (since === null || sequence > since);
    const wanted = (object: Json) => !filter || matchesFilter(filter, object);

    const changes: Array<{ sequence: number; id: string; item: Json }> = [];
    for (const record of Object.values(s.data.applications)) {
      if (!inRound(record.sequence) || !isVisible(record, request.now) || !wanted(record.data)) continue;
      const selected = renderApplication(record, token.select);
      changes.push({
        sequence: record.sequence,
        id: String(record.data.id),
        item: { id: record.data.id, ...selected },
      });
    }
    if (since !== null) {
      for (const [id, record] of Object.entries(s.data.deletedItems)) {
        if (record.kind === 'application' && inRound(record.sequence) && wanted({ id })) {
          changes.push({ sequence: record.sequence, id, item: { id, '@removed': { reason: 'changed' } } });
        }
      }
      for (const gone of tombstones.get(s) ?? []) {
        if (inRound(gone.sequence) && wanted({ id: gone.id }))
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
    const body: Json = { '@odata.context': contextUrl(request.serviceRoot, 'applications', token.select) };
    if (remaining.length > page.length) {
      const last = page[page.length - 1]!;
      body['@odata.nextLink'] =
        `${request.serviceRoot}/applications/delta?$skiptoken=${encodeToken({ ...token, after: [last.sequence, last.id] })}`;
    } else {
      const next: DeltaToken = { since: token.upTo, upTo: token.upTo, select: token.select, filter: token.filter };
      body['@odata.deltaLink'] = `${request.serviceRoot}/applications/delta?$deltatoken=${encodeToken(next)}`;
    }
    body.value = page.map((c) => c.item);
    return { status: 200, body };
  }
}
