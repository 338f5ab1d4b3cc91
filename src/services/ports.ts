/**
 * Every outside dependency of the services, as a port. Adapters implement them; only container.ts builds them.
 */
import type {
  AppSpec,
  CatalogPermission,
  CertificateSpec,
  FederatedCredentialSpec,
  PermissionRef,
} from '../domain/app-spec';
import type { ChannelBinding, ChannelPurpose, ConversationAddress } from '../domain/conversation';
import type { RegistrarError } from '../domain/errors';
import type { CredentialRules } from '../domain/credential-rules';
import type { CredentialInfo } from '../domain/expiry';
import type { AdaptiveCard } from '../cards/adaptive-card';
import type { AuditEvent, CardRef, OwnerDetail, RequestRecord } from '../domain/request';

/** A stored value with the ETag that guards its next update. */
export interface Stored<T> {
  value: T;
  etag: string;
}

/**
 * One write of an entity-group transaction. upsert: last writer wins, for rows that only the guarded write beside
 * them changes (index rows). delete: whatever the row's ETag; a row that is not there is skipped, as
 * Collection.delete does.
 */
export type RowWrite<T> =
  | { op: 'create'; row: string; value: T }
  | { op: 'replace'; row: string; value: T; etag: string }
  | { op: 'upsert'; row: string; value: T }
  | { op: 'delete'; row: string };

/**
 * A keyed collection of JSON documents with optimistic concurrency. Keys are two-part (partition, row) so
 * that related records (a request and its audit events) can be listed together.
 *
 * create: fails with ConflictError('exists') when the key is taken.
 * replace: fails with ConflictError('changed') when the ETag no longer matches, ('missing') when it is gone.
 * upsert: last writer wins; for records nobody edits concurrently (conversation references).
 */
export interface Collection<T> {
  get(partition: string, row: string): Promise<Stored<T> | undefined>;
  create(partition: string, row: string, value: T): Promise<Stored<T>>;
  replace(partition: string, row: string, value: T, etag: string): Promise<Stored<T>>;
  upsert(partition: string, row: string, value: T): Promise<Stored<T>>;
  /** Deletes; with an ETag only if unchanged. Deleting what is not there is not an error. */
  delete(partition: string, row: string, etag?: string): Promise<void>;
  list(partition: string): AsyncIterable<Stored<T> & { row: string }>;
  /**
   * Up to 100 writes in one partition, all or none (an entity-group transaction). A conflict fails the whole
   * batch: ConflictError('exists') for a create whose row is there, ('changed') for an ETag that changed,
   * ('missing') for a replace whose row is gone. Returns each row's new ETag (undefined for a delete), in the
   * order of the operations.
   */
  transact(partition: string, operations: ReadonlyArray<RowWrite<T>>): Promise<Array<string | undefined>>;
}

/** A Collection that can also be read by key range: an index whose keys sort the way it is read. */
export interface RangeCollection<T> extends Collection<T> {
  /**
   * The rows of `partition` from `fromRow` (included) to `toRow` (excluded), in row order, at most `limit`; the
   * range is the server's filter, read a page at a time. Rows sort by character code when their keys are made of
   * A-Z a-z 0-9 - _ . : @ only (other characters are escaped in storage and sort after these).
   */
  listRange(
    partition: string,
    fromRow: string,
    toRow: string,
    options?: { limit?: number },
  ): AsyncIterable<Stored<T> & { row: string }>;
}

/** The partition of the Requests table that holds every request record and its index rows. */
export const REQUEST_PARTITION = 'request';

/** In the Requests table, rows whose key starts with this are index rows; every other row is a request record. */
export const REQUEST_INDEX_PREFIX = 'ix.';

/** An index row of the Requests table (request-records.ts says which rows a request has, and why). */
export type RequestIndexRow =
  /** A pointer to the request whose save wrote it: readers load the request and check it. */
  | { requestId: string }
  /** The marker that the records saved before the index have their rows (ensureRequestIndex writes it once). */
  | { backfilledAt: string; records: number };

