/**
 * The Microsoft Graph client and the identity that calls it: @azure/identity for the token (a secret, a
 * certificate, or the managed identity), @microsoft/microsoft-graph-client for the calls. GRAPH_CLOUD picks the
 * hosts (src/clouds.ts); GRAPH_ENDPOINT and AUTHORITY_HOST override them (the local tenant in tests).
 */
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import { Client, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import { clouds } from '../../clouds';
import type { Config } from '../../config';

/**
 * Switches off the Graph client's RetryHandler for one call: Registrar's adapters retry through one policy
 * (lib/retry.ts + graph-errors.ts), which waits a Retry-After exactly once and never past a step's deadline.
 */
export const NO_CLIENT_RETRY = new RetryHandlerOptions(0, 0);

export interface GraphConnection {
  client: Client;
  credential: TokenCredential;
  /** https://graph.microsoft.com (no trailing slash), or the override. */
  graphHost: string;
  /** The login host the credential uses; a new app's secret is checked against the same one. */
  authorityHost: string;
  /** The tenant Registrar manages, when configured (needed to sign in as a new app). */
  tenantId?: string;
  /**
   * Forgets the cached Graph token, so that the next call carries a new one. After a 403, an administrator may
   * grant the missing permission; a token issued before that does not have it for up to an hour.
   */
  renewToken(): void;
}

/** A credential that can start again with an empty token cache (a new instance of the same credential). */
class RenewableCredential implements TokenCredential {
  private inner: TokenCredential;
  constructor(private readonly make: () => TokenCredential) {
    this.inner = make();
  }
  getToken(...args: Parameters<TokenCredential['getToken']>): ReturnType<TokenCredential['getToken']> {
    return this.inner.getToken(...args);
  }
  renew(): void {
    this.inner = this.make();
  }
}

export function createGraphConnection(graph: Config['graph']): GraphConnection {
  const { graphHost, authorityHost } = graphHosts(graph);
  // Instance discovery asks login.microsoftonline.com about the authority; a custom (local) authority cannot be
  // discovered, and a known cloud's needs no discovery.
  const common = { authorityHost, disableInstanceDiscovery: true };
  const credential = new RenewableCredential((): TokenCredential => {
    if (graph.tenantId && graph.clientId && graph.clientSecret)
      return new ClientSecretCredential(graph.tenantId, graph.clientId, graph.clientSecret, common);
    if (graph.tenantId && graph.clientId && graph.certificatePath) {
      return new ClientCertificateCredential(
        graph.tenantId,
        graph.clientId,
        { certificatePath: graph.certificatePath },
        common,
      );
    }
    if (graph.clientId) return new ManagedIdentityCredential({ clientId: graph.clientId });
    return new DefaultAzureCredential({ authorityHost, tenantId: graph.tenantId });
  });
  const client = createGraphClient(credential, graphHost);
  return {
    client,
    credential,
    graphHost,
    authorityHost,
    tenantId: graph.tenantId,
    renewToken: () => credential.renew(),
  };
}

/** The Graph and sign-in hosts of GRAPH_CLOUD, or those GRAPH_ENDPOINT and AUTHORITY_HOST name instead. */
export function graphHosts(graph: Pick<Config['graph'], 'cloud' | 'endpoint' | 'authorityHost'>): {
  graphHost: string;
  authorityHost: string;
} {
  const cloud = clouds[graph.cloud];
  return {
    graphHost: (graph.endpoint ?? cloud.graph).replace(/\/+$/, ''),
    authorityHost: graph.authorityHost ?? cloud.login,
  };
}

/** The Graph client for `graphHost` (v1.0), signed in with `credential`: Registrar's, and the setup command's administrator's. */
export function createGraphClient(credential: TokenCredential, graphHost: string): Client {
  return Client.initWithMiddleware({
    authProvider: new TokenCredentialAuthenticationProvider(credential, { scopes: [`${graphHost}/.default`] }),
    baseUrl: `${graphHost}/`,
    defaultVersion: 'v1.0',
    // The client only sends the token to hosts it knows; a sovereign or local host must be named.
    customHosts: new Set([new URL(graphHost).hostname]),
  });
}
