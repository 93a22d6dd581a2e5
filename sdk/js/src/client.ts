import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  ClientFrameSchema,
  ContentSchema,
  Direction,
  ErrorCode,
  KickReason,
  Platform,
  ServerFrameSchema,
  type ClientFrame,
  type Content,
  type Conversation,
  type ConversationList,
  type ConversationSync,
  type CreateGroupRequestSchema,
  type CreateGroupResult,
  type EditResult,
  type HelloOk,
  type HistoryResult,
  type KickEvent,
  type MarkReadResult,
  type Message,
  type ReactResult,
  type RevisionList,
  type SearchResult,
  type SendAck,
  type ServerFrame,
  type TargetSchema,
} from "./gen/parley/v1/parley_pb.js";
import type { FriendRequest, FriendRequestList, RelationsDelta, RequestDirection, UserList } from "./gen/parley/v1/social_pb.js";
import type {
  GroupInfo,
  GroupRequest,
  GroupRole,
  GroupSettingsSchema,
  GroupsDelta,
  InviteToGroupResult,
  MemberList,
  MembersDelta,
} from "./gen/parley/v1/groups_pb.js";
import type { DirectoryDelta } from "./gen/parley/v1/directory_pb.js";
import type { PushPrivacy, PushReportKind, RegisterDeviceRequestSchema } from "./gen/parley/v1/push_pb.js";
import { backoffDelay } from "./backoff.js";
import { CloseCodes, ConnectionLostError, ParleyClosedError, ParleyError, ParleyTimeoutError } from "./errors.js";
import { Emitter, type ConnectionState, type ParleyEventHandler, type ParleyEventName } from "./events.js";
import { MemoryClientState, type ClientState } from "./state.js";
import { MediaApi, mediaSize, type DownloadOptions, type MediaObject, type MediaSource, type UploadOptions } from "./media.js";

/** The WebSocket sub-protocol of native protocol v1. */
export const SUBPROTOCOL = "parley.v1";
/** Opens a match in a search snippet (U+E000, private use). */
export const SEARCH_MATCH_START = "\uE000";
/** Closes a match in a search snippet (U+E001, private use). */
export const SEARCH_MATCH_END = "\uE001";
export const CLIENT_VERSION = "parley-js/0.1.0";

/** The part of the WebSocket API the client uses (browsers' WebSocket, Node 22's global one, or the `ws` package). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface ParleyClientOptions {
  /** The server's WebSocket endpoint, e.g. `wss://chat.example.com/ws`. */
  url: string;
  /** The token issued for this user and device (by your app server, through the admin API). Sent only in Hello. */
  token: string;
  /** Stable id of this device or installation (1..64 chars); must match the token's device. */
  deviceId: string;
  platform?: Platform;
  clientVersion?: string;
  /** Where the resume cursor and per-conversation max seqs live. Default: a new {@link MemoryClientState}. */
  state?: ClientState;
  /** WebSocket implementation; default `globalThis.WebSocket` (in Node 20 pass `WebSocket` from the `ws` package). */
  webSocket?: WebSocketConstructor;
  /** How long a request waits for its result (and for a connection to be ready). Default 10 000. */
  requestTimeoutMs?: number;
  /** How long a send keeps being retried across reconnects before it fails with ParleyTimeoutError. Default 60 000. */
  sendTimeoutMs?: number;
  /** Timeout of the WebSocket connect plus Hello. Default 10 000. */
  connectTimeoutMs?: number;
  /** Ping interval; the shorter of this and the server's is used. Two silent intervals mean a dead connection. Default 20 000. */
  heartbeatIntervalMs?: number;
  /** Re-establish the session after a non-terminal disconnect. Default true. */
  autoReconnect?: boolean;
  /** Upper bound of the first reconnect delay (full jitter). Default 200. */
  reconnectInitialDelayMs?: number;
  /** Cap of the exponentially growing reconnect delay bound. Default 10 000. */
  reconnectMaxDelayMs?: number;
  /** Base URL of the server's HTTP API (media uploads and downloads). Default: `url` with http(s) and no path. */
  httpUrl?: string;
  /** Network failures an upload or download retries (with fresh URLs, sending only missing parts). Default 5. */
  mediaRetries?: number;
}

export interface SendReceipt {
  conversationId: string;
  seq: bigint;
  serverMsgId: string;
  serverTime: bigint;
  /** True when the server had already stored this clientMsgId (a retry). */
  duplicate: boolean;
  clientMsgId: string;
}

export type Target = MessageInitShape<typeof TargetSchema>;
export type ContentInit = MessageInitShape<typeof ContentSchema>;
type ServerBody = ServerFrame["body"];
type ServerCase = NonNullable<ServerBody["case"]>;
type ServerValue<C extends ServerCase> = Extract<ServerBody, { case: C }>["value"];
type ClientBodyInit = MessageInitShape<typeof ClientFrameSchema>["body"];

const GAP_PAGE_SIZE = 200;
const OPEN = 1;

interface Pending {
  resolve: (frame: ServerFrame) => void;
  reject: (error: unknown) => void;
}

class Deferred<T> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;
  settled = false;
  value: T | undefined;
  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = (v) => {
        if (!this.settled) {
          this.settled = true;
          this.value = v;
          resolve(v);
        }
      };
      this.reject = (e) => {
        if (!this.settled) {
          this.settled = true;
          reject(e);
        }
      };
    });
    this.promise.catch(() => undefined);
  }
}

/** One WebSocket session (Hello done). */
class Session {
  readonly pending = new Map<number, Pending>();
  readonly syncedConversations: Conversation[] = [];
  ended = false;
  synced = false;
  syncFailed = false;
  kick: KickEvent | undefined;
  lastReceived = Date.now();
  heartbeat: ReturnType<typeof setInterval> | undefined;
  onEnd: ((code: number | undefined, reason: string | undefined) => void) | undefined;

  constructor(readonly socket: WebSocketLike, readonly helloOk: HelloOk) {}

  send(frame: ClientFrame): void {
    if (this.ended || this.socket.readyState !== OPEN) throw new ConnectionLostError("The connection is closed.");
    this.socket.send(toBinary(ClientFrameSchema, frame));
  }

