/**
 * Every Action.Execute verb of every card. Routes are registered from these values only, and a test fails when
 * a card uses a verb no route handles, or a route handles a verb no card uses.
 */
export const Verb = {
  showHelp: 'help.show',
  /** Opens a new request form (personal chat). */
  requestOpen: 'request.open',
  /** The form's filter box: returns the same form with the matching permissions as choices. */
  requestFind: 'request.find',
  requestSubmit: 'request.submit',
  requestCancel: 'request.cancel',
  /** Shows one request's status card (from a list). */
  requestShow: 'request.show',
  /** The approval card as the clicking person may see it: buttons for approvers, status for others. */
  approvalRefresh: 'approval.refresh',
  approvalApprove: 'approval.approve',
  approvalReject: 'approval.reject',
  approvalRetry: 'approval.retry',
  deliveryReveal: 'delivery.reveal',
  deliveryStored: 'delivery.stored',
  /**
   * The digest's Universal Actions refresh, for the apps' owners: data { digest } is what the card shows; the server
   * reads from the directory which of its apps the viewer owns, and only those rows get Rotate.
   */
  digestRefresh: 'reminder.refresh',
  /** The Rotate button of a reminder: data { appId }; the server checks that the clicking person owns the app. */
  rotationStart: 'rotation.start',
  /** After a rotation, the owner confirms removing the old credential: data { requestId }. */
  rotationRemoveOld: 'rotation.removeOld',
  rotationKeepOld: 'rotation.keepOld',
  /**
   * The `federate <app>` card's Submit: data { appId, offeredAs } and the federated credential fields; the server reads
   * the app, the clicker's ownership and the app's credentials again.
   */
  federateSubmit: 'federate.submit',
} as const;

export type VerbName = (typeof Verb)[keyof typeof Verb];

/** Data.Query datasets a card's type-ahead asks for (the application/search invoke). */
export const Dataset = {
  graphPermissions: 'registrar.graphPermissions',
} as const;
