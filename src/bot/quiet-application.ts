/**
 * teams-ai's Application without its typing timer. teams-ai 1.7's run() starts the timer on every message turn
 * whatever the startTypingTimer option says, and the timer is one per Application: a turn that takes more than a
 * second sends "typing" into its conversation, and while it runs no other turn gets one. Registrar answers each
 * message with one card (and long work is queued, not awaited), so it sends no typing at all, as the option says.
 */
import { Application, type TurnState } from '@microsoft/teams-ai';

export class QuietApplication<TState extends TurnState = TurnState> extends Application<TState> {
  override startTypingTimer(): void {
    // Deliberately nothing: see the file's comment.
  }
}