  /** Ends the session once: fails requests in flight, stops the heartbeat and closes the socket. */
  end(code: number | undefined, reason: string | undefined): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    for (const pending of this.pending.values()) pending.reject(new ConnectionLostError(reason ?? "The connection was lost."));
    this.pending.clear();
    try {
      this.socket.close();
    } catch {
      // already closed
    }
    this.onEnd?.(code, reason);
  }
}

/**
 * A connection to a Parley server: one session at a time, resumed from the cursor after every reconnect, requests
 * matched to results, sends retried under the same clientMsgId, and a gapless de-duplicated message stream. Events are
 * raised in order from one dispatch queue. Mirrors the C# `Parley.Sdk.ParleyClient`.
 */
export class ParleyClient {
  readonly #options: Required<Omit<ParleyClientOptions, "state" | "webSocket" | "httpUrl" | "mediaRetries">>;
  readonly #media: MediaApi;
  readonly #state: ClientState;
  readonly #WebSocket: WebSocketConstructor;
  readonly #emitter = new Emitter();
  #dispatch: Promise<void> = Promise.resolve();
  #ready = new Deferred<Session>();
  #firstSync = new Deferred<void>();
  #current: Session | undefined;
  #connectionState: ConnectionState = "disconnected";
  #cursor: bigint;
  /** Set when the local state was dropped for a CURSOR_AHEAD answer, until the next syncCompleted reports it. */
  #fullResync = false;
  #userId: string | undefined;
  #nextRequestId = 1;
  #started = false;
  #closed = false;
  #reconnectTimer: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;

  constructor(options: ParleyClientOptions) {
    if (!/^wss?:\/\//.test(options.url)) throw new TypeError("url must be a ws:// or wss:// URL.");
    if (!options.token) throw new TypeError("token is required.");
    if (!options.deviceId) throw new TypeError("deviceId is required.");
    const ws = options.webSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!ws) throw new TypeError("No WebSocket implementation: pass options.webSocket (e.g. WebSocket from the 'ws' package on Node 20).");
    this.#WebSocket = ws;
    this.#state = options.state ?? new MemoryClientState();
    this.#cursor = this.#state.cursor;
    this.#options = {
      url: options.url,
      token: options.token,
      deviceId: options.deviceId,
      platform: options.platform ?? Platform.UNSPECIFIED,
      clientVersion: options.clientVersion ?? CLIENT_VERSION,
      requestTimeoutMs: positive(options.requestTimeoutMs, 10_000, "requestTimeoutMs"),
      sendTimeoutMs: positive(options.sendTimeoutMs, 60_000, "sendTimeoutMs"),
      connectTimeoutMs: positive(options.connectTimeoutMs, 10_000, "connectTimeoutMs"),
      heartbeatIntervalMs: positive(options.heartbeatIntervalMs, 20_000, "heartbeatIntervalMs"),
      autoReconnect: options.autoReconnect ?? true,
      reconnectInitialDelayMs: positive(options.reconnectInitialDelayMs, 200, "reconnectInitialDelayMs"),
      reconnectMaxDelayMs: positive(options.reconnectMaxDelayMs, 10_000, "reconnectMaxDelayMs"),
    };
    if (this.#options.reconnectMaxDelayMs < this.#options.reconnectInitialDelayMs) {
      throw new RangeError("reconnectMaxDelayMs must be >= reconnectInitialDelayMs.");
    }
    const httpUrl = options.httpUrl ?? new URL("/", options.url.replace(/^ws/, "http")).origin;
    if (!/^https?:\/\//.test(httpUrl)) throw new TypeError("httpUrl must be an http:// or https:// URL.");
    const mediaRetries = options.mediaRetries ?? 5;
    if (!Number.isInteger(mediaRetries) || mediaRetries < 0) throw new RangeError("mediaRetries must be a non-negative integer.");
    this.#media = new MediaApi({ baseUrl: httpUrl, token: options.token, retries: mediaRetries, requestTimeoutMs: this.#options.requestTimeoutMs });
  }

  /** The authenticated user's id, known after the first HelloOk. */
  get userId(): string | undefined {
    return this.#userId;
  }

  get connectionState(): ConnectionState {
    return this.#connectionState;
  }

  /** The resume cursor: the feed version of the last processed event. */
  get cursor(): bigint {
    return this.#cursor;
  }

  /** Subscribes to an event; returns a function that unsubscribes. */
  on<K extends ParleyEventName>(name: K, handler: ParleyEventHandler<K>): () => void {
    return this.#emitter.on(name, handler);
  }

