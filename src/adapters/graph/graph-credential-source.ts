/**
 * CredentialSource on Microsoft Graph: the expiry scan reads every application's passwordCredentials and
 * keyCredentials with $select and $top=999 (https://learn.microsoft.com/graph/api/application-list), page by page,
 * and hands each page on before reading the next, so that memory holds one page however large the tenant. Pages
 * carry no owners: with $expand, Graph returns at most 100 objects a page and at most 20 expanded items per object
 * (https://learn.microsoft.com/graph/known-issues, https://learn.microsoft.com/graph/query-parameters#expand), so
 * the owners of only the applications the scan announces are read afterwards, 20 applications to a JSON batch
 * (https://learn.microsoft.com/graph/json-batching), each followed through its own @odata.nextLink.
 *
 * A scan of every application then reads every service principal the same way
 * (https://learn.microsoft.com/graph/api/serviceprincipal-list), for the credentials a service principal carries of
 * its own: an enterprise application's SAML token-signing certificate, and secrets or certificates added to the
 * service principal. A multi-tenant app's service principal carries none unless they were added to it here, so only
 * what the service principal itself holds is read; its application's credentials are the application's
 * (https://learn.microsoft.com/entra/identity-platform/app-objects-and-service-principals).
 *
 * Listing applications or service principals with keyCredentials in $select is limited to 150 requests a minute per
 * tenant (the application-list and serviceprincipal-list pages): both listings wait on one shared budget
 * (lib/rate-limiter.ts) rather than being refused.
 * Every request goes through the GraphCaller (its retry policy, a deadline per request); what still fails is a
 * RegistrarError.
 */
import { REGISTRAR_TAG } from '../../domain/app-spec';
import { RegistrarError } from '../../domain/errors';
import type { CredentialInfo, CredentialOwnerKind } from '../../domain/expiry';
import type { Logger } from '../../lib/logger';
import { createLimiter } from '../../lib/queues';
import { createRateLimiter, type RateLimiter } from '../../lib/rate-limiter';
import type { RetryDecision } from '../../lib/retry';
import type {
  AppPrivileges,
  ApplicationSummary,
  CredentialChange,
  CredentialChangePage,
  CredentialHolder,
  CredentialSource,
  DeltaLinks,
} from '../../services/ports';
import { SyncReset } from '../../domain/errors';
import { type CallOptions, type GraphCaller, type GraphGet, stringLiteral as literal } from './graph-caller';
import { type FailureHelp, GraphRequestFailed, graphRetryClassifier, readGraphFailure } from './graph-errors';
import { isGuid } from '../../domain/guid';

export interface GraphCredentialSourceOptions {
  graph: GraphCaller;
  logger: Logger;
  /**
   * The tenant's budget for listing with keyCredentials selected, shared by every listing of this tenant
   * (default: one of its own, LISTING_BUDGET a minute).
   */
  listingBudget?: RateLimiter;
  /** Owners batches in flight at once (default 4). */
  ownersConcurrency?: number;
}

/**
 * "150 requests per minute per tenant" when keyCredentials is in $select, for applications and service principals
 * alike (https://learn.microsoft.com/graph/api/application-list, https://learn.microsoft.com/graph/api/serviceprincipal-list).
 */
export const LISTING_BUDGET = { limit: 150, windowMs: 60_000 } as const;
/** Requests in one JSON batch (https://learn.microsoft.com/graph/json-batching). */
export const BATCH_REQUESTS = 20;
const DEFAULT_OWNERS_CONCURRENCY = 4;

const PAGE_SIZE = 999;
const USER_TYPE = '#microsoft.graph.user';
const SELECT = ['id', 'appId', 'displayName', 'passwordCredentials', 'keyCredentials', 'tags'];
const SP_SELECT = [
  'id',
  'appId',
  'displayName',
  'keyCredentials',
  'passwordCredentials',
  'preferredSingleSignOnMode',
  'preferredTokenSigningKeyThumbprint',
];
const HEX_SHA1 = /^[0-9a-f]{40}$/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const READ_ALL = 'Application.Read.All';

interface GraphPasswordCredential {
  keyId?: string | null;
  displayName?: string | null;
  customKeyIdentifier?: string | null;
  hint?: string | null;
  endDateTime?: string | null;
}

