/**
 * Bot Framework authentication. With a bot identity, every inbound activity's JWT is validated by botbuilder
 * (issuer, audience, signature against the channel's OpenID keys, expiry, and the serviceurl claim); without
 * one (local mode) validation is off and the server listens on loopback only.
 */
import {
  type Activity,
  ConfigurationBotFrameworkAuthentication,
  type ConfigurationBotFrameworkAuthenticationOptions,
} from 'botbuilder';
import { AuthenticationError, type AuthenticateRequestResult } from 'botframework-connector';
import { type BotFrameworkCloud, type BotFrameworkEndpoints, clouds } from '../clouds';
import type { Config, GraphCloud } from '../config';

export type { BotFrameworkEndpoints } from '../clouds';

/**
 * botbuilder answers 500 when a token is signed by an unknown key with a known kid (jsonwebtoken throws a
 * JsonWebTokenError, which is not an AuthenticationError). Any failure to authenticate is a 401.
 */
class StrictBotFrameworkAuthentication extends ConfigurationBotFrameworkAuthentication {
  override async authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    try {
      return await super.authenticateRequest(activity, authHeader);
    } catch (err) {
      if (err instanceof AuthenticationError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new AuthenticationError(`Unauthorized: ${message}`, 401);
    }
  }
}

/**
 * The authentication of the bot in `cloud` (GRAPH_CLOUD). For the global cloud botbuilder is given no endpoint and
 * uses its public cloud's; for the others it is given all of that cloud's (src/clouds.ts), so that an inbound token
 * is checked against that cloud's OpenID keys and issuer, and a token to reply is requested from that cloud's login
 * for that cloud's Bot Framework scope. `endpoints` (tests: a local OpenID server) overrides both.
 */
export function createBotAuthentication(
  bot: Config['bot'],
  cloud: GraphCloud,
  endpoints?: BotFrameworkEndpoints,
): ConfigurationBotFrameworkAuthentication {
  if (!bot) return new ConfigurationBotFrameworkAuthentication({});
  const endpointOptions = endpoints
    ? { ...endpoints, ValidateAuthority: false }
    : cloud === 'global'
      ? {}
      : { ...cloudEndpoints(clouds[cloud].botFramework, bot), ValidateAuthority: true };
  const options: ConfigurationBotFrameworkAuthenticationOptions = {
    MicrosoftAppId: bot.id,
    MicrosoftAppPassword: bot.password ?? '',
    MicrosoftAppType: bot.type,
    MicrosoftAppTenantId: bot.tenantId ?? '',
    ...endpointOptions,
  };
  return new StrictBotFrameworkAuthentication(options);
}

/**
 * A national cloud's endpoints for this bot. A single-tenant or managed-identity bot requests its tokens in its own
 * tenant, as the China guide says: botbuilder puts the bot's tenant into the public and US Government login URLs
 * itself, but takes any other login URL literally.
 */
function cloudEndpoints(cloud: BotFrameworkCloud, bot: NonNullable<Config['bot']>): BotFrameworkCloud {
  if (bot.type === 'MultiTenant' || !bot.tenantId) return { ...cloud };
  return { ...cloud, ToChannelFromBotLoginUrl: `${new URL(cloud.ToChannelFromBotLoginUrl).origin}/${bot.tenantId}` };
}
