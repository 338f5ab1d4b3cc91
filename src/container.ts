/**
 * The composition root: the one place where real adapters are built and handed to the services, and where the
 * services, the Bot Framework adapter and the bot are wired together. runtime.ts only starts and stops them.
 */
import type { Config } from './config';
import type { Logger } from './lib/logger';
import { TableStore } from './adapters/storage/table-store';
import { createGraphConnection, type GraphConnection } from './adapters/graph/graph-client';
import { GraphCaller, type GraphTiming } from './adapters/graph/graph-caller';
import { GraphAppPolicies } from './adapters/graph/graph-app-policies';
import { GraphSignIns } from './adapters/graph/graph-sign-ins';
import { GraphDirectory } from './adapters/graph/graph-directory';
import { startAzurite, type LocalAzurite } from './local/azurite';
import { createChannelService, type ChannelService } from './services/channel-service';
import { createGreetingService, type GreetingService } from './services/greeting-service';
import { createOperatorPolicy, type OperatorPolicy } from './services/operator-policy';
import {
  type Clock,
  type CredentialSource,
  type Directory,
  type GroupDirectory,
  type PeopleDirectory,
  type Provisioner,
  type TargetDirectory,
  type Store,
  systemClock,
} from './services/ports';
import { createRotationService, type RotationService } from './services/rotation-service';
import { createFederationService, type FederationService } from './services/federation-service';
import { GraphCredentialSource, LISTING_BUDGET } from './adapters/graph/graph-credential-source';
import { createRateLimiter } from './lib/rate-limiter';
import { createApproverPolicy, type ApproverPolicy } from './services/request-approvers';
import { createRequestService, type RequestService } from './services/request-service';
import { ensureRequestIndex } from './services/request-records';
import { createProvisioningService, type ProvisioningService } from './services/provisioning-service';
import { createDeliveryService, type DeliveryService } from './services/delivery-service';
import { GraphProvisioner } from './adapters/graph/graph-provisioner';
import { unavailableCredentialSource, unavailableProvisioner } from './adapters/graph/unavailable-provisioner';
import type { AppRequest } from './domain/request';
import type { TokenEndpoints } from './cards/delivery-card';
import { createBot, type Bot } from './bot/app';
import type { BotFrameworkEndpoints } from './bot/auth';
import { createTeamsNotifier } from './bot/teams-notifier';
import { createAdapter, type RegistrarAdapter } from './server';
import { createCardService, type CardService } from './services/card-service';
import { createExpiryService, type ExpiryScanResult } from './services/expiry-service';
import { createReminderAnnouncer } from './services/reminder-announcer';
import { hostname } from 'node:os';
import type { RandomSource } from './domain/request-id';
import { randomBytes } from 'node:crypto';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';

export interface Container {
  store: Store;
  directory?: Directory;
  /** Owners' names for the expiry digest's mentions, when Registrar reaches Microsoft Graph. */
  people?: PeopleDirectory;
  clock: Clock;
  operators: OperatorPolicy;
  channels: ChannelService;
  greetings: GreetingService;
  approvers: ApproverPolicy;
  provisioner: Provisioner;
  requests: RequestService;
  provisioning: ProvisioningService;
  delivery: DeliveryService;
  /** The tenant's app credentials (expiry scan, rotation). */
  credentials: CredentialSource;
  rotation: RotationService;
  /** The tenant whose apps Registrar provisions, when known (AZURE_TENANT_ID). */
  tenantId?: string;
  /** The login and Graph hosts Registrar uses, named on the delivery card (a cloud's, or the local tenant's, with its CA file). */
  graphEndpoints?: TokenEndpoints;
  /** Keeps every card of a request current; told of every saved move by the services. */
  cards: CardService;
  /**
   * An expiry scan now, one at a time in this process: a second asker (schedule, `scan`, the job) joins the first;
   * `full` (`scan full`) lists the tenant: it joins a running full scan, and follows a changes-only one.
   */
  scan(trigger: 'schedule' | 'command' | 'job', full?: boolean): Promise<ExpiryScanResult>;
  /** The Bot Framework adapter, for inbound turns and the Notifier's proactive messages alike. */
  adapter: RegistrarAdapter;
  /** The bot: the teams-ai application with its routing table. */
  bot: Bot;
  /** Lets a running scan and provisioning runs end, then releases what the container started (the embedded Azurite in local mode). */
  close(): Promise<void>;
}