interface GraphKeyCredential {
  keyId?: string | null;
  displayName?: string | null;
  customKeyIdentifier?: string | null;
  endDateTime?: string | null;
  /** 'Sign' or 'Verify' (https://learn.microsoft.com/graph/api/resources/keycredential). */
  usage?: string | null;
}

export interface GraphApplication {
  id: string;
  appId: string;
  displayName?: string | null;
  passwordCredentials?: GraphPasswordCredential[] | null;
  keyCredentials?: GraphKeyCredential[] | null;
  tags?: string[] | null;
}

export interface GraphServicePrincipal {
  id: string;
  appId: string;
  displayName?: string | null;
  passwordCredentials?: GraphPasswordCredential[] | null;
  keyCredentials?: GraphKeyCredential[] | null;
  /** 'saml' for an enterprise application signed in to with SAML (https://learn.microsoft.com/graph/api/resources/serviceprincipal). */
  preferredSingleSignOnMode?: string | null;
  /** The thumbprint of the certificate that signs its SAML tokens. */
  preferredTokenSigningKeyThumbprint?: string | null;
}

/** A page of a delta round: changed objects, removed ones marked @removed, then a nextLink or the deltaLink. */
interface DeltaPage<T> {
  value?: Array<T & { '@removed'?: { reason?: string } }>;
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

/**
 * Graph's answers that a delta link can no longer be followed: 410 Gone ("Synchronization reset"), or a 4xx with
 * syncStateNotFound and its kin once a token has expired ("Token duration";
 * https://learn.microsoft.com/graph/delta-query-overview).
 */
const SYNC_RESET_CODES = new Set(['syncstatenotfound', 'syncstateinvalid', 'resyncrequired']);

function isSyncReset(err: unknown): boolean {
  const failure = err instanceof GraphRequestFailed ? err.failure : readGraphFailure(err);
  return failure.status === 410 || SYNC_RESET_CODES.has(String(failure.code ?? '').toLowerCase());
}

/** What a delta round reads of each collection, and how its objects become credentials. */
interface DeltaCollection<T extends { id: string }> {
  collection: keyof DeltaLinks;
  path: '/applications' | '/servicePrincipals';
  select: readonly string[];
  source: CredentialHolder['source'];
  credentialsOf(object: T): CredentialInfo[];
}

interface DirectoryObject {
  id?: string;
  '@odata.type'?: string;
}

/** One answer in a JSON batch's responses. */
interface BatchResponse {
  id: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Owners still to read in a batch: an application's first page, or the page its last one linked to. */
interface OwnersPage {
  applicationObjectId: string;
  /** Relative to the version, as a batch wants it: /applications/{id}/owners?$select=id (or /servicePrincipals/...). */
  url: string;
}

/** A round of a batch left some requests to retry: how long to wait (their Retry-After, or a backoff). */
class RequestsLeft extends Error {
  constructor(
    readonly decision: RetryDecision,
    readonly failures: ReadonlyMap<OwnersPage, unknown>,
  ) {
    super(`${failures.size} requests of a batch to retry`);
  }
}

/** Users among directory objects, their ids lower-case. */
function usersAmong(objects: readonly DirectoryObject[]): string[] {
  return objects.filter((o) => o.id && o['@odata.type'] === USER_TYPE).map((o) => o.id!.toLowerCase());
}

/** A nextLink (absolute, https://graph.microsoft.com/v1.0/...) as a batch request's url: relative to the version. */
function batchUrl(nextLink: string): string {
  const url = new URL(nextLink);
  return `${url.pathname.replace(/^\/(v1\.0|beta)(?=\/)/i, '')}${url.search}`;
}

/** A request's failure inside a batch, shaped as the Graph client throws one, for the one classifier (graph-errors.ts). */
function batchFailure(response: BatchResponse): Error & { statusCode: number; body: unknown; headers: unknown } {
  const body = response.body as { error?: { code?: string; message?: string } } | undefined;
  return Object.assign(new Error(body?.error?.message ?? `status ${response.status}`), {
    statusCode: response.status,
    code: body?.error?.code,
    body: body?.error ?? body,
    headers: response.headers ?? {},
  });
}

/**
 * Every attempt of a call through the budget: it waits for room in the window, and a 429's Retry-After holds the
 * budget's other takers too (the retry policy waits it for this call).
 */
function through(budget: RateLimiter): NonNullable<CallOptions['gate']> {
  return async (send) => {
    await budget.take();
    try {
      return await send();
    } catch (err) {
      const failure = readGraphFailure(err);
      if (failure.status === 429 && failure.retryAfterMs !== undefined) budget.holdFor(failure.retryAfterMs);
      throw err;
    }
  };
}

/** A resource API's service principal, as far as naming the app roles granted on it needs. */
interface ResourceRoles {
  appId: string;
  displayName?: string | null;
  appRoles?: Array<{ id: string; value?: string | null }>;
}

/**
 * A certificate's SHA-1 thumbprint, upper-case hex, from keyCredential.customKeyIdentifier: Graph types it Binary
 * (base64 of the 20 bytes; https://learn.microsoft.com/graph/api/resources/keycredential) but shows certificates
 * uploaded with their thumbprint as the 40 hex digits (https://learn.microsoft.com/graph/applications-how-to-add-certificate),
 * and some tools store the hex digits' text as the binary. Anything else is no thumbprint.
 */
export function thumbprintOf(customKeyIdentifier: string | null | undefined): string | undefined {
  const value = customKeyIdentifier?.trim() ?? '';
  if (HEX_SHA1.test(value)) return value.toUpperCase();
  if (!BASE64.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length === 20) return bytes.toString('hex').toUpperCase();
  const text = bytes.toString('latin1');
  return HEX_SHA1.test(text) ? text.toUpperCase() : undefined;
}

/** What a credential's holder gives each of its credentials. */
type HolderFields = Pick<CredentialInfo, 'applicationObjectId' | 'appId' | 'appName' | 'managed' | 'source' | 'tags'>;

/** A client secret as the scan reads it (one object literal of the one shape, as every credential). */
function secretInfo(
  holder: HolderFields,
  p: GraphPasswordCredential,
  keyId: string,
  endDateTime: string,
): CredentialInfo {
  return {
    applicationObjectId: holder.applicationObjectId,
    appId: holder.appId,
    appName: holder.appName,
    kind: 'secret',
    keyId,
    displayName: p.displayName ?? undefined,
    hint: p.hint ?? undefined,
    thumbprint: undefined,
    endDateTime,
    managed: holder.managed,
    tags: holder.tags,
    source: holder.source,
    samlSigning: false,
  };
}

/** A certificate as the scan reads it. */
function certificateInfo(
  holder: HolderFields,
  k: GraphKeyCredential,
  keyId: string,
  endDateTime: string,
  thumbprint: string | undefined,
  samlSigning: boolean,
): CredentialInfo {
  return {
    applicationObjectId: holder.applicationObjectId,
    appId: holder.appId,
    appName: holder.appName,
    kind: 'certificate',
    keyId,
    displayName: k.displayName ?? undefined,
    hint: undefined,
    thumbprint,
    endDateTime,
    managed: holder.managed,
    tags: holder.tags,
    source: holder.source,
    samlSigning,
  };
}

/**
 * The credentials of applications as the scan reads them; one without a keyId or an end date
 * cannot expire. Every credential is one object literal of the same shape: a scan makes hundreds of thousands.
 */
export function credentialsOf(apps: readonly GraphApplication[]): CredentialInfo[] {
  const out: CredentialInfo[] = [];
  for (const app of apps) {
    const holder: HolderFields = {
      applicationObjectId: app.id,
      appId: app.appId,
      appName: app.displayName ?? app.appId,
      managed: (app.tags ?? []).includes(REGISTRAR_TAG),
      source: 'application',
      // Shared by the app's credentials: for reminder rules of the form tag:<tag>.
      tags: app.tags ?? undefined,
    };
    for (const p of app.passwordCredentials ?? []) {
      if (p.keyId && p.endDateTime) out.push(secretInfo(holder, p, p.keyId, p.endDateTime));
    }
    for (const k of app.keyCredentials ?? []) {
      if (!k.keyId || !k.endDateTime) continue;
      out.push(certificateInfo(holder, k, k.keyId, k.endDateTime, thumbprintOf(k.customKeyIdentifier), false));
    }
  }
  return out;
}

/**
 * The credentials service principals carry of their own. A SAML token-signing certificate is one keyCredential with
 * usage Sign, on a service principal whose preferredSingleSignOnMode is saml or whose
 * preferredTokenSigningKeyThumbprint it is; Entra stores beside it the certificate's public half (usage Verify) and
 * the password of its private key (a passwordCredential), all with the same customKeyIdentifier
 * (https://learn.microsoft.com/graph/api/serviceprincipal-addtokensigningcertificate). The certificate is announced
 * once, as the signing key; its two companions are not credentials anyone renews on their own.
 */
export function servicePrincipalCredentialsOf(sps: readonly GraphServicePrincipal[]): CredentialInfo[] {
  const out: CredentialInfo[] = [];
  for (const sp of sps) {
    const appName = sp.displayName ?? sp.appId;
    const saml = sp.preferredSingleSignOnMode?.toLowerCase() === 'saml';
    const preferred = thumbprintOf(sp.preferredTokenSigningKeyThumbprint);
    const keys = sp.keyCredentials ?? [];
    // The key that signs: usage Sign (the Verify key of the same certificate carries the same thumbprint).
    const isSigning = (k: GraphKeyCredential) => {
      const preferredOne = preferred !== undefined && thumbprintOf(k.customKeyIdentifier) === preferred;
      return k.usage === 'Sign' ? saml || preferredOne : k.usage !== 'Verify' && preferredOne;
    };
    const signing = keys.filter(isSigning);
    const signingIds = new Set(signing.map((k) => k.customKeyIdentifier).filter((c): c is string => !!c));
    const signingThumbprints = new Set(signing.map((k) => thumbprintOf(k.customKeyIdentifier)).filter(Boolean));
    const companion = (customKeyIdentifier: string | null | undefined) =>
      !!customKeyIdentifier && signingIds.has(customKeyIdentifier);
    const holder: HolderFields = {
      applicationObjectId: sp.id,
      appId: sp.appId,
      appName,
      managed: false,
      source: 'servicePrincipal',
      tags: undefined,
    };
    for (const p of sp.passwordCredentials ?? []) {
      if (!p.keyId || !p.endDateTime || companion(p.customKeyIdentifier)) continue;
      out.push(secretInfo(holder, p, p.keyId, p.endDateTime));
    }
    for (const k of keys) {
      if (!k.keyId || !k.endDateTime) continue;
      const samlSigning = signing.includes(k);
      const thumbprint = thumbprintOf(k.customKeyIdentifier);
      if (!samlSigning && k.usage === 'Verify' && thumbprint && signingThumbprints.has(thumbprint)) continue;
      out.push(certificateInfo(holder, k, k.keyId, k.endDateTime, thumbprint, samlSigning));
    }
  }
  return out;
}

/** The owners of a holder of credentials, as a batch request's url. */
function ownersUrl(holder: CredentialHolder): string {
  const collection = holder.source === 'servicePrincipal' ? 'servicePrincipals' : 'applications';
  return `/${collection}/${encodeURIComponent(holder.applicationObjectId)}/owners?$select=id`;
}

const holderWords: Record<CredentialOwnerKind, string> = {
  application: 'application',
  servicePrincipal: 'service principal',
};

/** The wait a round of retries takes: the longest Retry-After asked, else a backoff. */
function longestWait(decisions: readonly RetryDecision[]): RetryDecision {
  let longest: number | undefined;
  for (const d of decisions) if (typeof d === 'object') longest = Math.max(longest ?? 0, d.retryAfterMs);
  return longest === undefined ? 'retry' : { retryAfterMs: longest };
}

/** Every property in `select` is on the object: a delta round may send a changed object with its changed ones only. */
function hasAll(object: object, select: readonly string[]): boolean {
  return select.every((property) => property in object);
}

export class GraphCredentialSource implements CredentialSource {
  private readonly graph: GraphCaller;
  private readonly listing: NonNullable<CallOptions['gate']>;

