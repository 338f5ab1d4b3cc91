/**
 * Bot Framework authentication. With a bot identity, every inbound activity's JWT is validated by botbuilder
 * (issuer, audience, signature against the channel's OpenID keys, expiry, and the serviceurl claim); without
 * one (local mode) validation is off and the server listens on loopback only.
 */
import { type Activity, ConfigurationBotFrameworkAuthentication, type ConfigurationBotFrameworkAuthenticationOptions } from 'botbuilder';
import { AuthenticationError, type AuthenticateRequestResult } from 'botframework-connector';
import type { Config } from '../config';

/**
 * The Bot Framework endpoints. Left unset, botbuilder uses the public cloud's; tests point them at a local
 * OpenID metadata + JWKS server. Setting any one makes botbuilder take all of them literally, so they are set
 * together or not at all.
 */
export interface BotFrameworkEndpoints {
  ToBotFromChannelOpenIdMetadataUrl: string;
  ToBotFromEmulatorOpenIdMetadataUrl: string;
  ToBotFromChannelTokenIssuer: string;
  ToChannelFromBotLoginUrl: string;
  ToChannelFromBotOAuthScope: string;
  OAuthUrl: string;
  CallerId: string;
}

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

export function createBotAuthentication(
  bot: Config['bot'],
  endpoints?: BotFrameworkEndpoints,
): ConfigurationBotFrameworkAuthentication {
  if (!bot) return new ConfigurationBotFrameworkAuthentication({});
  const options: ConfigurationBotFrameworkAuthenticationOptions = {
    MicrosoftAppId: bot.id,
    MicrosoftAppPassword: bot.password ?? '',
    MicrosoftAppType: bot.type,
    MicrosoftAppTenantId: bot.tenantId ?? '',
    ...(endpoints ? { ...endpoints, ValidateAuthority: false } : {}),
  };
  return new StrictBotFrameworkAuthentication(options);
}
