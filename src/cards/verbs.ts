/**
 * Every Action.Execute verb of every card. Routes are registered from these values only, and a test fails when
 * a card uses a verb no route handles, or a route handles a verb no card uses.
 */
export const Verb = {
  showHelp: 'help.show',
} as const;

export type VerbName = (typeof Verb)[keyof typeof Verb];