  constructor(private readonly options: GraphCredentialSourceOptions) {
    this.graph = options.graph;
    this.listing = through(options.listingBudget ?? createRateLimiter(LISTING_BUDGET));
  }

  async *pages(scope: 'all' | 'managed'): AsyncIterable<CredentialInfo[]> {
    const log = this.options.logger.child({ step: 'read-credentials', scope });
    const help: FailureHelp = {
      doing: `reading the credentials of ${scope === 'managed' ? "Registrar's applications" : 'every application'}`,
      requires: READ_ALL,
    };
    const filter = scope === 'managed' ? `tags/any(t:t eq ${literal(REGISTRAR_TAG)})` : undefined;
    // No $expand: it would cut the pages to 100 applications; the owners are read for what is announced (ownersOfEach).
    const first: GraphGet = { path: '/applications', select: SELECT, filter, top: PAGE_SIZE };
    yield* this.graph.pages<GraphApplication, CredentialInfo[]>(
      first,
      (number) => ({
        log,
        help: number === 1 ? help : { ...help, doing: `${help.doing} (page ${number})` },
        gate: this.listing,
      }),
      credentialsOf,
    );
    // Registrar's applications are app registrations; service principals are read for the whole tenant only.
    if (scope === 'managed') return;
    const spHelp: FailureHelp = { doing: 'reading the credentials of every service principal', requires: READ_ALL };
    yield* this.graph.pages<GraphServicePrincipal, CredentialInfo[]>(
      { path: '/servicePrincipals', select: SP_SELECT, top: PAGE_SIZE },
      (number) => ({
        log,
        help: number === 1 ? spHelp : { ...spHelp, doing: `${spHelp.doing} (page ${number})` },
        gate: this.listing,
      }),
      servicePrincipalCredentialsOf,
    );
  }

