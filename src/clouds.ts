/**
 * The clouds GRAPH_CLOUD selects, in one table: for each, the Microsoft Graph and Entra sign-in hosts of Registrar's
 * own identity, and the Bot Framework endpoints of the bot's identity (which keys and issuer an inbound Teams token
 * must match; where and for what a token to reply in Teams is requested). Each value names its source:
 *
 * - [graph-deployments] Microsoft Graph national cloud deployments, https://learn.microsoft.com/graph/deployments
 *   (microsoftgraph/microsoft-graph-docs-contrib concepts/deployments.md).
 * - [entra-national] Microsoft Entra authentication & national clouds (2025-01-15),
 *   https://learn.microsoft.com/entra/identity-platform/authentication-national-cloud (MicrosoftDocs/entra-docs
 *   docs/identity-platform/authentication-national-cloud.md).
 * - [bf-public] botframework-connector 4.23.3 src/auth/authenticationConstants.ts (AuthenticationConstants) and
 *   botframework-schema src/callerIdConstants.ts: the values botbuilder uses when none is configured.
 * - [bf-gov] botframework-connector 4.23.3 src/auth/governmentConstants.ts (GovernmentConstants).
 * - [bf-gov-doc] Configure Bot Framework bots for US Government customers, "Configure for Office 365 GCC High" and
 *   "Configure for DoD environment", https://learn.microsoft.com/azure/bot-service/how-to-deploy-gov-cloud-high
 *   (MicrosoftDocs/bot-docs articles/how-to-deploy-gov-cloud-high.md).
 * - [bf-china-doc] Configure Bot Framework bots for China customers,
 *   https://docs.azure.cn/bot-service/how-to-deploy-china-cloud (MicrosoftDocs/bot-docs articles/how-to-deploy-china-cloud.md).
 * - [teams-sdk] the Teams SDK's cloud presets PUBLIC, US_GOV, US_GOV_DOD, CHINA (microsoft/teams.ts
 *   packages/api/src/auth/cloud-environment.ts), which agree with the documents above.
 */
import type { GraphCloud } from './config';

/**
 * The Bot Framework endpoints, named as botbuilder's ConfigurationBotFrameworkAuthentication reads them. Setting any
 * one makes botbuilder take all of them literally, so they are set together or not at all.
 */
export interface BotFrameworkEndpoints {
  /** The OpenID metadata whose keys an inbound channel (Teams) token must be signed with. */
  ToBotFromChannelOpenIdMetadataUrl: string;
  /** The same for tokens shaped like the Emulator's or another bot's (Teams sends none). */
  ToBotFromEmulatorOpenIdMetadataUrl: string;
  /** The issuer an inbound channel token must carry. */
  ToBotFromChannelTokenIssuer: string;
  /** The authority a token to reply is requested from: the login host and the tenant (the channel's, for a multi-tenant bot). */
  ToChannelFromBotLoginUrl: string;
  /** The resource that token is for (botbuilder asks for `<it>/.default`). */
  ToChannelFromBotOAuthScope: string;
  /** The Bot Framework token service, for user sign-in tokens (Registrar asks for none). */
  OAuthUrl: string;
  /** Put on every authenticated activity as callerId; none is documented for China. */
  CallerId?: string;
}

export interface BotFrameworkCloud extends BotFrameworkEndpoints {
  /**
   * Names the US Government cloud to botbuilder, as the US Government guide sets it. With the endpoints above set,
   * botbuilder only reads it for the App Service Extension channel.
   */
  ChannelService?: string;
}

export interface Cloud {
  /** The Microsoft Graph root (no trailing slash); its tokens are for `<graph>/.default`. */
  graph: string;
  /** The Microsoft Entra sign-in host of Registrar's Graph identity. */
  login: string;
  /**
   * The Bot Framework endpoints of this cloud. The global ones are botbuilder's own defaults, listed for the record:
   * for the global cloud Registrar configures none, so that botbuilder behaves exactly as it does unconfigured.
   */
  botFramework: BotFrameworkCloud;
}

