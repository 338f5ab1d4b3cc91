/**
 * What the calls of one provisioning step share: its log (with the request id), one deadline, and the ids that
 * may still be replicating. Made at the start of a step from the context the service passes; nothing outlives it.
 */
import type { Logger } from '../../lib/logger';
import type { StepContext } from '../../services/ports';
import type { CallOptions, GraphCaller, RecentIds } from './graph-caller';
import type { FailureHelp } from './graph-errors';

export interface Step {
  log: Logger;
  deadline: Date;
  recent: RecentIds;
}

export interface StepDeps {
  graph: GraphCaller;
  logger: Logger;
}

/**
 * Starts step `name`. `subjects` are the ids it is given (an application, a service principal): recent when the
 * context says they were created within Entra ID's replication window.
 */
export function startStep(
  deps: StepDeps,
  name: string,
  context: StepContext | undefined,
  subjects: readonly string[],
): Step {
  return {
    log: deps.logger.child(context ? { requestId: context.requestId, step: name } : { step: name }),
    deadline: deps.graph.deadline(),
    recent: deps.graph.recent(subjects, context?.createdAt),
  };
}

/** The options of one call of the step. */
export function callOf(
  step: Step,
  help: FailureHelp,
  references: readonly string[],
  extra: Partial<CallOptions> = {},
): CallOptions {
  return { log: step.log, help, deadline: step.deadline, recent: step.recent, references, ...extra };
}

export const lower = (s: string): string => s.toLowerCase();

export function distinct<T>(items: readonly T[], by: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = by(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