/** A request as the Requests table keeps it: with the keys of the index rows saved with it (absent on records older than the index). */
export type IndexedRequestRecord = RequestRecord & { indexRows?: string[] };

/** A write of a request-table transaction: to a record, or to an index row, in one partition. */
export type RequestTableWrite =
  ({ on: 'record' } & RowWrite<IndexedRequestRecord>) | ({ on: 'index' } & RowWrite<RequestIndexRow>);

/**
 * The Requests table: the records (row = request id) and, in the same partition, their index rows (row =
 * REQUEST_INDEX_PREFIX...), so that a record and its index rows are saved in one entity-group transaction: the
 * intra-partition secondary index pattern,
 * https://learn.microsoft.com/azure/storage/tables/table-storage-design-patterns#intra-partition-secondary-index-pattern
 * Each view sees only its own rows: list() of the records never yields an index row, and the reverse.
 */
export interface RequestTable extends RangeCollection<IndexedRequestRecord> {
  readonly index: RangeCollection<RequestIndexRow>;
  /** Up to 100 writes to records and index rows of one partition, all or none, with the conflicts of Collection.transact. */
  transactWithIndex(partition: string, writes: ReadonlyArray<RequestTableWrite>): Promise<Array<string | undefined>>;
}

/**
 * One announced (credential, threshold): partition 'ledger', row = ledgerRow(applicationObjectId, keyId, threshold).
 * Rows of the earlier format (row = keyId:threshold) still count, for the application they record (isAnnounced).
 */
export interface LedgerEntry {
  keyId: string;
  threshold: number;
  applicationObjectId: string;
  /** The routed channel's conversation id (expiry-ledger.ts channelLedgerRow); absent for the default channel. */
  channel?: string;
  /** 'claimed' before the digest is posted, 'posted' after: a claim left by a crash is posted by the next scan. */
  state: 'claimed' | 'posted';
  scanId: string;
  at: string;
}

/** A credential in the credentials table, at row e.<expiry>.<holder>.<keyId>, written by the scan of `generation`. */
export interface CredentialExpiryRow {
  type: 'expiry';
  credential: CredentialInfo;
  generation: string;
}

/**
 * A holder of credentials (an application or service principal), at row o.<object id> of its partition: its
 * credential rows now, and the last full scan that saw it (credential-index.ts).
 */
export interface CredentialHolderRow {
  type: 'holder';
  source: CredentialInfo['source'];
  rows: string[];
  /** A hash of what its credential rows hold, so that a full scan compares a holder without reading them. */
  fingerprint?: string;
  /** Rows it no longer lists whose deletes were in a later transaction than it: deleted again by the next full scan. */
  retired?: string[];
  generation: string;
}

/** Where the expiry scan's reading of the tenant stands (partition 'sync', row 'expiry-scan'). */
export interface CredentialSyncRow {
  type: 'sync';
  scope: 'all' | 'managed';
  /** The last full scan that finished: holders it did not see were swept. */
  generation: string;
  fullScanAt: string;
  /**
   * The table holds the credentials ending before this (ISO 8601): no scan of changes may look further; absent
   * in a table of an earlier version, which the next full scan rebuilds.
   */
  indexedUntil?: string;
  /** Where the changes since the last scan that finished are read from. */
  deltaLinks: DeltaLinks;
}

export type CredentialIndexRow = CredentialExpiryRow | CredentialHolderRow | CredentialSyncRow;

/** A lease on a job (partition 'lease', row = job name): at most one holder at a time, ETag-guarded. */
export interface Lease {
  holder: string;
  expiresAt: string;
}

/** A marker that a conversation was greeted, so that the welcome is sent once. */
export interface Greeting {
  conversationId: string;
  greetedAt: string;
}