  /**
   * The delta links of applications (and, for the whole tenant, service principals) from now on, without reading
   * them: $deltatoken=latest (https://learn.microsoft.com/graph/delta-query-overview), with the $select the rounds
   * will read. Through the listing budget, as every request that selects keyCredentials.
   */
  async latestDeltaLinks(scope: 'all' | 'managed'): Promise<DeltaLinks> {
    const log = this.options.logger.child({ step: 'read-credential-changes', scope });
    const links: Partial<DeltaLinks> = {};
    for (const delta of this.deltaCollections(scope)) {
      const help: FailureHelp = { doing: `starting to follow changes of ${delta.collection}`, requires: READ_ALL };
      const page = await this.graph.get<DeltaPage<unknown>>(
        { path: `${delta.path}/delta?$deltatoken=latest`, select: delta.select },
        { log, help, gate: this.listing },
      );
      const link = page['@odata.deltaLink'];
      if (!link) throw this.graph.fail(new Error('no @odata.deltaLink in the answer'), { log, help });
      links[delta.collection] = link;
    }
    return links as DeltaLinks;
  }

  /**
   * What changed since `links`, page by page (https://learn.microsoft.com/graph/api/application-delta,
   * https://learn.microsoft.com/graph/api/serviceprincipal-delta). A changed object is sent with at least its changed
   * properties: one without every selected property is read whole before its credentials are taken from it. One
   * removed (soft-deleted or gone for good), or one that left the scope, holds nothing now.
   */
  async *changesSince(links: DeltaLinks, scope: 'all' | 'managed'): AsyncIterable<CredentialChangePage> {
    const log = this.options.logger.child({ step: 'read-credential-changes', scope });
    for (const delta of this.deltaCollections(scope)) {
      const start = links[delta.collection];
      if (!start) throw new SyncReset(delta.collection);
      yield* this.follow(delta as DeltaCollection<{ id: string }>, start, log);
    }
  }