/** How long a Graph call made inside a Teams invoke may keep retrying. */
const INVOKE_GRAPH_BUDGET_MS = 3000;

export interface ContainerOverrides {
  clock?: Clock;
  random?: RandomSource;
  /** Replaces the Graph provisioner (tests that need a fault Graph cannot produce). */
  provisioner?: Provisioner;
  /** Retry timing of the Graph caller (tests shorten it). */
  graphTiming?: GraphTiming;
  /** How long Reveal waits for a new secret to work. */
  secretCheckBudgetMs?: number;
  /** Replaces the Graph credential reader (tests). */
  credentials?: CredentialSource;
  /** Where inbound tokens are checked (tests point it at a local OpenID server); otherwise GRAPH_CLOUD's. */
  botFrameworkEndpoints?: BotFrameworkEndpoints;
}

export async function createContainer(
  config: Config,
  logger: Logger,
  overrides: ContainerOverrides = {},
): Promise<Container> {
  const clock = overrides.clock ?? systemClock;
  let azurite: LocalAzurite | undefined;
  let store: TableStore;
  const { storage } = config;
  switch (storage.kind) {
    case 'embedded':
      azurite = await startAzurite({ location: `${storage.dataDir}/azurite`, port: storage.port });
      logger.info({ port: azurite.port, dataDir: storage.dataDir }, 'embedded Azurite started');
      store = new TableStore({ tablePrefix: storage.tablePrefix, connectionString: azurite.connectionString });
      break;
    case 'connection-string':
      store = new TableStore({ tablePrefix: storage.tablePrefix, connectionString: storage.connectionString });
      break;
    case 'account-url':
      store = new TableStore({
        tablePrefix: storage.tablePrefix,
        accountUrl: storage.accountUrl,
        credential: config.graph.clientId
          ? new ManagedIdentityCredential({ clientId: config.graph.clientId })
          : new DefaultAzureCredential(),
      });
      break;
  }
  try {
    await store.init();
    // Requests saved before the request index get their index rows, once (a marker makes later starts one read).
    const backfill = await ensureRequestIndex(store, clock.now());
    if (backfill.ran)
      logger.info({ indexed: backfill.indexed, skipped: backfill.skipped.slice(0, 20) }, 'request index backfilled');
  } catch (err) {
    await azurite?.stop();
    throw err;
  }

  // Graph is reached when an identity is configured (AZURE_*), and always for Teams, where the managed identity
  // is the default. Without it (npm run bot alone) every Graph-backed action says how to configure one.
  const graphConfigured = config.mode === 'teams' || !!(config.graph.tenantId || config.graph.clientId);
  const connection = graphConfigured ? createGraphConnection(config.graph) : undefined;
  // One Graph caller (token, retry policy, deadline, paging, replication waits) for every Graph adapter. What runs
  // inside a Teams invoke (the form's catalog, other APIs' permissions, directory checks, addPassword at Reveal,
  // rotation's reads) uses it with a few seconds only: Teams gives an invoke about five, and a late answer is a lost one.
  const graphLogger = logger.child({ component: 'graph' });
  const graphCaller = (c: GraphConnection) => new GraphCaller({ connection: c, ...overrides.graphTiming });
  const graph = connection && graphCaller(connection);
  const graphInTurn = graph?.withTimeout(INVOKE_GRAPH_BUDGET_MS);
  const { policy } = config;
  const needsDirectory = !!(config.operators.groupId || policy.approvers.groupId || policy.requesterGroupId);
  const directoryGraph =
    graphInTurn ??
    (needsDirectory ? graphCaller(createGraphConnection(config.graph)).withTimeout(INVOKE_GRAPH_BUDGET_MS) : undefined);
  const directory =
    needsDirectory && directoryGraph ? new GraphDirectory({ graph: directoryGraph, logger: graphLogger }) : undefined;
  const operators = createOperatorPolicy(config.operators, directory);
  const approvers = createApproverPolicy(policy.approvers, directory);
  const provisioner: Provisioner =
    overrides.provisioner ?? (graph ? new GraphProvisioner({ graph, logger: graphLogger }) : unavailableProvisioner());
  const inTurn: Provisioner =
    overrides.provisioner ??
    (graphInTurn ? new GraphProvisioner({ graph: graphInTurn, logger: graphLogger }) : provisioner);
  const random: RandomSource = overrides.random ?? ((n) => new Uint8Array(randomBytes(n)));
  // Directories other than the Teams tenant (TARGET_DIRECTORY_<KEY>): each is reached as its own app, signed in to
  // that tenant with its secret or certificate, in the same cloud. None configured: nothing below changes.
  const targets: TargetDirectory[] = config.targets.map((t) => {
    const targetGraph = graphCaller(
      createGraphConnection({
        ...config.graph,
        tenantId: t.tenantId,
        clientId: t.clientId,
        clientSecret: t.clientSecret,
        certificatePath: t.certificatePath,
      }),
    );
    const targetInTurn = targetGraph.withTimeout(INVOKE_GRAPH_BUDGET_MS);
    const targetLogger = graphLogger.child({ target: t.key });
    return {
      key: t.key,
      name: t.name,
      tenantId: t.tenantId,
      ...(t.ownersGroupId ? { ownersGroupId: t.ownersGroupId } : {}),
      provisioner: new GraphProvisioner({ graph: targetGraph, logger: targetLogger }),
      inTurn: new GraphProvisioner({ graph: targetInTurn, logger: targetLogger }),
      people: new GraphDirectory({ graph: targetInTurn, logger: targetLogger }),
      credentials: new GraphCredentialSource({
        graph: targetGraph,
        logger: targetLogger,
        listingBudget: createRateLimiter(LISTING_BUDGET),
      }),
    };
  });
  const withTargets = targets.length > 0 ? { targets } : {};

  // The app management policies: read in the turn for the form and Submit, with the full budget before provisioning.
  const credentialPolicies = graph && new GraphAppPolicies({ graph, logger: graphLogger, clock });
  const credentialPoliciesInTurn =
    graphInTurn && new GraphAppPolicies({ graph: graphInTurn, logger: graphLogger, clock });
  const people: PeopleDirectory | undefined =
    directory ?? (graphInTurn ? new GraphDirectory({ graph: graphInTurn, logger: graphLogger }) : undefined);
  // Every saved move and annotation, wherever it is made, reaches the card service (built below): never awaited.
  const late: { cards?: CardService; federation?: FederationService } = {};
  const changed = (request: AppRequest): void => void late.cards?.changed(request);
  const provisioning = createProvisioningService({
    store,
    provisioner,
    approvers,
    clock,
    logger: logger.child({ component: 'provisioning' }),
    onChange: (request) => late.cards?.changed(request),
    ...withTargets,
    ...(credentialPolicies ? { credentialPolicies } : {}),
    confirmRight: async (request) => late.federation?.confirmRight(request),
  });
  // Graph's budget for listing with keyCredentials is the tenant's: the scan and the in-turn reads share one.
  const listingBudget = createRateLimiter(LISTING_BUDGET);
  const credentials: CredentialSource =
    overrides.credentials ??
    (graph ? new GraphCredentialSource({ graph, logger: graphLogger, listingBudget }) : unavailableCredentialSource());
  const credentialsInTurn: CredentialSource =
    overrides.credentials ??
    (graphInTurn ? new GraphCredentialSource({ graph: graphInTurn, logger: graphLogger, listingBudget }) : credentials);
  const requests = createRequestService({
    store,
    provisioner: inTurn,
    approvers,
    clock,
    random,
    policy,
    logger,
    ...(directory ? { directory } : {}),
    ...(people ? { people } : {}),
    isOperator: (actor) => operators.isOperator(actor),
    startProvisioning: (id) => provisioning.start(id),
    onChange: changed,
    cloud: config.graph.cloud,
    ...withTargets,
    ...(graph || overrides.credentials ? { applications: credentialsInTurn } : {}),
    ...(credentialPoliciesInTurn ? { credentialPolicies: credentialPoliciesInTurn } : {}),
  });
  const delivery = createDeliveryService({
    store,
    provisioner: inTurn,
    clock,
    policy,
    logger: logger.child({ component: 'delivery' }),
    owners: credentialsInTurn,
    onChange: changed,
    orphans: { applications: credentials, provisioner },
    ...withTargets,
    ...(overrides.secretCheckBudgetMs !== undefined ? { checkBudgetMs: overrides.secretCheckBudgetMs } : {}),
  });

  // Registrar's own registrations: the Graph identity and the bot's. A secret of either would carry Registrar's power.
  const ownAppIds = [config.graph.clientId, config.bot?.id].filter((id): id is string => !!id);
  // Entra's credential sign-in report, read inside the Remove click too: the invoke's few seconds.
  const signIns = graphInTurn
    ? new GraphSignIns({ graph: graphInTurn, cloud: config.graph.cloud, logger: graphLogger })
    : undefined;
  const rotation = createRotationService({
    store,
    source: credentialsInTurn,
    provisioner: inTurn,
    clock,
    random,
    policy,
    ownAppIds,
    logger: logger.child({ component: 'rotation' }),
    startProvisioning: (id) => provisioning.start(id),
    onChange: changed,
    ...(signIns ? { signIns } : {}),
    ...(credentialPoliciesInTurn ? { credentialPolicies: credentialPoliciesInTurn } : {}),
  });
  const federation = createFederationService({
    store,
    source: credentialsInTurn,
    owners: credentials,
    provisioner: inTurn,
    clock,
    random,
    policy,
    ownAppIds,
    logger: logger.child({ component: 'federation' }),
    startProvisioning: (id) => provisioning.start(id),
    onChange: changed,
  });
  late.federation = federation;

  // Groups of reminder rules: named in a turn (`setup reminders for group:...`), their members read by the scan.
  const groupsInTurn: GroupDirectory | undefined =
    graphInTurn && new GraphDirectory({ graph: graphInTurn, logger: graphLogger });
  const channels = createChannelService({ store, operators, clock, ...(groupsInTurn ? { groups: groupsInTurn } : {}) });
  const greetings = createGreetingService({ store, clock });
  const adapter = createAdapter(config, overrides.botFrameworkEndpoints);
  const notifier = createTeamsNotifier(adapter, config.bot?.id ?? '');
  const tenantId = config.graph.tenantId;
  const graphEndpoints: TokenEndpoints | undefined = connection
    ? {
        login: connection.authorityHost,
        graph: connection.graphHost,
        ...(config.graph.localCaFile ? { caFile: config.graph.localCaFile } : {}),
      }
    : undefined;
  const cards = createCardService({
    store,
    notifier,
    channels,
    approvers,
    delivery,
    clock,
    deliveryTtlDays: policy.deliveryTtlDays,
    oldSignIns: (request) => rotation.oldSignIns(request),
    logger: logger.child({ component: 'cards' }),
    ...(tenantId ? { tenantId } : {}),
    ...(graphEndpoints ? { graphEndpoints } : {}),
  });
  late.cards = cards;
  const expiry = createExpiryService({
    store,
    source: credentials,
    clock,
    logger: logger.child({ component: 'expiry' }),
    reminderDays: config.reminders.days,
    scope: config.reminders.scope,
    fullScanDays: config.reminders.fullScanDays,
    routes: () => channels.routes(),
    ...(graph ? { groups: new GraphDirectory({ graph, logger: graphLogger }) } : {}),
    holder: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    announce: createReminderAnnouncer({
      store,
      notifier,
      channels,
      clock,
      logger: logger.child({ component: 'reminders' }),
      ...(people ? { people } : {}),
    }),
  });
  let scanning: { run: Promise<ExpiryScanResult>; full: boolean } | undefined;
  const scan = (trigger: 'schedule' | 'command' | 'job', full = false): Promise<ExpiryScanResult> => {
    if (scanning && (scanning.full || !full)) return scanning.run;
    // A full scan asked for while a changes-only one runs follows it: joining that one would not be what was asked.
    const previous = scanning?.run;
    const current = {
      full,
      run: (async () => {
        await previous?.catch(() => undefined);
        return expiry.scan({ trigger, full });
      })().finally(() => {
        if (scanning === current) scanning = undefined;
      }),
    };
    scanning = current;
    return current.run;
  };
  const services = {
    channels,
    greetings,
    approvers,
    operators,
    requests,
    provisioning,
    delivery,
    rotation,
    federation,
    notifier: cards,
    expiry: {
      scan: (options?: { trigger?: 'schedule' | 'command' | 'job'; full?: boolean }) =>
        scan(options?.trigger ?? 'command', options?.full === true),
    },
    ...(tenantId ? { tenantId } : {}),
    ...(graphEndpoints ? { graphEndpoints } : {}),
  };
  const bot = createBot(services);

  return {
    cards,
    scan,
    adapter,
    bot,
    store,
    directory,
    ...(people ? { people } : {}),
    credentials,
    rotation,
    clock,
    operators,
    approvers,
    provisioner,
    requests,
    provisioning,
    delivery,
    tenantId,
    ...(graphEndpoints ? { graphEndpoints } : {}),
    channels,
    greetings,
    async close() {
      await scanning?.run.catch(() => undefined);
      await provisioning.stop();
      await azurite?.stop();
    },
  };
}