export interface Store {
  /** Channels named for a purpose: partition 'channel', row = purpose. */
  readonly channels: Collection<ChannelBinding>;
  /** Personal conversations with users, for proactive messages: partition 'user', row = aadObjectId. */
  readonly conversations: Collection<ConversationAddress>;
  /** Conversations the bot has greeted: partition 'greeting', row = conversation id (encoded). */
  readonly greetings: Collection<Greeting>;
  /**
   * App registration requests with their audit outbox: partition 'request', row = request id; every change
   * ETag-guarded. Their index rows live beside them (requests.index).
   */
  readonly requests: RequestTable;
  /** The audit trail of each request: partition = request id, row = auditRow(sequence) so rows list in order. */
  readonly audit: Collection<AuditEvent>;
  /** The expiry-reminder ledger: one row per (credential, threshold) announced. */
  readonly ledger: Collection<LedgerEntry>;
  /** Leases of singleton jobs (the expiry scan). */
  readonly leases: Collection<Lease>;
  /**
   * The expiry scan's copy of the tenant's credentials (credential-index.ts): partition 'credential' holds a row per
   * credential keyed by its expiry and a row per holder listing them; partition 'sync' the scan's delta links.
   */
  readonly credentials: RangeCollection<CredentialIndexRow>;
  /** Creates what the store needs (tables). Safe to call on every start. */
  init(): Promise<void>;
  /** Throws when the storage cannot be reached; for /readyz. */
  ping(): Promise<void>;
}

export type { ChannelPurpose };

/** Audit rows sort as strings in the order they happened. */
export function auditRow(sequence: number): string {
  return String(sequence).padStart(6, '0');
}

/** A member of a team, as Teams names them. */
export interface TeamMember {
  /** Teams user id (29:...), what Universal Actions' refresh.userIds name. */
  id: string;
  aadObjectId?: string;
}

/**
 * Messages outside a turn (proactive): cards posted to and updated in Teams conversations, and who is in a team.
 * Implemented over the Bot Framework in src/bot/teams-notifier.ts (botbuilder stays in src/bot/).
 */
export interface Notifier {
  /** Posts a card: a new thread in a channel, a message in a chat. */
  post(address: ConversationAddress, card: AdaptiveCard): Promise<CardRef>;
  /** Replaces a posted card (in place, for everyone who sees it). */
  update(address: ConversationAddress, ref: CardRef, card: AdaptiveCard): Promise<void>;
  /** The first `limit` members of the team the address belongs to. */
  teamMembers(address: ConversationAddress, limit: number): Promise<TeamMember[]>;
}

/** The directory (Microsoft Entra ID), as far as the services need it. */
export interface Directory {
  /** Whether the user is a member, directly or transitively, of any of the groups. */
  isMemberOfAnyGroup(userObjectId: string, groupIds: readonly string[]): Promise<boolean>;
}

/** An Entra group as reminder rules name it. */
export interface DirectoryGroup {
  id: string;
  displayName: string;
}

/**
 * Entra groups, for reminder rules of the form group:<owners group> (domain/reminder-routes.ts): the name is turned
 * into an object id once, when the rule is set; membership is read at each scan.
 */
export interface GroupDirectory {
  /** The groups whose display name is exactly this one (Entra does not keep names unique), or whose object id it is. */
  findGroups(nameOrId: string): Promise<DirectoryGroup[]>;
  /** Which of these groups (object ids) the user is a member of, directly or through nested groups; lower case. */
  memberGroupsOf(userObjectId: string, groupIds: readonly string[]): Promise<string[]>;
}

/** People's display names from the directory, by Entra object id (those it does not know are left out). */
export interface PeopleDirectory {
  displayNames(userObjectIds: readonly string[]): Promise<Record<string, string>>;
  /** The users of the tenant with these object ids (anything that is not a user, or unknown, is left out). */
  users(userObjectIds: readonly string[]): Promise<OwnerDetail[]>;
  /** The users of the tenant with these user principal names (those it does not know are left out). */
  usersByPrincipalName(userPrincipalNames: readonly string[]): Promise<OwnerDetail[]>;
}