  private deltaCollections(
    scope: 'all' | 'managed',
  ): Array<DeltaCollection<GraphApplication> | DeltaCollection<GraphServicePrincipal>> {
    const applications: DeltaCollection<GraphApplication> = {
      collection: 'applications',
      path: '/applications',
      select: SELECT,
      source: 'application',
      credentialsOf: (app) =>
        scope === 'managed' && !(app.tags ?? []).includes(REGISTRAR_TAG) ? [] : credentialsOf([app]),
    };
    if (scope === 'managed') return [applications];
    const servicePrincipals: DeltaCollection<GraphServicePrincipal> = {
      collection: 'servicePrincipals',
      path: '/servicePrincipals',
      select: SP_SELECT,
      source: 'servicePrincipal',
      credentialsOf: (sp) => servicePrincipalCredentialsOf([sp]),
    };
    return [applications, servicePrincipals];
  }

  private async *follow<T extends { id: string }>(
    delta: DeltaCollection<T>,
    start: string,
    log: Logger,
  ): AsyncIterable<CredentialChangePage> {
    const help: FailureHelp = { doing: `reading what changed in ${delta.collection}`, requires: READ_ALL };
    let link: string | undefined = start;
    for (let number = 1; link; number += 1) {
      let page: DeltaPage<T>;
      try {
        page = await this.graph.get<DeltaPage<T>>(link, {
          log,
          help: number === 1 ? help : { ...help, doing: `${help.doing} (page ${number})` },
          gate: this.listing,
        });
      } catch (err) {
        if (isSyncReset(err)) throw new SyncReset(delta.collection, { cause: err });
        throw err;
      }
      const changes: CredentialChange[] = [];
      for (const object of page.value ?? []) {
        if (!object.id) continue;
        const holder: CredentialHolder = { applicationObjectId: object.id, source: delta.source };
        if (object['@removed']) {
          changes.push({ holder, credentials: [] });
          continue;
        }
        const whole = hasAll(object, delta.select) ? object : await this.readWhole(delta, object.id, log);
        changes.push({ holder, credentials: whole ? delta.credentialsOf(whole) : [] });
      }
      const deltaLink = page['@odata.deltaLink'];
      link = page['@odata.nextLink'];
      yield { collection: delta.collection, changes, ...(deltaLink && !link ? { deltaLink } : {}) };
      if (!link && !deltaLink)
        throw this.graph.fail(new Error('a delta page with neither @odata.nextLink nor @odata.deltaLink'), {
          log,
          help,
        });
    }
  }