  /**
   * Opens the first session and resolves once its resume sync has completed (all sync events raised). Later
   * disconnects are handled by automatic reconnection. Rejects with {@link ParleyError} when the server refuses.
   */
  async connect(): Promise<void> {
    if (this.#closed) throw new ParleyClosedError();
    if (this.#started) throw new Error("connect() can be called once per client.");
    this.#started = true;
    this.#postState("connecting");
    let session: Session;
    try {
      session = await this.#openSession();
    } catch (error) {
      this.#postState("disconnected", { error, closeCode: (error as ParleyError).closeCode, reason: (error as Error).message });
      this.#ready.reject(error);
      throw error;
    }
    this.#runSession(session, 0);
    await this.#firstSync.promise;
  }

  /** Ends the session (normal close) and stops reconnecting. Requests in flight fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new ParleyClosedError();
    this.#ready.reject(closed);
    this.#ready = rejected(closed);
    this.#firstSync.reject(closed);
    if (this.#reconnectTimer) {
      clearTimeout(this.#reconnectTimer.timer);
      this.#reconnectTimer.wake();
    }
    this.#current?.end(1000, "client closed");
    if (this.#connectionState !== "disconnected") this.#postState("disconnected", { reason: "closed" });
    await this.#dispatch;
  }

  /**
   * Wakes a waiting reconnect now (e.g. when the browser reports it is online again) instead of after its back-off delay.
   */
  reconnectNow(): void {
    if (this.#reconnectTimer) {
      clearTimeout(this.#reconnectTimer.timer);
      this.#reconnectTimer.wake();
    }
  }

  // ─────────────────────────── messaging ───────────────────────────

  /**
   * Sends a message and resolves with the server's acknowledgement (after the durable commit). The send is retried
   * under the same `clientMsgId` across reconnects and on INTERNAL/UNAVAILABLE/RATE_LIMITED (honouring
   * `retryAfterMs`) until acknowledged or `sendTimeoutMs` elapses; the server stores it once.
   */
  async send(target: Target, content: ContentInit, clientMsgId: string = newClientMsgId(), signal?: AbortSignal): Promise<SendReceipt> {
    this.#throwIfClosed();
    const deadline = Date.now() + this.#options.sendTimeoutMs;
    const body: ClientBodyInit = { case: "send", value: { clientMsgId, target, content } };
    let attempt = 0;
    for (;;) {
      signal?.throwIfAborted();
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new ParleyTimeoutError(`Message ${clientMsgId} was not acknowledged within ${this.#options.sendTimeoutMs} ms.`);
      let reply: ServerFrame;
      try {
        const session = await this.#waitReady(remaining, signal);
        reply = await this.#request(session, body, Math.min(this.#options.requestTimeoutMs, deadline - Date.now()));
      } catch (error) {
        if (error instanceof ConnectionLostError) continue; // re-sent on the next session, after its sync
        if (error instanceof ParleyTimeoutError) continue; // re-sent under the same id
        throw error;
      }
      if (reply.body.case === "sendAck") return receipt(reply.body.value, clientMsgId);
      if (reply.body.case === "error") {
        const error = ParleyError.fromFrame(reply.body.value);
        if (!error.isTransient) throw error;
        // RATE_LIMITED: exactly the server's retry-after (the refusal did nothing); otherwise jittered backoff, at least that long.
        let delay = error.code === ErrorCode.RATE_LIMITED && error.retryAfterMs !== undefined
          ? error.retryAfterMs
          : backoffDelay(attempt++, this.#options.reconnectInitialDelayMs, this.#options.reconnectMaxDelayMs);
        if (error.retryAfterMs !== undefined && error.retryAfterMs > delay) delay = error.retryAfterMs;
        await sleep(Math.min(delay, Math.max(0, deadline - Date.now())), signal);
        continue;
      }
      throw new ParleyError(ErrorCode.UNSPECIFIED, `Unexpected result ${reply.body.case} to a send.`);
    }
  }

  /** Sends a text message to a user (1:1) or into a conversation. */
  sendText(to: { userId: string } | { conversationId: string }, text: string, clientMsgId?: string): Promise<SendReceipt> {
    return this.send(toTarget(to), { body: { case: "text", value: { text } } }, clientMsgId);
  }

  /** Sends application-defined JSON content. */
  sendCustom(to: { userId: string } | { conversationId: string }, type: string, json: string, clientMsgId?: string): Promise<SendReceipt> {
    return this.send(toTarget(to), { body: { case: "custom", value: { type, json } } }, clientMsgId);
  }

  // ───────────────────────────── media ─────────────────────────────

  /**
   * Uploads bytes in checksummed parts (docs/media.md) and returns the stored object, whose id goes into message
   * content. Resumable: network failures retry only the missing parts with fresh URLs (`mediaRetries`), and
   * `resumeUploadId` continues an upload after a crash or reload. Refusals are {@link ParleyError}s with the server's
   * code: TOO_LARGE (over the kind's limit, or an image over the pixel limit), FORBIDDEN (quota), BAD_REQUEST,
   * RATE_LIMITED (retried within `requestTimeoutMs` when the server says when).
   */
  upload(source: MediaSource, options?: UploadOptions): Promise<MediaObject> {
    this.#throwIfClosed();
    return this.#media.upload(source, options);
  }

  /** Abandons an open upload (its stored parts are deleted). */
  abortUpload(uploadId: string): Promise<void> {
    return this.#media.abortUpload(uploadId);
  }

  /** An object with a fresh short-lived signed `url` (usable as `<img src>`); NOT_FOUND when missing or not readable. */
  getObject(objectId: string, signal?: AbortSignal): Promise<MediaObject> {
    return this.#media.getObject(objectId, signal);
  }

  /** Downloads an object's bytes with progress, resuming with range requests, verified against its SHA-256. */
  download(objectId: string, options?: DownloadOptions): Promise<{ object: MediaObject; bytes: Uint8Array }> {
    return this.#media.download(objectId, options);
  }

  /** Uploads an image and sends it (the server fills dimensions, size, type and thumbnail). */
  async sendImage(to: { userId: string } | { conversationId: string }, image: MediaSource, options: UploadOptions & { caption?: string; clientMsgId?: string } = {}): Promise<SendReceipt> {
    const object = await this.upload(image, { ...options, kind: "image" });
    return this.send(toTarget(to), { body: { case: "image", value: { objectId: object.objectId, caption: options.caption ?? "" } } }, options.clientMsgId, options.signal);
  }

  /** Uploads a file and sends it. */
  async sendFile(to: { userId: string } | { conversationId: string }, file: MediaSource, options: UploadOptions & { clientMsgId?: string } = {}): Promise<SendReceipt> {
    const object = await this.upload(file, { ...options, kind: options.kind ?? "file" });
    return this.send(toTarget(to), { body: { case: "file", value: { objectId: object.objectId, fileName: object.fileName } } }, options.clientMsgId, options.signal);
  }

  /** Uploads a voice note and sends it. */
  async sendVoice(to: { userId: string } | { conversationId: string }, audio: MediaSource, durationMs: number, options: UploadOptions & { clientMsgId?: string } = {}): Promise<SendReceipt> {
    const object = await this.upload(audio, { ...options, kind: "voice" });
    return this.send(toTarget(to), { body: { case: "voice", value: { objectId: object.objectId, durationMs } } }, options.clientMsgId, options.signal);
  }

  /**
   * Uploads a video clip (and its poster, when given) and sends it. The server does not decode video: the duration,
   * dimensions and poster come from the client (a browser reads them from a `<video>` element and draws the poster
   * frame on a canvas). The poster must be an image (the server sniffs it; anything else is refused BAD_REQUEST and
   * nothing is sent); the server fills the poster's dimensions, the video's size and type. A video whose bytes are
   * not a video (the server sniffs them) is refused as a video: send it with {@link sendFile}.
   * Progress covers the poster's bytes and the video's.
   */
  async sendVideo(
    to: { userId: string } | { conversationId: string },
    video: MediaSource,
    options: UploadOptions & { durationMs: number; width?: number; height?: number; poster?: MediaSource; clientMsgId?: string },
  ): Promise<SendReceipt> {
    const { poster, durationMs, width, height, clientMsgId, onProgress, onUploadStarted, resumeUploadId, ...common } = options;
    const posterSize = poster ? mediaSize(poster) : 0;
    const total = posterSize + mediaSize(video);
    const posterObject = poster
      ? await this.upload(poster, {
          ...common, kind: "image", fileName: "poster.jpg", contentType: undefined,
          onProgress: onProgress && ((p) => onProgress({ bytesTransferred: p.bytesTransferred, totalBytes: total })),
        })
      : undefined;
    if (posterObject && posterObject.kind !== "image") {
      throw new ParleyError(ErrorCode.BAD_REQUEST, "The poster is not an image (its bytes are " + posterObject.contentType + ").");
    }
    const object = await this.upload(video, {
      ...common, kind: "video", onUploadStarted, resumeUploadId,
      onProgress: onProgress && ((p) => onProgress({ bytesTransferred: posterSize + p.bytesTransferred, totalBytes: total })),
    });
    return this.send(toTarget(to), {
      body: { case: "video", value: { objectId: object.objectId, durationMs: Math.max(0, Math.round(durationMs)), width: width ?? 0, height: height ?? 0, posterObjectId: posterObject?.objectId ?? "" } },
    }, clientMsgId, options.signal);
  }

  /**
   * Edits one of this user's text messages (within the server's edit window; the message keeps its seq). `editId`
   * makes a retry safe: the same id answers the first result with `duplicate` set and stores nothing.
   */
  edit(conversationId: string, seq: bigint, text: string | { text: string; mentionUserIds?: string[]; mentionAll?: boolean }, editId: string = newClientMsgId()): Promise<EditResult> {
    const value = typeof text === "string" ? { text } : text;
    return this.#invoke({ case: "edit", value: { conversationId, seq, editId, text: { text: value.text, mentionUserIds: value.mentionUserIds ?? [], mentionAll: value.mentionAll ?? false } } }, "edit");
  }

  /** Adds (or with `remove`, removes) this user's reaction `emoji` on a message; idempotent, answers the emoji's count. */
  react(conversationId: string, seq: bigint, emoji: string, remove = false): Promise<ReactResult> {
    return this.#invoke({ case: "react", value: { conversationId, seq, emoji, remove } }, "react");
  }

  /** The revisions of a message, the original first and the current one last. */
  getRevisions(conversationId: string, seq: bigint): Promise<RevisionList> {
    return this.#invoke({ case: "getRevisions", value: { conversationId, seq } }, "revisions");
  }

  /** The replies to message `rootSeq` with a seq above `afterSeq` (0n = from the first), ascending; `hasMore` pages on. */
  getThread(conversationId: string, rootSeq: bigint, options: { afterSeq?: bigint; limit?: number } = {}): Promise<HistoryResult> {
    return this.#invoke({ case: "thread", value: { conversationId, rootSeq, afterSeq: options.afterSeq ?? 0n, limit: options.limit ?? 0 } }, "history");
  }

  /**
   * Full-text search of the messages this user may see, newest first (at least the server's minimum query length,
   * three characters by default, Chinese and English alike). Each hit's snippet wraps the matches in U+E000 … U+E001
   * (`SEARCH_MATCH_START` / `SEARCH_MATCH_END`); pass the previous page's `nextPageToken` to go on. A page may be short,
   * or even empty, and still carry a token (the server bounds what one page reads): follow it until the token is empty.
   */
  search(query: string, options: { conversationId?: string; pageToken?: string; limit?: number } = {}): Promise<SearchResult> {
    return this.#invoke({ case: "search", value: { query, conversationId: options.conversationId ?? "", pageToken: options.pageToken ?? "", limit: options.limit ?? 0 } }, "search");
  }

  /** A page of history, ascending: backward from `fromSeq` (0n = newest) or forward from it. */
  async getHistory(conversationId: string, options: { fromSeq?: bigint; direction?: Direction; limit?: number } = {}): Promise<HistoryResult> {
    return this.#invoke({ case: "history", value: { conversationId, fromSeq: options.fromSeq ?? 0n, direction: options.direction ?? Direction.BACKWARD, limit: options.limit ?? 0 } }, "history");
  }

  /** Moves this user's read cursor forward to `seq` (clamped by the server). */
  markRead(conversationId: string, seq: bigint): Promise<MarkReadResult> {
    return this.#invoke({ case: "markRead", value: { conversationId, seq } }, "markRead");
  }

  /** Revokes one of this user's messages (within the server's window); resolves with the ack of the revoke notice. */
  async revoke(conversationId: string, seq: bigint, clientMsgId = ""): Promise<SendReceipt> {
    const ack = await this.#invoke({ case: "revoke", value: { conversationId, seq, clientMsgId } }, "sendAck");
    return receipt(ack, clientMsgId);
  }

  /** Conversations, pinned first, then by last activity. */
  getConversations(offset = 0, limit = 0): Promise<ConversationList> {
    return this.#invoke({ case: "listConversations", value: { offset, limit } }, "conversations");
  }

  /** Pins, mutes or sets mentions-only on a conversation; the user's other devices get `conversationUpdated`. */
  updateConversation(conversationId: string, settings: { pinned?: boolean; muted?: boolean; mentionsOnly?: boolean }): Promise<Conversation> {
    return this.#invoke({ case: "updateConversation", value: { conversationId, ...settings } }, "conversation");
  }

  /** Tells the conversation's other members that this user is (or stopped) typing. Advisory: dropped when offline. */
  setTyping(conversationId: string, typing: boolean): void {
    this.#throwIfClosed();
    const session = this.#readySession();
    if (!session) return;
    try {
      session.send(create(ClientFrameSchema, { requestId: 0, body: { case: "typing", value: { conversationId, typing } } }));
    } catch {
      // Typing is advisory.
    }
  }

  /** Round trip to the server, in milliseconds. */
  async ping(): Promise<number> {
    const start = Date.now();
    await this.#invoke({ case: "ping", value: { clientTime: BigInt(start) } }, "pong");
    return Date.now() - start;
  }

  // ─────────────────────────── groups ───────────────────────────

  createGroup(request: MessageInitShape<typeof CreateGroupRequestSchema>): Promise<CreateGroupResult> {
    return this.#invoke({ case: "createGroup", value: request }, "createGroup");
  }

  updateGroup(groupId: string, settings: MessageInitShape<typeof GroupSettingsSchema>): Promise<GroupInfo> {
    return this.#invoke({ case: "updateGroup", value: { groupId, settings } }, "group");
  }

  async getGroups(groupIds: string[]): Promise<GroupInfo[]> {
    return (await this.#invoke({ case: "getGroups", value: { groupIds } }, "groups")).groups;
  }

  async searchGroups(query: string, limit = 0): Promise<GroupInfo[]> {
    return (await this.#invoke({ case: "searchGroups", value: { query, limit } }, "groups")).groups;
  }

  /** Joins (FREE) or asks to join (APPROVAL); resolves true when joined now. */
  async joinGroup(groupId: string, message = ""): Promise<boolean> {
    return (await this.#invoke({ case: "joinGroup", value: { groupId, message } }, "joinGroup")).joined;
  }

  inviteToGroup(groupId: string, userIds: string[]): Promise<InviteToGroupResult> {
    return this.#invoke({ case: "inviteToGroup", value: { groupId, userIds } }, "inviteToGroup");
  }

  async getGroupRequests(groupId: string): Promise<GroupRequest[]> {
    return (await this.#invoke({ case: "listGroupRequests", value: { groupId } }, "groupRequests")).requests;
  }

  async respondGroupRequest(groupId: string, userId: string, accept: boolean): Promise<void> {
    await this.#invoke({ case: "respondGroupRequest", value: { groupId, userId, accept } }, "ok");
  }

  async kickMembers(groupId: string, userIds: string[], reason = ""): Promise<void> {
    await this.#invoke({ case: "kickMembers", value: { groupId, userIds, reason } }, "ok");
  }

  async quitGroup(groupId: string): Promise<void> {
    await this.#invoke({ case: "quitGroup", value: { groupId } }, "ok");
  }

  async dismissGroup(groupId: string): Promise<void> {
    await this.#invoke({ case: "dismissGroup", value: { groupId } }, "ok");
  }

  async transferGroupOwner(groupId: string, newOwnerId: string): Promise<void> {
    await this.#invoke({ case: "transferOwner", value: { groupId, newOwnerId } }, "ok");
  }

  async setMemberRole(groupId: string, userId: string, role: GroupRole): Promise<void> {
    await this.#invoke({ case: "setMemberRole", value: { groupId, userId, role } }, "ok");
  }

  /** Mutes a member for `seconds` (0 unmutes). */
  async muteMember(groupId: string, userId: string, seconds: number): Promise<void> {
    await this.#invoke({ case: "muteMember", value: { groupId, userId, seconds } }, "ok");
  }

  async setMemberNickname(groupId: string, nickname: string, userId = ""): Promise<void> {
    await this.#invoke({ case: "setMemberNickname", value: { groupId, userId, nickname } }, "ok");
  }

  getMembers(groupId: string, offset = 0, limit = 0): Promise<MemberList> {
    return this.#invoke({ case: "listMembers", value: { groupId, offset, limit } }, "members");
  }

  syncGroups(version: bigint): Promise<GroupsDelta> {
    return this.#invoke({ case: "syncGroups", value: { version } }, "groupsDelta");
  }

  syncMembers(groupId: string, version: bigint): Promise<MembersDelta> {
    return this.#invoke({ case: "syncMembers", value: { groupId, version } }, "membersDelta");
  }

  // ─────────────────────────── users and friends ───────────────────────────

  searchUsers(query: string, limit = 0): Promise<UserList> {
    return this.#invoke({ case: "searchUsers", value: { query, limit } }, "users");
  }

  getUsers(userIds: string[]): Promise<UserList> {
    return this.#invoke({ case: "getUsers", value: { userIds } }, "users");
  }

  async setSearchable(searchable: boolean): Promise<void> {
    await this.#invoke({ case: "updateMySettings", value: { searchable } }, "ok");
  }

  sendFriendRequest(toUserId: string, message = ""): Promise<FriendRequest> {
    return this.#invoke({ case: "sendFriendRequest", value: { toUserId, message } }, "friendRequest");
  }

  respondFriendRequest(fromUserId: string, accept: boolean, message = ""): Promise<FriendRequest> {
    return this.#invoke({ case: "respondFriendRequest", value: { fromUserId, accept, message } }, "friendRequest");
  }

  getFriendRequests(direction: RequestDirection): Promise<FriendRequestList> {
    return this.#invoke({ case: "listFriendRequests", value: { direction } }, "friendRequests");
  }

  async deleteFriend(userId: string): Promise<void> {
    await this.#invoke({ case: "deleteFriend", value: { userId } }, "ok");
  }

  async setFriendRemark(userId: string, remark: string): Promise<void> {
    await this.#invoke({ case: "setFriendRemark", value: { userId, remark } }, "ok");
  }

  async setBlocked(userId: string, blocked: boolean): Promise<void> {
    await this.#invoke({ case: "setBlocked", value: { userId, blocked } }, "ok");
  }

  /** Friends, requests and blocks changed since `version` (0n = everything). */
  syncRelations(version: bigint): Promise<RelationsDelta> {
    return this.#invoke({ case: "syncRelations", value: { version } }, "relations");
  }

  // ─────────────────────────── directory, devices, push ───────────────────────────

  /** Organisation directory changes since `version` (0n = everything). UNSUPPORTED when the server has it off. */
  syncDirectory(version: bigint): Promise<DirectoryDelta> {
    return this.#invoke({ case: "syncDirectory", value: { version } }, "directory");
  }

  async registerDevice(request: MessageInitShape<typeof RegisterDeviceRequestSchema>): Promise<void> {
    await this.#invoke({ case: "registerDevice", value: request }, "ok");
  }

  async unregisterDevice(): Promise<void> {
    await this.#invoke({ case: "unregisterDevice", value: {} }, "ok");
  }

  /** A background connection counts as offline for push. */
  async setBackground(background: boolean): Promise<void> {
    await this.#invoke({ case: "appState", value: { background } }, "ok");
  }

  async reportPush(pushId: string, traceId: string, kind: PushReportKind): Promise<void> {
    await this.#invoke({ case: "pushReport", value: { pushId, traceId, kind } }, "ok");
  }

  /** Push settings of this user on every device; absent fields stay. marketingOptOut refuses marketing campaigns. */
  async setPushSettings(settings: { doNotDisturb?: boolean; privacy?: PushPrivacy; marketingOptOut?: boolean }): Promise<void> {
    await this.#invoke({ case: "updatePushSettings", value: settings }, "ok");
  }

  // ─────────────────────────── session machinery ───────────────────────────

  #throwIfClosed(): void {
    if (this.#closed) throw new ParleyClosedError();
  }

  async #invoke<C extends ServerCase>(body: ClientBodyInit, expected: C): Promise<ServerValue<C>> {
    this.#throwIfClosed();
    const deadline = Date.now() + this.#options.requestTimeoutMs;
    let reply: ServerFrame;
    for (;;) {
      try {
        const session = await this.#waitReady(Math.max(1, deadline - Date.now()));
        reply = await this.#request(session, body, Math.max(1, deadline - Date.now()));
      } catch (error) {
        if (error instanceof ConnectionLostError) throw new ParleyError(ErrorCode.UNAVAILABLE, error.message, undefined, undefined, { cause: error });
        throw error;
      }
      if (reply.body.case !== "error") break;
      const error = ParleyError.fromFrame(reply.body.value);
      // RATE_LIMITED means the server did nothing: ask again after its retry-after while that fits in the request timeout.
      if (error.code === ErrorCode.RATE_LIMITED && error.retryAfterMs !== undefined && Date.now() + error.retryAfterMs < deadline) {
        await sleep(error.retryAfterMs);
        continue;
      }
      throw error;
    }
    if (reply.body.case !== expected) throw new ParleyError(ErrorCode.UNSPECIFIED, `Unexpected result ${reply.body.case} to ${body?.case}.`);
    return reply.body.value as ServerValue<C>;
  }

  #request(session: Session, body: ClientBodyInit, timeoutMs: number): Promise<ServerFrame> {
    const requestId = this.#newRequestId();
    return new Promise<ServerFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        session.pending.delete(requestId);
        reject(new ParleyTimeoutError(`No result to ${body?.case} within ${timeoutMs} ms.`));
      }, timeoutMs);
      session.pending.set(requestId, {
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      try {
        session.send(create(ClientFrameSchema, { requestId, body }));
      } catch (error) {
        session.pending.get(requestId)?.reject(error);
        session.pending.delete(requestId);
      }
    });
  }

  #newRequestId(): number {
    // 0 means "no result wanted" and 1 is reserved for Hello; uint32 wrap-around.
    this.#nextRequestId = this.#nextRequestId >= 0xffff_fffe ? 2 : this.#nextRequestId + 1;
    return this.#nextRequestId;
  }

  async #waitReady(timeoutMs: number, signal?: AbortSignal): Promise<Session> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const gate = this.#ready;
      const session = await withTimeout(gate.promise, deadline - Date.now(), signal, () => new ParleyTimeoutError(`Not connected within ${timeoutMs} ms.`));
      if (!session.ended) return session;
      if (this.#ready === gate) this.#ready = new Deferred<Session>();
    }
  }

  #readySession(): Session | undefined {
    const session = this.#ready.settled ? this.#ready.value : undefined;
    return session && !session.ended ? session : undefined;
  }

  /**
   * Opens a session. A server whose feed is behind the local cursor (its data was restored or replaced) answers
   * CURSOR_AHEAD: the local state is then dropped and the session opened again from cursor 0 (a full resync, reported
   * by `syncCompleted.fullResync`).
   */
  async #openSession(): Promise<Session> {
    try {
      return await this.#openSessionOnce();
    } catch (error) {
      if (!(error instanceof ParleyError) || error.code !== ErrorCode.CURSOR_AHEAD) throw error;
      this.#state.reset();
      this.#cursor = 0n;
      this.#fullResync = true;
      return await this.#openSessionOnce();
    }
  }