/** People of a target directory (not the Teams tenant), for the owners of an app made there. */
export interface TargetPeople {
  /** The users with these user principal names (those the directory does not know are left out). */
  usersByPrincipalName(userPrincipalNames: readonly string[]): Promise<OwnerDetail[]>;
  /** The users among the direct members of the group. */
  groupUserMembers(groupId: string): Promise<OwnerDetail[]>;
}

/**
 * A directory other than the Teams tenant where apps are made (TARGET_DIRECTORY_<KEY>), with Registrar's Graph
 * adapters signed in there as its own identity. People, groups and approvals stay in the Teams tenant.
 */
export interface TargetDirectory {
  key: string;
  name: string;
  tenantId: string;
  /** Whose user members own an app when the request names no owners there. */
  ownersGroupId?: string;
  /** With the background budget (provisioning). */
  provisioner: Provisioner;
  /** With an invoke's budget (the form's catalog, Reveal). */
  inTurn: Provisioner;
  /** With an invoke's budget (owners at submission). */
  people: TargetPeople;
  /** With the background budget (secrets an interrupted reveal left). */
  credentials: CredentialSource;
}

/**
 * A resource API's permissions, read from its service principal in the tenant (appRoles and
 * oauth2PermissionScopes, https://learn.microsoft.com/graph/api/serviceprincipal-get).
 */
export interface ResourceCatalog {
  resourceAppId: string;
  resourceDisplayName: string;
  permissions: readonly CatalogPermission[];
}

/** The application and service principal a request produced, as far as provisioning has got. */
export interface ProvisionedApp {
  applicationObjectId: string;
  appId: string;
  /** False when an earlier attempt had already created it (the upsert found it). */
  created: boolean;
}

export interface NewSecret {
  keyId: string;
  /** Only ever in the response to the requester's click; never stored or logged. */
  secretText: string;
  hint: string;
  endDateTime: string;
}

/**
 * What a provisioning step is told about its request. The Provisioner keeps nothing between calls, so this is how
 * it knows whose step it is (for the logs) and how new the objects it refers to are: Entra ID replicates a new
 * object for a while, during which a read of it may answer 404
 * (https://devblogs.microsoft.com/identity/designing-for-eventual-consistency-for-microsoft-entra/).
 */
export interface StepContext {
  requestId: string;
  /**
   * When the objects the step refers to (the request's application and service principal) were created, as its
   * checkpoints record; absent before the application exists. Within the replication window a 404 about them is
   * waited out, not taken for a deletion.
   */
  createdAt?: Date;
}

/**
 * Provisioning in Entra ID through Microsoft Graph. Every step looks before it creates and is safe to repeat
 * (a restart, a retried click or a lost response never creates a second object or a duplicate grant); 429 and
 * 503 wait for Retry-After and replication errors are retried within a deadline; anything else throws a
 * RegistrarError whose detail says what failed and what an administrator can do. Each step takes its StepContext.
 */