  /** An object a delta round sent in part, read with every property the scan needs; undefined when it is gone. */
  private async readWhole<T>(
    delta: DeltaCollection<T & { id: string }>,
    id: string,
    log: Logger,
  ): Promise<T | undefined> {
    const help: FailureHelp = {
      doing: `reading the credentials of ${holderWords[delta.source]} ${id}`,
      requires: READ_ALL,
    };
    try {
      return await this.graph.get<T>(
        { path: `${delta.path}/${encodeURIComponent(id)}`, select: delta.select },
        { log, help },
      );
    } catch (err) {
      if (err instanceof RegistrarError && err.code === 'not-found') return undefined;
      throw err;
    }
  }

  async ownersOfEach(holders: readonly CredentialHolder[]): Promise<Map<string, string[] | RegistrarError>> {
    const log = this.options.logger.child({ step: 'read-owners' });
    const byId = new Map<string, CredentialHolder>();
    for (const holder of holders)
      if (!byId.has(holder.applicationObjectId)) byId.set(holder.applicationObjectId, holder);
    const ids = [...byId.values()];
    const answers = new Map<string, string[] | RegistrarError>();
    const limiter = createLimiter(this.options.ownersConcurrency ?? DEFAULT_OWNERS_CONCURRENCY);
    const groups: CredentialHolder[][] = [];
    for (let i = 0; i < ids.length; i += BATCH_REQUESTS) groups.push(ids.slice(i, i + BATCH_REQUESTS));
    const settled = await Promise.allSettled(
      groups.map((group) => limiter.run(() => this.ownersOfGroup(group, log, answers))),
    );
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return answers;
  }