  /** Opens a WebSocket and performs Hello. Rejects with ParleyError when the server refuses. */
  #openSessionOnce(): Promise<Session> {
    return new Promise<Session>((resolve, reject) => {
      let socket: WebSocketLike;
      try {
        socket = new this.#WebSocket(this.#options.url, SUBPROTOCOL);
      } catch (error) {
        reject(new ParleyError(ErrorCode.UNAVAILABLE, `Cannot open ${this.#options.url}: ${(error as Error).message}`, undefined, undefined, { cause: error }));
        return;
      }
      socket.binaryType = "arraybuffer";
      let done = false;
      const fail = (error: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
        try {
          socket.close();
        } catch {
          // closing anyway
        }
        reject(error);
      };
      const timer = setTimeout(() => fail(new ParleyTimeoutError(`No HelloOk within ${this.#options.connectTimeoutMs} ms.`)), this.#options.connectTimeoutMs);
      socket.onopen = () => {
        const hello = create(ClientFrameSchema, {
          requestId: 1,
          body: {
            case: "hello",
            value: {
              token: this.#options.token,
              deviceId: this.#options.deviceId,
              platform: this.#options.platform,
              resumeCursor: this.#state.cursor > this.#cursor ? this.#state.cursor : this.#cursor,
              clientVersion: this.#options.clientVersion,
            },
          },
        });
        socket.send(toBinary(ClientFrameSchema, hello));
      };
      socket.onerror = () => undefined; // a close event follows
      socket.onclose = (event) => {
        const terminal = CloseCodes.isTerminal(event.code);
        fail(new ParleyError(terminal ? ErrorCode.UNAUTHENTICATED : ErrorCode.UNAVAILABLE,
          `The server closed the connection during the handshake (${event.code} ${event.reason ?? ""}).`.replace(" )", ")"), undefined, event.code));
      };
      socket.onmessage = (event) => {
        if (done) return;
        let frame: ServerFrame;
        try {
          frame = decode(event.data);
        } catch (error) {
          fail(new ParleyError(ErrorCode.BAD_FRAME, "The server's first frame could not be decoded.", undefined, undefined, { cause: error }));
          return;
        }
        if (frame.body.case === "helloOk") {
          done = true;
          clearTimeout(timer);
          const session = new Session(socket, frame.body.value);
          this.#userId = frame.body.value.userId;
          this.#attach(session);
          resolve(session);
        } else if (frame.body.case === "error") {
          const error = frame.body.value;
          fail(new ParleyError(error.code, error.message || ErrorCode[error.code] || "handshake refused", error.retryAfterMs || undefined,
            error.code === ErrorCode.CURSOR_AHEAD ? CloseCodes.CursorAhead : CloseCodes.HandshakeFailed));
        } else {
          fail(new ParleyError(ErrorCode.PROTOCOL_VIOLATION, `Unexpected first frame ${frame.body.case}.`));
        }
      };
    });
  }

