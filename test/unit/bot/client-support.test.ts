import { runsTypeahead } from '../../../src/bot/client-support';

describe('which clients run Data.Query type-ahead', () => {
  test.each([
    'https://smba.trafficmanager.net/teams/',
    'https://smba.trafficmanager.net/amer/',
    'https://smba.trafficmanager.net/emea/',
    'https://smba.infra.gcc.teams.microsoft.com/teams',
    'https://smba.infra.gov.teams.microsoft.us/teams',
    'https://smba.infra.dod.teams.microsoft.us/teams',
  ])('when a Teams activity comes through the Teams Bot Connector at %s, then the client runs type-ahead', (url) => {
    expect(runsTypeahead({ channelId: 'msteams', serviceUrl: url })).toBe(true);
  });

  test.each([
    // The Agents Playground: Teams' channel id, its own loopback service.
    ['msteams', 'http://localhost:56150'],
    ['msteams', 'http://127.0.0.1:56150/'],
    ['msteams', 'https://localhost:56150'],
    // Look-alikes of the connector's hosts, and http to a real one.
    ['msteams', 'http://smba.trafficmanager.net/teams/'],
    ['msteams', 'https://smba.trafficmanager.net.example.com/teams/'],
    ['msteams', 'https://teams.microsoft.com.example.com/'],
    ['msteams', 'https://example.teams.microsoft.com/'],
    ['msteams', 'not a url'],
    ['msteams', undefined],
    // Other channels, even through a Teams-looking host.
    ['webchat', 'https://webchat.botframework.com/'],
    ['emulator', 'https://smba.trafficmanager.net/teams/'],
    [undefined, 'https://smba.trafficmanager.net/teams/'],
  ])(
    'when the activity comes from channel %s at %s, then the client is not known to run type-ahead',
    (channelId, url) => {
      expect(runsTypeahead({ channelId, serviceUrl: url })).toBe(false);
    },
  );
});
