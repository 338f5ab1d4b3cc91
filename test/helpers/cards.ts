/**
 * Reading Adaptive Cards the way a person's client does: the buttons (Action.Execute with verb and data), the
 * inputs with their ids and choices, and the Universal Actions refresh.
 */
export interface CardAction {
  title?: string;
  verb: string;
  data: Record<string, unknown>;
}

function walk(node: unknown, visit: (n: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) return node.forEach((n) => walk(n, visit));
  if (!node || typeof node !== 'object') return;
  const n = node as Record<string, unknown>;
  visit(n);
  for (const value of Object.values(n)) walk(value, visit);
}

/** Every Action.Execute of the card body and actions (not the refresh). */
export function cardActions(card: unknown): CardAction[] {
  const found: CardAction[] = [];
  const { refresh: _refresh, ...rest } = (card ?? {}) as Record<string, unknown>;
  walk(rest, (n) => {
    if (n.type === 'Action.Execute' && typeof n.verb === 'string') {
      found.push({
        verb: n.verb,
        data: (n.data as Record<string, unknown> | undefined) ?? {},
        ...(typeof n.title === 'string' ? { title: n.title } : {}),
      });
    }
  });
  return found;
}

/** The button with this verb; throws with the verbs there are when none. */
export function actionFor(card: unknown, verb: string): CardAction {
  const actions = cardActions(card);
  const action = actions.find((a) => a.verb === verb);
  if (!action)
    throw new Error(`the card has no ${verb} button; it has: ${actions.map((a) => a.verb).join(', ') || 'none'}`);
  return action;
}

export function verbsOf(card: unknown): string[] {
  return cardActions(card).map((a) => a.verb);
}

export interface CardInput {
  id: string;
  type: string;
  value?: unknown;
  choices?: Array<{ title: string; value: string }>;
}

export function cardInputs(card: unknown): Map<string, CardInput> {
  const inputs = new Map<string, CardInput>();
  walk(card, (n) => {
    if (typeof n.type === 'string' && n.type.startsWith('Input.') && typeof n.id === 'string') {
      inputs.set(n.id, {
        id: n.id,
        type: n.type,
        value: n.value,
        ...(Array.isArray(n.choices) ? { choices: n.choices as CardInput['choices'] } : {}),
      });
    }
  });
  return inputs;
}

export function refreshOf(
  card: unknown,
): { verb?: string; data?: Record<string, unknown>; userIds?: string[] } | undefined {
  const refresh = (
    card as { refresh?: { action?: { verb?: string; data?: Record<string, unknown> }; userIds?: string[] } } | undefined
  )?.refresh;
  return refresh ? { verb: refresh.action?.verb, data: refresh.action?.data, userIds: refresh.userIds } : undefined;
}
