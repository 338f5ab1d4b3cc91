/**
 * The composition root: the one place where real adapters are built and handed to the services.
 */
import type { Config } from './config';
import type { Logger } from './lib/logger';
import { TableStore } from './adapters/storage/table-store';
import { createGraphConnection } from './adapters/graph/graph-client';
import { GraphDirectory } from './adapters/graph/graph-directory';
import { startAzurite, type LocalAzurite } from './local/azurite';
import { createChannelService, type ChannelService } from './services/channel-service';
import { createGreetingService, type GreetingService } from './services/greeting-service';
import { createOperatorPolicy, type OperatorPolicy } from './services/operator-policy';
import { type Clock, type Directory, type Store, systemClock } from './services/ports';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';

export interface Container {
  store: Store;
  directory?: Directory;
  clock: Clock;
  operators: OperatorPolicy;
  channels: ChannelService;
  greetings: GreetingService;
  /** Releases what the container started (the embedded Azurite in local mode). */
  close(): Promise<void>;
}

export interface ContainerOverrides {
  clock?: Clock;
}

export async function createContainer(config: Config, logger: Logger, overrides: ContainerOverrides = {}): Promise<Container> {
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
        credential: config.graph.clientId ? new ManagedIdentityCredential({ clientId: config.graph.clientId }) : new DefaultAzureCredential(),
      });
      break;
  }
  try {
    await store.init();
  } catch (err) {
    await azurite?.stop();
    throw err;
  }

  const needsDirectory = !!config.operators.groupId;
  const directory = needsDirectory ? new GraphDirectory(createGraphConnection(config.graph).client) : undefined;
  const operators = createOperatorPolicy(config.operators, directory);

  return {
    store,
    directory,
    clock,
    operators,
    channels: createChannelService({ store, operators, clock }),
    greetings: createGreetingService({ store, clock }),
    async close() {
      await azurite?.stop();
    },
  };
}