  /** Routes a session's frames: results to their requests, events to the dispatch queue. */
  #attach(session: Session): void {
    const socket = session.socket;
    socket.onmessage = (event) => {
      if (session.ended) return;
      session.lastReceived = Date.now();
      let frame: ServerFrame;
      try {
        frame = decode(event.data);
      } catch {
        return; // a frame we cannot decode is skipped; the sync after a reconnect recovers anything lost
      }
      if (frame.requestId !== 0) {
        if (frame.body.case === "sendAck" && frame.body.value.version !== 0n) this.#queueOwnAck(session, frame.body.value);
        const pending = session.pending.get(frame.requestId);
        if (pending) {
          session.pending.delete(frame.requestId);
          pending.resolve(frame);
        }
        return;
      }
      if (frame.body.case === "kick") session.kick = frame.body.value;
      this.#enqueue(() => this.#handleEvent(session, frame));
    };
    socket.onclose = (event) => session.end(event.code, event.reason || undefined);
    socket.onerror = () => undefined;
    let interval = this.#options.heartbeatIntervalMs;
    if (session.helloOk.heartbeatIntervalMs > 0 && session.helloOk.heartbeatIntervalMs < interval) interval = session.helloOk.heartbeatIntervalMs;
    let pingSentAt: number | undefined;
    session.heartbeat = setInterval(() => {
      const now = Date.now();
      // Dead only when a ping went unanswered for an interval and nothing arrived for two.
      if (pingSentAt !== undefined && session.lastReceived < pingSentAt && now - pingSentAt >= interval && now - session.lastReceived >= 2 * interval) {
        session.end(undefined, "No frame received within twice the heartbeat interval.");
        return;
      }
      try {
        session.send(create(ClientFrameSchema, { requestId: this.#newRequestId(), body: { case: "ping", value: { clientTime: BigInt(now) } } }));
        pingSentAt = now;
      } catch {
        // the session is ending
      }
    }, interval);
  }

  /** Runs a session until it ends, then reconnects (unless terminal) with jittered back-off. */
  #runSession(session: Session, attempt: number): void {
    this.#current = session;
    session.onEnd = (closeCode, reason) => {
      if (this.#ready.settled && this.#ready.value === session) this.#ready = new Deferred<Session>();
      if (this.#closed) return;
      const nextAttempt = session.synced ? 0 : attempt;
      const terminal = session.kick !== undefined || CloseCodes.isTerminal(closeCode);
      if (terminal || !this.#options.autoReconnect) {
        this.#terminate(closeCode, reason, session.kick, undefined);
        return;
      }
      void this.#reconnect(nextAttempt, closeCode, reason, undefined, closeCode === CloseCodes.ServiceRestart || closeCode === CloseCodes.Resync);
    };
  }

  async #reconnect(attempt: number, closeCode: number | undefined, reason: string | undefined, error: unknown, immediate = false): Promise<void> {
    for (;;) {
      // 1012: the server drained for a restart; the first attempt goes at once (another node takes the session).
      // 4012: live events were missed; the resume from the cursor has them, at once.
      const delay = immediate ? 0 : backoffDelay(attempt++, this.#options.reconnectInitialDelayMs, this.#options.reconnectMaxDelayMs);
      immediate = false;
      this.#postState("reconnecting", { closeCode, reason, error, retryDelayMs: delay });
      await new Promise<void>((wake) => {
        this.#reconnectTimer = { timer: setTimeout(wake, delay), wake };
      });
      this.#reconnectTimer = undefined;
      if (this.#closed) return;
      // Let the dispatch queue finish the old session's events so Hello carries the newest cursor.
      await this.#dispatch;
      try {
        const session = await this.#openSession();
        if (this.#closed) {
          session.end(1000, "client closed");
          return;
        }
        this.#runSession(session, attempt);
        return;
      } catch (failure) {
        if (this.#closed) return;
        if (failure instanceof ParleyError && !failure.isTransient) {
          this.#terminate(failure.closeCode, failure.message, undefined, failure);
          return;
        }
        closeCode = failure instanceof ParleyError ? failure.closeCode : undefined;
        reason = (failure as Error).message;
        error = failure;
      }
    }
  }

  #terminate(closeCode: number | undefined, reason: string | undefined, kick: KickEvent | undefined, cause: unknown): void {
    const code = kick?.reason === KickReason.TOKEN_REVOKED ? ErrorCode.TOKEN_REVOKED
      : kick?.reason === KickReason.TOKEN_EXPIRED ? ErrorCode.TOKEN_EXPIRED
      : cause instanceof ParleyError ? cause.code : ErrorCode.UNAUTHENTICATED;
    const message = kick ? `Kicked: ${KickReason[kick.reason]} ${kick.detail}`.trim() : reason ?? "The session ended.";
    const error = new ParleyError(code, message, undefined, closeCode, { cause });
    this.#ready.reject(error);
    this.#ready = rejected(error);
    this.#firstSync.reject(error);
    this.#postState("disconnected", { closeCode, reason: message, error });
  }

  #enqueue(work: () => void | Promise<void>): void {
    this.#dispatch = this.#dispatch.then(work).catch((error) => console.error("Parley: event processing failed", error));
  }

  async #handleEvent(session: Session, frame: ServerFrame): Promise<void> {
    if (session.syncFailed) return;
    const body = frame.body;
    switch (body.case) {
      case "syncBatch":
        for (const sync of body.value.conversations) {
          if (sync.conversation) session.syncedConversations.push(sync.conversation);
          if (!(await this.#syncConversation(session, sync))) {
            // The gap could not be pulled: drop this session so the next one re-syncs from the old cursor.
            session.syncFailed = true;
            session.end(undefined, "The sync gap could not be pulled.");
            return;
          }
        }
        break;
      case "syncComplete": {
        const complete = body.value;
        this.#setCursor(complete.cursor);
        session.synced = true;
        const fullResync = this.#fullResync;
        this.#fullResync = false;
        this.#emitter.emit("syncCompleted", { cursor: complete.cursor, conversations: complete.conversations, messages: complete.messages, syncedConversations: [...session.syncedConversations], fullResync });
        if (!session.ended) {
          this.#postStateNow("connected", {});
          if (this.#ready.settled) this.#ready = new Deferred<Session>();
          this.#ready.resolve(session);
        }
        this.#firstSync.resolve();
        break;
      }
      case "message":
        this.#processMessage(body.value, false);
        this.#advanceCursor(body.value.version);
        break;
      case "messageEdited":
        this.#emitter.emit("messageEdited", body.value);
        this.#advanceCursor(body.value.version);
        break;
      case "reaction":
        this.#emitter.emit("reactionChanged", { reaction: body.value, mine: body.value.userId === this.userId });
        this.#advanceCursor(body.value.version);
        break;
      case "receipt":
        this.#emitter.emit("receipt", body.value);
        this.#advanceCursor(body.value.version);
        break;
      case "conversationUpdated":
        if (body.value.conversation) this.#emitter.emit("conversationUpdated", body.value.conversation);
        this.#advanceCursor(body.value.version);
        break;
      case "typing":
        this.#emitter.emit("typing", body.value);
        break;
      case "kick":
        this.#emitter.emit("kicked", { reason: body.value.reason, detail: body.value.detail });
        break;
      case "directoryChanged":
        this.#emitter.emit("directoryChanged", { version: body.value.version });
        break;
      case "relationsChanged":
        this.#emitter.emit("relationsChanged", { version: body.value.version });
        break;
      default:
        // Unknown or future event: ignored (fields are only ever added).
        break;
    }
  }

  /** Raises one conversation's synced messages, first pulling the gap for a known conversation. False when the session failed. */
  async #syncConversation(session: Session, sync: ConversationSync): Promise<boolean> {
    let messages = [...sync.messages].sort((a, b) => compare(a.seq, b.seq));
    if (messages.length === 0) return true;
    const conversationId = sync.conversation?.conversationId || messages[0]!.conversationId;
    const localMax = this.#state.getMaxSeq(conversationId);
    // A message at or below the high-water mark came again because it changed (edit, reactions, replies; ADR 0018).
    for (const changed of messages.filter((m) => m.seq <= localMax)) this.#emitter.emit("messageUpdated", { message: changed });
    messages = messages.filter((m) => m.seq > localMax);
    if (messages.length === 0) return true;
    const firstSeq = messages[0]!.seq;
    if (sync.truncated && localMax > 0n && firstSeq > localMax + 1n) {
      let from = localMax + 1n;
      while (from < firstSeq) {
        let reply: ServerFrame;
        try {
          reply = await this.#request(session, { case: "history", value: { conversationId, fromSeq: from, direction: Direction.FORWARD, limit: GAP_PAGE_SIZE } }, this.#options.requestTimeoutMs);
        } catch {
          return false;
        }
        if (reply.body.case !== "history") break; // refused (e.g. no longer a member): raise what the sync brought
        let last = 0n;
        for (const message of [...reply.body.value.messages].sort((a, b) => compare(a.seq, b.seq))) {
          if (message.seq >= firstSeq) break;
          this.#processMessage(message, true);
          last = message.seq;
        }
        if (!reply.body.value.hasMore || last === 0n || last + 1n >= firstSeq) break;
        from = last + 1n;
      }
    }
    for (const message of messages) this.#processMessage(message, true);
    return true;
  }

  /** Raises a message unless its seq is at or below the conversation's high-water mark (already raised). */
  #processMessage(message: Message, fromSync: boolean): void {
    if (message.seq <= this.#state.getMaxSeq(message.conversationId)) return;
    this.#state.setMaxSeq(message.conversationId, message.seq);
    this.#emitter.emit("message", { message, fromSync });
    const content: Content | undefined = message.content;
    if (content?.body.case === "revoke") {
      const revoke = content.body.value;
      this.#emitter.emit("revoked", { notification: message, conversationId: message.conversationId, seq: revoke.seq, serverMsgId: revoke.serverMsgId, revokedBy: revoke.revokedBy, revoke });
    }
  }

  #queueOwnAck(session: Session, ack: SendAck): void {
    this.#enqueue(() => {
      if (session.synced && !session.syncFailed) {
        // Keep the conversation's high-water mark contiguous: only an ack right after it extends it.
        if (ack.seq === this.#state.getMaxSeq(ack.conversationId) + 1n) this.#state.setMaxSeq(ack.conversationId, ack.seq);
        this.#advanceCursor(ack.version);
      }
    });
  }

  #advanceCursor(version: bigint): void {
    if (version > this.#cursor) this.#setCursor(version);
  }

  #setCursor(cursor: bigint): void {
    this.#cursor = cursor;
    this.#state.cursor = cursor;
  }