  /**
   * The owners of up to 20 applications or service principals, in batches of their pages: the first pages together, then the next pages
   * of those with more, until none links further. Graph answers each request of a batch on its own
   * (https://learn.microsoft.com/graph/json-batching#response-format): a throttled or unavailable one is sent again
   * after its Retry-After (or a backoff), in a batch of what is left; one refused for good is that application's
   * RegistrarError. A batch that fails as a whole has already been retried by the caller, and is thrown.
   */
  private async ownersOfGroup(
    group: readonly CredentialHolder[],
    log: Logger,
    answers: Map<string, string[] | RegistrarError>,
  ): Promise<void> {
    const deadline = this.graph.deadline();
    const kindOf = new Map(group.map((h) => [h.applicationObjectId, h.source]));
    const helpFor = (id: string): FailureHelp => ({
      doing: `reading the owners of ${holderWords[kindOf.get(id) ?? 'application']} ${id}`,
      requires: READ_ALL,
    });
    const allApps = group.every((h) => h.source === 'application');
    const batchHelp: FailureHelp = {
      doing: `reading the owners of ${group.length} ${allApps ? 'applications' : 'applications and service principals'}`,
      requires: READ_ALL,
    };
    const classify = graphRetryClassifier({ isRecent: () => false });
    const owners = new Map(group.map((h) => [h.applicationObjectId, [] as string[]]));
    let pages: OwnersPage[] = group.map((h) => ({ applicationObjectId: h.applicationObjectId, url: ownersUrl(h) }));
    while (pages.length > 0) {
      const next: OwnersPage[] = [];
      let left = pages;
      try {
        await this.graph.retry(
          async () => {
            const answer = await this.graph.attempt<{ responses?: BatchResponse[] }>(
              {
                method: 'POST',
                path: '/$batch',
                body: { requests: left.map((page, i) => ({ id: String(i + 1), method: 'GET', url: page.url })) },
              },
              { log, help: batchHelp, deadline },
            );
            const byId = new Map((answer.responses ?? []).map((r) => [String(r.id), r]));
            const failures = new Map<OwnersPage, unknown>();
            const decisions: RetryDecision[] = [];
            left.forEach((page, i) => {
              const response = byId.get(String(i + 1));
              const status = response?.status ?? 0;
              if (response && status >= 200 && status < 300) {
                const body = (response.body ?? {}) as { value?: DirectoryObject[]; '@odata.nextLink'?: string };
                owners.get(page.applicationObjectId)?.push(...usersAmong(body.value ?? []));
                const link = body['@odata.nextLink'];
                if (link) next.push({ applicationObjectId: page.applicationObjectId, url: batchUrl(link) });
                return;
              }
              // A request the batch did not answer is sent again, as an outage would be.
              const failure = response
                ? batchFailure(response)
                : batchFailure({ id: '', status: 503, body: { error: { code: 'NoResponse' } } });
              const decision = classify(failure);
              if (decision === 'fail') {
                answers.set(
                  page.applicationObjectId,
                  this.graph.fail(failure, { log, help: helpFor(page.applicationObjectId) }),
                );
                owners.delete(page.applicationObjectId);
                return;
              }
              failures.set(page, failure);
              decisions.push(decision);
            });
            left = left.filter((page) => failures.has(page));
            if (failures.size > 0) throw new RequestsLeft(longestWait(decisions), failures);
          },
          {
            classify: (err) => (err instanceof RequestsLeft ? err.decision : 'fail'),
            deadline,
            onRetry: ({ attempt, delayMs, reason, error }) =>
              log.info(
                { attempt, delayMs, reason, requests: (error as RequestsLeft).failures?.size },
                'graph batch requests retried',
              ),
          },
        );
      } catch (err) {
        if (!(err instanceof RequestsLeft)) throw this.graph.fail(err, { log, help: batchHelp });
        // Past the deadline: what is left is each application's error (unavailable, for 429 and 5xx).
        for (const [page, failure] of err.failures) {
          answers.set(
            page.applicationObjectId,
            this.graph.fail(failure, { log, help: helpFor(page.applicationObjectId) }),
          );
          owners.delete(page.applicationObjectId);
        }
      }
      // An application that failed on a later page keeps its error, not the owners of its first pages.
      pages = next.filter((page) => owners.has(page.applicationObjectId));
    }
    for (const [id, ids] of owners) answers.set(id, ids);
  }

  async ownersOf(applicationObjectId: string): Promise<string[]> {
    const log = this.options.logger.child({ step: 'read-owners' });
    const help: FailureHelp = { doing: `reading the owners of application ${applicationObjectId}`, requires: READ_ALL };
    const owners = await this.graph.list<DirectoryObject>(
      { path: `/applications/${encodeURIComponent(applicationObjectId)}/owners`, select: ['id'] },
      { log, help },
    );
    return usersAmong(owners);
  }

