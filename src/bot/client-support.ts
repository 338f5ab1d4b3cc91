/**
 * What the client behind an activity can show, where a card depends on it.
 *
 * Data.Query type-ahead (an Input.ChoiceSet with `choices.data`, answered by the bot's application/search invoke) is
 * a Teams feature: "Typeahead search in Adaptive Cards"
 * (https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/dynamic-search) describes it for
 * Teams desktop, web and mobile, and nowhere else. The Microsoft 365 Agents Playground sends the same channelId
 * ('msteams') and a clientInfo entity much like Teams' (platform "Web"), but never sends application/search, so
 * neither of those can tell them apart. What does is where the activity came from: Teams activities carry the
 * serviceUrl of the Teams Bot Connector service, whose hosts "Send proactive messages"
 * (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/conversations/send-proactive-messages) lists for
 * each cloud (smba.trafficmanager.net; smba.infra.gcc.teams.microsoft.com; smba.infra.gov.teams.microsoft.us;
 * smba.infra.dod.teams.microsoft.us), while the Playground's is its own loopback address.
 *
 * An unknown service host gets no type-ahead: the form's Find box works everywhere, and a box that does nothing is
 * worse than a missing shortcut.
 */
import type { Activity } from 'botbuilder';

/** Hosts of the Teams Bot Connector service, and the domains of its national-cloud hosts. */
const teamsServiceHosts = ['smba.trafficmanager.net'];
const teamsServiceDomains = ['.teams.microsoft.com', '.teams.microsoft.us'];

function isTeamsService(serviceUrl: string | undefined): boolean {
  if (!serviceUrl) return false;
  let url: URL;
  try {
    url = new URL(serviceUrl);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:') return false;
  const host = url.hostname.toLowerCase();
  return (
    teamsServiceHosts.includes(host) ||
    (host.startsWith('smba.') && teamsServiceDomains.some((domain) => host.endsWith(domain)))
  );
}

/** The activity came from a Teams client, which runs Data.Query type-ahead in cards. */
export function runsTypeahead(activity: Pick<Partial<Activity>, 'channelId' | 'serviceUrl'>): boolean {
  return activity.channelId === 'msteams' && isTeamsService(activity.serviceUrl);
}