export const clouds: Readonly<Record<GraphCloud, Readonly<Cloud>>> = {
  global: {
    graph: 'https://graph.microsoft.com', // [graph-deployments]
    login: 'https://login.microsoftonline.com', // [graph-deployments] [entra-national]
    botFramework: {
      ToBotFromChannelOpenIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration', // [bf-public]
      ToBotFromEmulatorOpenIdMetadataUrl:
        'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration', // [bf-public]
      ToBotFromChannelTokenIssuer: 'https://api.botframework.com', // [bf-public]
      ToChannelFromBotLoginUrl: 'https://login.microsoftonline.com/botframework.com', // [bf-public]
      ToChannelFromBotOAuthScope: 'https://api.botframework.com', // [bf-public]
      OAuthUrl: 'https://api.botframework.com', // [bf-public]
      CallerId: 'urn:botframework:azure', // [bf-public] CallerIdConstants.PublicAzureChannel
    },
  },
  // US Government L4: Microsoft 365 GCC High (GCC moderate uses the global cloud) [graph-deployments].
  usgov: {
    graph: 'https://graph.microsoft.us', // [graph-deployments]
    login: 'https://login.microsoftonline.us', // [graph-deployments] [entra-national]
    botFramework: {
      ChannelService: 'https://botframework.azure.us', // [bf-gov] [bf-gov-doc]
      ToBotFromChannelOpenIdMetadataUrl: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration', // [bf-gov] [bf-gov-doc]
      ToBotFromEmulatorOpenIdMetadataUrl:
        'https://login.microsoftonline.us/cab8a31a-1906-4287-a0d8-4eef66b95f6e/v2.0/.well-known/openid-configuration', // [bf-gov] [bf-gov-doc]
      ToBotFromChannelTokenIssuer: 'https://api.botframework.us', // [bf-gov] [bf-gov-doc]
      ToChannelFromBotLoginUrl: 'https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us', // [bf-gov] [bf-gov-doc]
      ToChannelFromBotOAuthScope: 'https://api.botframework.us', // [bf-gov] [bf-gov-doc]
      // GCC High's token service, where Teams is [bf-gov-doc] [teams-sdk]; GovernmentConstants.OAuthUrl (https://api.botframework.azure.us) is Azure Government's default.
      OAuthUrl: 'https://tokengcch.botframework.azure.us', // [bf-gov-doc] [teams-sdk]
      CallerId: 'urn:botframework:azureusgov', // [bf-gov] CallerIdConstants.USGovChannel, what ChannelService alone selects
    },
  },
  // US Government L5: Microsoft 365 DoD. The same Bot Framework endpoints as GCC High but the token service [bf-gov-doc].
  usgovdod: {
    graph: 'https://dod-graph.microsoft.us', // [graph-deployments]
    login: 'https://login.microsoftonline.us', // [graph-deployments] [entra-national]
    botFramework: {
      ChannelService: 'https://botframework.azure.us', // [bf-gov-doc]
      ToBotFromChannelOpenIdMetadataUrl: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration', // [bf-gov-doc] [teams-sdk]
      ToBotFromEmulatorOpenIdMetadataUrl:
        'https://login.microsoftonline.us/cab8a31a-1906-4287-a0d8-4eef66b95f6e/v2.0/.well-known/openid-configuration', // [bf-gov-doc]
      ToBotFromChannelTokenIssuer: 'https://api.botframework.us', // [bf-gov-doc] [teams-sdk]
      ToChannelFromBotLoginUrl: 'https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us', // [bf-gov-doc] [teams-sdk]
      ToChannelFromBotOAuthScope: 'https://api.botframework.us', // [bf-gov-doc] [teams-sdk]
      OAuthUrl: 'https://apiDoD.botframework.azure.us', // [bf-gov-doc] [teams-sdk]
      CallerId: 'urn:botframework:azureusgov', // [bf-gov] CallerIdConstants.USGovChannel, what ChannelService alone selects
    },
  },
  // China: Microsoft Azure and Microsoft 365 operated by 21Vianet.
  china: {
    graph: 'https://microsoftgraph.chinacloudapi.cn', // [graph-deployments]
    // [entra-national]; the Graph page still names login.chinacloudapi.cn, an alias of the same Entra instance (MSAL lists both).
    login: 'https://login.partner.microsoftonline.cn',
    botFramework: {
      ToBotFromChannelOpenIdMetadataUrl: 'https://login.botframework.azure.cn/v1/.well-known/openidconfiguration', // [bf-china-doc] [teams-sdk]
      ToBotFromEmulatorOpenIdMetadataUrl:
        'https://login.partner.microsoftonline.cn/a55a4d5b-9241-49b1-b4ff-befa8db00269/v2.0/.well-known/openid-configuration', // [bf-china-doc]
      ToBotFromChannelTokenIssuer: 'https://api.botframework.azure.cn', // [bf-china-doc] [teams-sdk]
      // The multi-tenant bot's authority [bf-china-doc] [teams-sdk]; a single-tenant or managed-identity bot uses its own tenant (src/bot/auth.ts).
      ToChannelFromBotLoginUrl: 'https://login.partner.microsoftonline.cn/microsoftservices.partner.onmschina.cn',
      ToChannelFromBotOAuthScope: 'https://api.botframework.azure.cn', // [bf-china-doc] [teams-sdk]
      OAuthUrl: 'https://token.botframework.azure.cn', // [bf-china-doc] [teams-sdk]
    },
  },
};
