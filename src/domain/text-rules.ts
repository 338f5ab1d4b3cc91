/**
 * Rules for the free text people type (app names, purposes, rejection reasons). Text that would act on a card
 * (a markdown link, an Adaptive Card template or Teams date expression) is refused with a message instead of
 * being escaped silently, so that what an approver reads is exactly what the requester typed.
 */
import { holdsPrivateKey, privateKeyInFieldMessage } from './private-key';

/** C0 and C1 controls and DEL, plus the invisible format characters (bidi overrides, zero-width) that disguise text. */
// eslint-disable-next-line no-control-regex
const controlOrInvisible = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00AD\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u;
const lineBreaksAndTabs = /[\t\n\r]/;
const markdownLink = /\[[^\]]*\]\s*\([^)]*\)/;
const templateExpression = /\$\{|\{\{/;

export interface TextRule {
  /** How the person knows the field, as a sentence subject: "The app name". */
  label: string;
  max: number;
  /** Whether line breaks (and tabs) are allowed. */
  multiline?: boolean;
  /** Whether an empty value is allowed. */
  optional?: boolean;
}

/** Line endings made \n and the ends trimmed: what is stored and measured. */
export function normaliseText(value: string): string {
  return value.replace(/\r\n?/g, '\n').trim();
}

/** The problem with an already normalised text, as a sentence for the person, or undefined when it is fine. */
export function textProblem(text: string, rule: TextRule): string | undefined {
  if (text === '') return rule.optional ? undefined : `${rule.label} is required.`;
  // Before the length: a pasted key is usually too long too, and that is not what the person must hear.
  if (holdsPrivateKey(text)) return privateKeyInFieldMessage(rule.label.charAt(0).toLowerCase() + rule.label.slice(1));
  const length = [...text].length;
  if (length > rule.max) return `${rule.label} is ${length} characters long; keep it to ${rule.max}.`;
  if (controlOrInvisible.test(text) || (!rule.multiline && lineBreaksAndTabs.test(text))) {
    return `${rule.label} holds control or invisible characters${rule.multiline ? '' : ' or line breaks'}; type it again as plain text.`;
  }
  if (markdownLink.test(text)) {
    return `${rule.label} holds a markdown link ([text](address)); write the address out as plain text instead.`;
  }
  if (templateExpression.test(text)) {
    return `${rule.label} holds \${...} or {{...}}, which cards would treat as an expression; remove the braces.`;
  }
  return undefined;
}