export interface Provisioner {
  /** The permissions a resource offers, by its appId (cached by the adapter). */
  catalog(resourceAppId: string): Promise<ResourceCatalog>;
  /** A resource's catalog, or undefined when its service principal is not in the tenant. */
  findResource(resourceAppId: string): Promise<ResourceCatalog | undefined>;
  /**
   * Step 0 of a request for a Microsoft first-party API the tenant lacks: its service principal, found by appId or
   * created (POST /servicePrincipals {appId}); returns its object id and the permissions it declares.
   */
  ensureResourceServicePrincipal(
    resourceAppId: string,
    context: StepContext,
  ): Promise<{ servicePrincipalId: string; catalog: ResourceCatalog }>;
  /** Step 1: PATCH /applications(uniqueName=...) with Prefer: create-if-missing, tags and notes tracing the request. */
  upsertApplication(spec: AppSpec, context: StepContext): Promise<ProvisionedApp>;
  /** Step 2: the owners of the application (existing owners are kept; adding one twice is not an error). */
  ensureApplicationOwners(
    applicationObjectId: string,
    ownerIds: readonly string[],
    context: StepContext,
  ): Promise<void>;
  /** Step 3: the service principal, upserted by appId through Entra's replication delay; returns its object id. */
  ensureServicePrincipal(appId: string, ownerIds: readonly string[], context: StepContext): Promise<string>;
  /**
   * Step 4a: admin consent for application permissions (appRoleAssignedTo on each resource's service principal).
   * `withoutGrant`: permissions declared on the app but scoped in Exchange (RBAC for Applications): never granted,
   * even when also passed in `permissions`.
   */
  grantApplicationPermissions(
    servicePrincipalId: string,
    permissions: readonly PermissionRef[],
    context: StepContext,
    withoutGrant?: readonly PermissionRef[],
  ): Promise<string[]>;
  /** Step 4b: admin consent for delegated permissions: an AllPrincipals grant per resource, merged into an existing one. */
  grantDelegatedPermissions(
    servicePrincipalId: string,
    permissions: readonly PermissionRef[],
    context: StepContext,
  ): Promise<string[]>;
  /** Step 5: a directory role for the service principal (an existing assignment counts as done). */
  assignDirectoryRole(servicePrincipalId: string, roleTemplateId: string, context: StepContext): Promise<string>;
  /** Step 6: a certificate credential (one with the same thumbprint counts as done). */
  addCertificate(applicationObjectId: string, certificate: CertificateSpec, context: StepContext): Promise<void>;
  /**
   * Step 6 (federated): POST /applications/{id}/federatedIdentityCredentials. One with the same name, issuer and
   * subject counts as done (returns its id); one with the same name but another issuer or subject, or a 21st, throws.
   */
  addFederatedCredential(
    applicationObjectId: string,
    credential: FederatedCredentialSpec,
    context: StepContext,
  ): Promise<string>;
  /** The application's federated identity credentials, as Graph returns them. */
  listFederatedCredentials(
    applicationObjectId: string,
    context?: StepContext,
  ): Promise<Array<FederatedCredentialSpec & { id: string }>>;
  /** At the requester's click: a new client secret. With a context, its logs name the request and a 404 on a new app is waited out. */
  addPassword(
    applicationObjectId: string,
    options: { displayName: string; endDateTime: Date },
    context?: StepContext,
  ): Promise<NewSecret>;
  /** Removes a client secret by keyId (one already gone counts as removed). */
  removePassword(applicationObjectId: string, keyId: string, context?: StepContext): Promise<void>;
  /** Asks the token endpoint for a token with the new secret until it works or the deadline passes. */
  verifySecret(appId: string, secretText: string, deadline: Date, context?: StepContext): Promise<'works' | 'pending'>;
}

/** What holds a credential: an application or a service principal, by object id (as CredentialInfo names it). */
export type CredentialHolder = Pick<CredentialInfo, 'applicationObjectId' | 'source'>;

/** An application as the rotation and the scan know it. */
export interface ApplicationSummary {
  applicationObjectId: string;
  appId: string;
  displayName: string;
  credentials: CredentialInfo[];
}

/**
 * The tenant's app credentials, read through Microsoft Graph for the expiry scan and for rotation. Reads only;
 * 429/503 wait for Retry-After within a deadline, like the provisioner.
 */