  /** Changes the state now and raises the event in order on the dispatch queue. */
  #postState(state: ConnectionState, details: { closeCode?: number; reason?: string; error?: unknown; retryDelayMs?: number } = {}): void {
    const previous = this.#connectionState;
    this.#connectionState = state;
    this.#enqueue(() => this.#emitter.emit("state", { state, previous, ...details }));
  }

  #postStateNow(state: ConnectionState, details: { closeCode?: number; reason?: string }): void {
    const previous = this.#connectionState;
    this.#connectionState = state;
    this.#emitter.emit("state", { state, previous, ...details });
  }
}

function decode(data: unknown): ServerFrame {
  if (data instanceof ArrayBuffer) return fromBinary(ServerFrameSchema, new Uint8Array(data));
  if (ArrayBuffer.isView(data)) return fromBinary(ServerFrameSchema, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  throw new TypeError("text frames are not part of the protocol");
}

function receipt(ack: SendAck, clientMsgId: string): SendReceipt {
  return { conversationId: ack.conversationId, seq: ack.seq, serverMsgId: ack.serverMsgId, serverTime: ack.serverTime, duplicate: ack.duplicate, clientMsgId };
}

function toTarget(to: { userId: string } | { conversationId: string }): Target {
  return "userId" in to ? { kind: { case: "userId", value: to.userId } } : { kind: { case: "conversationId", value: to.conversationId } };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value > 0)) throw new RangeError(`${name} must be positive.`);
  return value;
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function rejected<T>(error: unknown): Deferred<T> {
  const d = new Deferred<T>();
  d.reject(error);
  return d;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, signal: AbortSignal | undefined, onTimeout: () => Error): Promise<T> {
  if (ms <= 0) return Promise.reject(onTimeout());
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    const abort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", abort, { once: true });
    promise.then(
      (value) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", abort);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", abort);
        reject(error);
      },
    );
  });
}

/** A new random client message id (32 hex characters). */
export function newClientMsgId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