  async findApplication(appIdOrName: string): Promise<ApplicationSummary | undefined> {
    const log = this.options.logger.child({ step: 'find-application' });
    const wanted = appIdOrName.trim();
    const byAppId = isGuid(wanted);
    const filter = byAppId ? `appId eq ${literal(wanted)}` : `displayName eq ${literal(wanted)}`;
    const help: FailureHelp = {
      doing: `looking up application ${byAppId ? wanted : `"${wanted}"`}`,
      requires: READ_ALL,
    };
    const found = await this.graph.list<GraphApplication>(
      { path: '/applications', select: SELECT, filter, top: PAGE_SIZE },
      { log, help },
    );
    if (found.length > 1) {
      const appIds = found.slice(0, 5).map((a) => a.appId);
      throw new RegistrarError(
        'invalid-input',
        `${found.length} apps are called "${wanted}"; use the appId of the one you mean (${appIds.join(', ')}${found.length > appIds.length ? ', …' : ''}).`,
      );
    }
    const app = found[0];
    return (
      app && {
        applicationObjectId: app.id,
        appId: app.appId,
        displayName: app.displayName ?? app.appId,
        credentials: credentialsOf([app]),
      }
    );
  }

  /**
   * What the app's service principal holds. Application permissions are its appRoleAssignments, named from each
   * resource's appRoles (https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments); directory
   * roles are the role assignments whose principal it is
   * (https://learn.microsoft.com/graph/api/rbacapplication-list-roleassignments, $filter on principalId). An
   * assignment whose role the resource no longer names is kept with its id as the name, so that it counts as unknown.
   */
  async privilegesOf(appId: string): Promise<AppPrivileges> {
    const log = this.options.logger.child({ step: 'read-privileges' });
    const call = {
      log,
      help: {
        doing: `reading what the service principal of app ${appId} holds`,
        requires: 'Application.Read.All and Directory.Read.All',
      },
    };
    const sps = await this.graph.get<{ value?: Array<{ id: string }> }>(
      { path: '/servicePrincipals', select: ['id'], filter: `appId eq ${literal(appId)}` },
      call,
    );
    const sp = sps.value?.[0];
    if (!sp) return { applicationPermissions: [], directoryRoles: [] };
    const assignments = await this.graph.list<{
      resourceId?: string;
      appRoleId?: string;
      resourceDisplayName?: string | null;
    }>(
      {
        path: `/servicePrincipals/${encodeURIComponent(sp.id)}/appRoleAssignments`,
        select: ['resourceId', 'appRoleId', 'resourceDisplayName'],
      },
      call,
    );
    const resources = new Map<string, ResourceRoles>();
    const applicationPermissions: AppPrivileges['applicationPermissions'] = [];
    for (const assignment of assignments) {
      if (!assignment.resourceId || !assignment.appRoleId) continue;
      // The default app role (all zeros) grants nothing by name: it is how a user or app is assigned without a role.
      if (/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(assignment.appRoleId)) continue;
      let resource = resources.get(assignment.resourceId);
      if (!resource) {
        // One entity, not a page: the filter on its id reads it as the one item of a collection.
        const found = await this.graph.get<{ value?: ResourceRoles[] }>(
          {
            path: '/servicePrincipals',
            select: ['id', 'appId', 'displayName', 'appRoles'],
            filter: `id eq ${literal(assignment.resourceId)}`,
          },
          call,
        );
        resource = found.value?.[0] ?? {
          appId: assignment.resourceId,
          displayName: assignment.resourceDisplayName ?? null,
          appRoles: [],
        };
        resources.set(assignment.resourceId, resource);
      }
      const role = resource.appRoles?.find((r) => r.id.toLowerCase() === assignment.appRoleId!.toLowerCase());
      applicationPermissions.push({
        resourceAppId: resource.appId,
        resourceDisplayName: resource.displayName ?? assignment.resourceDisplayName ?? resource.appId,
        id: assignment.appRoleId,
        value: role?.value || assignment.appRoleId,
        type: 'Role',
        adminConsentRequired: true,
        description: '',
      });
    }
    const roles = await this.graph.list<{ roleDefinitionId?: string }>(
      {
        path: '/roleManagement/directory/roleAssignments',
        select: ['roleDefinitionId'],
        filter: `principalId eq ${literal(sp.id)}`,
      },
      call,
    );
    const directoryRoles = roles
      .filter((r) => r.roleDefinitionId)
      .map((r) => ({ roleDefinitionId: r.roleDefinitionId!.toLowerCase() }));
    return { servicePrincipalId: sp.id, applicationPermissions, directoryRoles };
  }
}