export interface CredentialSource {
  /**
   * Every credential of every application ('all') or of those Registrar created ('managed', tagged registrar),
   * one array per Graph page ($select of the fields needed, $top=999), so memory does not grow with the tenant.
   */
  pages(scope: 'all' | 'managed'): AsyncIterable<CredentialInfo[]>;
  /** Entra object ids of the users who own the application. */
  ownersOf(applicationObjectId: string): Promise<string[]>;
  /**
   * The users who own each of these applications or service principals (Entra object ids), read together, keyed by
   * their object ids: what the scan announces. One whose owners could not be read (gone, not permitted, Graph
   * unavailable past its deadline) maps to the RegistrarError that says why; every one asked about is in the answer.
   */
  ownersOfEach(holders: readonly CredentialHolder[]): Promise<Map<string, string[] | RegistrarError>>;
  /** The application with this appId (a GUID) or this exact display name; several with one name is an error saying so. */
  findApplication(appIdOrName: string): Promise<ApplicationSummary | undefined>;
  /** What the app's service principal holds: application permissions granted to it and directory roles assigned to it. */
  privilegesOf(appId: string): Promise<AppPrivileges>;
  /**
   * Where changes from now on will be read from (Graph's delta links, taken without reading the objects), one per
   * collection the scope reads. Taken before a full listing, so that what changes during it is read again after.
   * A source without it is scanned in full every time.
   */
  latestDeltaLinks?(scope: 'all' | 'managed'): Promise<DeltaLinks>;
  /**
   * What changed since `links` were handed out, a page at a time: each changed holder with all its credentials as
   * they are now (none when it was removed or left the scope). The last page of each collection carries the link
   * to read the next changes from. Links Graph no longer knows (expired, reset) throw SyncReset (domain/errors.ts).
   */
  changesSince?(links: DeltaLinks, scope: 'all' | 'managed'): AsyncIterable<CredentialChangePage>;
}

/** Graph delta links, by the collection they follow; a scope of 'managed' reads applications only. */
export interface DeltaLinks {
  applications: string;
  servicePrincipals?: string;
}

/** A holder whose credentials changed, with what it holds now (empty when it is gone or out of the scope). */
export interface CredentialChange {
  holder: CredentialHolder;
  credentials: CredentialInfo[];
}

export interface CredentialChangePage {
  collection: keyof DeltaLinks;
  changes: CredentialChange[];
  /** On the collection's last page: where the changes after these are read from. */
  deltaLink?: string;
}

/** The standing of an app's service principal, for deciding whether a rotation of its secret needs approval. */
export interface AppPrivileges {
  /** Undefined when the app has no service principal in this tenant (it can act nowhere here). */
  servicePrincipalId?: string;
  /** Application permissions (appRoleAssignments) granted to it, resolved to their names where the resource says. */
  applicationPermissions: PermissionRef[];
  /** Directory roles assigned to it (roleDefinitionIds), with their names when known. */
  directoryRoles: Array<{ roleDefinitionId: string; displayName?: string }>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * The tenant's app management policies, read afresh on every call (a policy changed in Entra binds the next form):
 * what a credential added now may be. A policy Registrar may not read (no Policy.Read.All) gives rules that say so
 * (CredentialRules.unreadable), never a guess; other failures are thrown.
 */
export interface CredentialPolicies {
  /** For an app created now: the tenant default. */
  forNewApp(): Promise<CredentialRules>;
  /** For an existing app: the policy assigned to it, or the tenant default. */
  forApp(applicationObjectId: string): Promise<CredentialRules>;
}

/**
 * When each credential of an app last signed in: Entra's application credential activity report (beta,
 * https://learn.microsoft.com/graph/api/reportroot-list-appcredentialsigninactivities?view=graph-rest-beta). Its data
 * comes late (https://learn.microsoft.com/entra/identity/monitoring-health/reference-log-latency): a sign-in of the
 * last hours may be missing, so "no sign-in" is evidence, never proof.
 */
export interface CredentialSignIns {
  /**
   * keyId (lowercase) → the last sign-in (ISO 8601) of each credential of the app that the report knows; a keyId
   * absent from the map has no sign-in on record. `unavailable` says in plain words why the report cannot be read
   * (no Entra ID P1/P2 licence, a national cloud without it, a missing permission, Graph not answering).
   */
  lastSignIns(appId: string): Promise<Map<string, string | undefined> | { unavailable: string }>;
}
