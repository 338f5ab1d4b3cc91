/**
 * Rules for the free text people type (app names, purposes, rejection reasons). Text that would act on a card
 * (a markdown link, an Adaptive Card template or Teams date expression) or hide from its reader (invisible,
 * private-use and broken characters) is refused with a message instead of being cleaned silently, so that what an
 * approver reads is exactly what the requester typed. Every check is one pass over the text: no pattern here can
 * backtrack.
 */
import { holdsPrivateKey, privateKeyInFieldMessage } from './private-key';

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

type Flaw = { kind: 'control' | 'invisible' | 'privateUse' | 'broken'; name?: string } | { kind: 'lineBreak' | 'tab' };

/** Invisible format characters that can reorder, join or hide text, by range, with what a person would call them. */
const invisibleRanges: ReadonlyArray<[number, number, string]> = [
  [0x00ad, 0x00ad, 'a soft hyphen'],
  [0x061c, 0x061c, 'a text direction mark'],
  [0x180e, 0x180e, 'a Mongolian vowel separator'],
  [0x200b, 0x200d, 'a zero-width character'],
  [0x200e, 0x200f, 'a text direction mark'],
  [0x2028, 0x2029, 'a line or paragraph separator'],
  [0x202a, 0x202e, 'a text direction control'],
  [0x2060, 0x2060, 'a word joiner'],
  [0x2061, 0x2064, 'an invisible operator'],
  [0x2066, 0x2069, 'a text direction control'],
  [0x206a, 0x206f, 'a deprecated format character'],
  [0xfeff, 0xfeff, 'a byte-order mark'],
  [0xfff9, 0xfffb, 'an interlinear annotation character'],
  [0xe0000, 0xe007f, 'a Unicode tag'],
];

/** What is wrong with one code point (a lone surrogate counts as one), if anything. */
function flawOf(codePoint: number, multiline: boolean): Flaw | undefined {
  if (codePoint === 0x0a || codePoint === 0x0d) return multiline ? undefined : { kind: 'lineBreak' };
  if (codePoint === 0x09) return multiline ? undefined : { kind: 'tab' };
  if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint <= 0x9f)) return { kind: 'control' };
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) return { kind: 'broken' };
  if (
    (codePoint >= 0xe000 && codePoint <= 0xf8ff) ||
    (codePoint >= 0xf0000 && codePoint <= 0xffffd) ||
    (codePoint >= 0x100000 && codePoint <= 0x10fffd)
  ) {
    return { kind: 'privateUse' };
  }
  if (codePoint < 0x00ad) return undefined;
  for (const [from, to, name] of invisibleRanges)
    if (codePoint >= from && codePoint <= to) return { kind: 'invisible', name };
  return undefined;
}

const hex = (codePoint: number) => `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
const retype = 'Delete it, or type the text again instead of pasting it.';

function flawMessage(label: string, flaw: Flaw, codePoint: number, position: number): string {
  const at = `at character ${position}`;
  switch (flaw.kind) {
    case 'lineBreak':
      return `${label} holds a line break ${at}; keep it on one line.`;
    case 'tab':
      return `${label} holds a tab ${at}; use a space instead.`;
    case 'control':
      return `${label} holds a control character (${hex(codePoint)}) ${at}, which cards cannot show. ${retype}`;
    case 'invisible':
      return `${label} holds an invisible character (${hex(codePoint)}, ${flaw.name}) ${at}, which can hide or disguise text from the approvers. ${retype}`;
    case 'privateUse':
      return `${label} holds a private-use character (${hex(codePoint)}) ${at}, which each device shows differently or not at all. Use ordinary letters and symbols instead.`;
    case 'broken':
      return `${label} holds a broken character (${hex(codePoint)}, half of a UTF-16 surrogate pair) ${at}, usually left where an emoji was cut in two. ${retype}`;
  }
}

/** The first character the rule refuses, as a message; and the length in code points. One pass. */
function scanCharacters(text: string, rule: TextRule): { length: number; problem?: string } {
  let length = 0;
  let problem: string | undefined;
  for (let i = 0; i < text.length; i++) {
    let codePoint = text.charCodeAt(i);
    if (codePoint >= 0xd800 && codePoint <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        codePoint = 0x10000 + ((codePoint - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    length++;
    if (problem) continue;
    const flaw = flawOf(codePoint, rule.multiline ?? false);
    if (flaw) problem = flawMessage(rule.label, flaw, codePoint, length);
  }
  return problem ? { length, problem } : { length };
}

/** Whether the text has a markdown link, [text](address): a `]` opened since the last `]`, then optional space and `(`, and a `)` after it. */
function hasMarkdownLink(text: string): boolean {
  const lastClose = text.lastIndexOf(')');
  let opened = false;
  for (let i = 0; i < lastClose; i++) {
    const char = text[i];
    if (char === '[') opened = true;
    else if (char === ']') {
      if (!opened) continue;
      opened = false;
      let j = i + 1;
      while (j < lastClose && /\s/.test(text[j]!)) j++;
      if (text[j] === '(' && j < lastClose) return true;
      i = j - 1;
    }
  }
  return false;
}

/** The problem with an already normalised text, as a sentence for the person, or undefined when it is fine. */
export function textProblem(text: string, rule: TextRule): string | undefined {
  if (text === '') return rule.optional ? undefined : `${rule.label} is required.`;
  // Before the length: a pasted key is usually too long too, and that is not what the person must hear.
  if (holdsPrivateKey(text)) return privateKeyInFieldMessage(rule.label.charAt(0).toLowerCase() + rule.label.slice(1));
  const { length, problem } = scanCharacters(text, rule);
  if (length > rule.max) return `${rule.label} is ${length} characters long; keep it to ${rule.max}.`;
  if (problem) return problem;
  if (hasMarkdownLink(text)) {
    return `${rule.label} holds a markdown link ([text](address)); write the address out as plain text instead.`;
  }
  if (text.includes('${') || text.includes('{{')) {
    return `${rule.label} holds \${...} or {{...}}, which cards would treat as an expression; remove the braces.`;
  }
  return undefined;
}
