import type {
  Conversation,
  KickReason,
  Message,
  MessageEditedEvent,
  ReactionEvent,
  ReceiptEvent,
  RevokeContent,
  TypingEvent,
} from "./gen/parley/v1/parley_pb.js";

export type ConnectionState = "disconnected" | "connecting" | "connected" | "reconnecting";

export interface ConnectionStateChange {
  state: ConnectionState;
  previous: ConnectionState;
  closeCode?: number;
  reason?: string;
  error?: unknown;
  /** When reconnecting: the delay before the next attempt. */
  retryDelayMs?: number;
}

/** The events a {@link ParleyClient} raises, in order, from its single dispatch queue. */
export interface ParleyEvents {
  /** A message arrived (live, from the resume sync or a gap pull): once per (conversation, seq), in seq order per conversation. */
  message: { message: Message; fromSync: boolean };
  /** A revoke notification arrived; raised right after its `message`. */
  revoked: { notification: Message; conversationId: string; seq: bigint; serverMsgId: string; revokedBy: string; revoke: RevokeContent };
  /** A message was edited (by its sender, on any device): `content` is the latest revision. */
  messageEdited: MessageEditedEvent;
  /** A reaction was added or removed; `mine` when this user made the change (update "reacted by me"). */
  reactionChanged: { reaction: ReactionEvent; mine: boolean };
  /** A message already raised came again in a resume sync because it changed: replace the stored copy. */
  messageUpdated: { message: Message };
  receipt: ReceiptEvent;
  typing: TypingEvent;
  /** The server kicked this session; the client does not reconnect. */
  kicked: { reason: KickReason; detail: string };
  state: ConnectionStateChange;
  /** A session's resume sync finished: every synced message (and gap) has been raised. */
  /**
   * `fullResync` is true when the server refused the local cursor as ahead of its feed (its data was restored or
   * replaced): the client dropped its local state and this sync started from 0, so drop what you cached before.
   */
  syncCompleted: { cursor: bigint; conversations: number; messages: bigint; syncedConversations: Conversation[]; fullResync: boolean };
  /** This user's settings or read cursor of a conversation changed on another device. */
  conversationUpdated: Conversation;
  /** The organisation directory changed: pull the delta with `syncDirectory`. */
  directoryChanged: { version: bigint };
  /** Friends, requests or blocks changed: pull the delta with `syncRelations`. */
  relationsChanged: { version: bigint };
}

export type ParleyEventName = keyof ParleyEvents;
export type ParleyEventHandler<K extends ParleyEventName> = (event: ParleyEvents[K]) => void;

/** A tiny typed emitter; a failing handler never stops delivery to the others. */
export class Emitter {
  readonly #handlers = new Map<ParleyEventName, Set<(event: never) => void>>();

  on<K extends ParleyEventName>(name: K, handler: ParleyEventHandler<K>): () => void {
    let set = this.#handlers.get(name);
    if (!set) this.#handlers.set(name, (set = new Set()));
    set.add(handler as (event: never) => void);
    return () => set.delete(handler as (event: never) => void);
  }

  emit<K extends ParleyEventName>(name: K, event: ParleyEvents[K]): void {
    for (const handler of [...(this.#handlers.get(name) ?? [])]) {
      try {
        (handler as ParleyEventHandler<K>)(event);
      } catch (error) {
        console.error(`Parley: a '${name}' handler failed`, error);
      }
    }
  }
}
