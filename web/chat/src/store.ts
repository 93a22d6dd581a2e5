import { create } from "@bufbuild/protobuf";
import {
  ConversationKind,
  ErrorCode,
  MessageSchema,
  Direction,
  IndexedDbClientState,
  MemoryClientState,
  ParleyClient,
  ParleyError,
  Platform,
  directConversationId,
  RequestDirection,
  newClientMsgId,
  type ClientState,
  type ConnectionState,
  type Conversation,
  type ContentInit,
  type Target,
  type Department,
  type DepartmentMember,
  type Friend,
  type FriendRequest,
  type GroupMember,
  type Message,
  type MediaKind,
  type MediaObject,
  type UserProfile,
} from "@parley/client";
import { t } from "./i18n";
import { probeAudio, probeVideo, type MediaProbe } from "./probe";

export interface Credentials {
  userId: string;
  deviceId: string;
  token: string;
}

/** A message in the view: a stored one, or an own send still waiting for its ack (seq 0n). */
export interface ViewMessage {
  key: string;
  conversationId: string;
  seq: bigint;
  senderId: string;
  clientMsgId: string;
  serverTime: number;
  message?: Message;
  pending?: { text: string; status: "sending" | "failed"; error?: string; upload?: PendingUpload };
  revoked: boolean;
}

/** A picked file on its way: upload progress, then the stored object (kept for a retried send). */
export interface PendingUpload {
  file: File;
  kind: MediaKind;
  loaded: number;
  total: number;
  uploadId?: string;
  object?: MediaObject;
  /** A local object URL showing a picture (or a video's poster) before it is uploaded. */
  previewUrl?: string;
  /** Duration, dimensions and poster frame of a video or voice file, read by the browser (the server does not decode them). */
  probe?: MediaProbe;
  /** The stored poster of a video (kept for a retried send). */
  posterObject?: MediaObject;
}

export interface DownloadState {
  loaded: number;
  total: number;
  error?: string;
}

export interface ConversationView {
  conversation: Conversation;
  messages: ViewMessage[];
  loadedHistory: boolean;
  hasOlder: boolean;
  loadingOlder: boolean;
  /** Read cursors of other members seen through receipts (and peerReadSeq for 1:1). */
  readBy: Map<string, bigint>;
  typing: Map<string, number>;
}

const TYPING_TTL_MS = 6000;
const HISTORY_PAGE = 30;

/** The app's state around one ParleyClient; components subscribe and re-render on change. */
export class ChatStore {
  readonly client: ParleyClient;
  readonly me: string;
  connection: ConnectionState = "connecting";
  connectionReason = "";
  terminated = false;
  conversations = new Map<string, ConversationView>();
  activeId: string | undefined;
  users = new Map<string, UserProfile>();
  friends: Friend[] = [];
  incoming: FriendRequest[] = [];
  outgoing: FriendRequest[] = [];
  relationsVersion = 0n;
  departments: Department[] = [];
  departmentMembers: DepartmentMember[] = [];
  directoryVersion = 0n;
  directoryError: string | undefined;
  notice: string | undefined;
  /** Downloads in progress (or failed) by object id. */
  downloads = new Map<string, DownloadState>();
  #objects = new Map<string, { object: Promise<MediaObject>; expiresAt: number }>();
  #listeners = new Set<() => void>();
  #typingTimer: ReturnType<typeof setInterval>;
  #pendingProfiles = new Set<string>();
  #profileTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(client: ParleyClient, me: string) {
    this.client = client;
    this.me = me;
    client.on("state", (s) => {
      this.connection = s.state;
      this.connectionReason = s.reason ?? "";
      if (s.state === "disconnected" && s.error) this.terminated = true;
      this.changed();
    });
    client.on("message", ({ message }) => this.#onMessage(message));
    client.on("revoked", (r) => this.#markRevoked(r.conversationId, r.seq));
    client.on("receipt", (r) => {
      const view = this.conversations.get(r.conversationId);
      if (!view) return;
      if (r.userId === this.me) {
        // Read on another device.
        if (r.readSeq > view.conversation.readSeq) {
          view.conversation.readSeq = r.readSeq;
          view.conversation.unread = view.conversation.maxSeq > r.readSeq ? view.conversation.maxSeq - r.readSeq : 0n;
        }
      } else if ((view.readBy.get(r.userId) ?? 0n) < r.readSeq) {
        view.readBy.set(r.userId, r.readSeq);
      }
      this.changed();
    });
    client.on("typing", (e) => {
      const view = this.conversations.get(e.conversationId);
      if (!view || e.userId === this.me) return;
      if (e.typing) view.typing.set(e.userId, Date.now() + TYPING_TTL_MS);
      else view.typing.delete(e.userId);
      this.changed();
    });
    client.on("conversationUpdated", (c) => {
      this.#upsertConversation(c);
      this.changed();
    });
    client.on("syncCompleted", (e) => {
      // The server's data went back in time (restored or replaced): what the page holds may no longer exist there.
      if (e.fullResync) this.conversations.clear();
      void this.refreshConversations();
    });
    client.on("relationsChanged", () => void this.refreshRelations());
    client.on("directoryChanged", () => void this.refreshDirectory());
    this.#typingTimer = setInterval(() => {
      const now = Date.now();
      let expired = false;
      for (const view of this.conversations.values()) {
        for (const [user, until] of view.typing) if (until < now) (view.typing.delete(user), (expired = true));
      }
      if (expired) this.changed();
    }, 1000);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.activeId) void this.markActiveRead();
    });
    window.addEventListener("online", () => client.reconnectNow());
  }

  /** Connects with the credentials; resolves once the first sync completed. */
  static async open(credentials: Credentials): Promise<ChatStore> {
    let state: ClientState;
    try {
      state = await IndexedDbClientState.open(`${credentials.userId}/${credentials.deviceId}`);
    } catch {
      state = new MemoryClientState();
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const client = new ParleyClient({
      url: `${scheme}://${location.host}/ws`,
      token: credentials.token,
      deviceId: credentials.deviceId,
      platform: Platform.WEB,
      clientVersion: "parley-web/0.1.0",
      state,
      // A chat keeps a message "Sending…" (retried under the same id across reconnects) much longer than the SDK's
      // default minute; the user can still see it pending and it never stores twice.
      sendTimeoutMs: 10 * 60_000,
    });
    const store = new ChatStore(client, credentials.userId);
    store.#wantProfiles([credentials.userId]);
    await client.connect();
    void store.refreshRelations();
    void store.refreshDirectory();
    return store;
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  changed(): void {
    for (const listener of this.#listeners) listener();
  }

  async close(): Promise<void> {
    clearInterval(this.#typingTimer);
    await this.client.close();
  }

  // ─────────── conversations ───────────

  sortedConversations(): ConversationView[] {
    return [...this.conversations.values()].sort((a, b) => {
      if (a.conversation.pinned !== b.conversation.pinned) return a.conversation.pinned ? -1 : 1;
      return Number(activity(b) - activity(a));
    });
  }

  async refreshConversations(): Promise<void> {
    try {
      const list = await this.client.getConversations(0, 500);
      for (const c of list.conversations) this.#upsertConversation(c);
      this.#wantProfiles(list.conversations.flatMap((c) => [c.peerUserId, ...(c.lastMessage ? userIdsOf(c.lastMessage) : [])]));
      if (this.activeId) {
        const active = this.conversations.get(this.activeId);
        if (active?.loadedHistory) await this.#catchUp(active);
        void this.markActiveRead();
      }
      this.changed();
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Pulls what an open conversation missed (e.g. while the client had no local state). */
  async #catchUp(view: ConversationView): Promise<void> {
    const last = view.messages.filter((m) => m.seq > 0n).at(-1)?.seq;
    // Nothing shown yet and the first page (the newest, requested on open) still on its way: that page brings what was
    // missed, and a catch-up from seq 1 would pull the whole history into the view under it.
    if (last === undefined && view.loadingOlder) return;
    if (view.conversation.maxSeq <= (last ?? 0n)) return;
    const page = await this.client.getHistory(view.conversation.conversationId, { fromSeq: (last ?? 0n) + 1n, direction: Direction.FORWARD, limit: 200 });
    for (const m of page.messages) this.#addMessage(m);
  }

  #upsertConversation(c: Conversation): ConversationView {
    let view = this.conversations.get(c.conversationId);
    if (!view) {
      view = { conversation: c, messages: [], loadedHistory: false, hasOlder: true, loadingOlder: false, readBy: new Map(), typing: new Map() };
      this.conversations.set(c.conversationId, view);
    } else {
      view.conversation = c;
    }
    if (c.kind === ConversationKind.DIRECT && c.peerUserId && c.peerReadSeq > (view.readBy.get(c.peerUserId) ?? 0n)) {
      view.readBy.set(c.peerUserId, c.peerReadSeq);
    }
    return view;
  }

  async open(conversationId: string | undefined): Promise<void> {
    this.activeId = conversationId;
    this.changed();
    if (!conversationId) return;
    const view = this.conversations.get(conversationId);
    if (view && !view.loadedHistory) {
      view.loadedHistory = true;
      await this.loadOlder(conversationId, true);
    }
    await this.markActiveRead();
  }

  /** Opens (or prepares) the 1:1 conversation with a user; it is created on the server by the first message. */
  async openDirect(userId: string): Promise<void> {
    const id = directConversationId(this.me, userId);
    if (!this.conversations.has(id)) {
      const draft = this.#upsertConversation({
        $typeName: "parley.v1.Conversation",
        conversationId: id, kind: ConversationKind.DIRECT, name: "", peerUserId: userId, groupId: "", maxSeq: 0n, readSeq: 0n,
        unread: 0n, pinned: false, muted: false, peerReadSeq: 0n, memberCount: 2, updatedTime: BigInt(Date.now()), mentionsOnly: false,
      } as Conversation);
      draft.loadedHistory = false;
      this.#wantProfiles([userId]);
    }
    await this.open(id);
  }

  /** Loads the page before the oldest message shown, or (`latest`, on first open) the newest page. */
  async loadOlder(conversationId: string, latest = false): Promise<void> {
    const view = this.conversations.get(conversationId);
    if (!view || view.loadingOlder || !view.hasOlder) return;
    if (view.conversation.maxSeq === 0n) {
      view.hasOlder = false; // a draft: the first message creates it
      this.changed();
      return;
    }
    view.loadingOlder = true;
    this.changed();
    try {
      const oldest = view.messages.find((m) => m.seq > 0n)?.seq;
      if (!latest && oldest === 1n) {
        view.hasOlder = false;
        return;
      }
      const fromSeq = latest || !oldest ? 0n : oldest - 1n;
      const page = await this.client.getHistory(conversationId, { fromSeq, direction: Direction.BACKWARD, limit: HISTORY_PAGE });
      for (const m of page.messages) this.#addMessage(m);
      // Messages that arrived live before the first open may reach further back than the newest page.
      const first = page.messages[0]?.seq;
      view.hasOlder = page.hasMore && (oldest === undefined || first === undefined || oldest >= first);
      this.#wantProfiles(page.messages.flatMap(userIdsOf));
    } catch (error) {
      if (error instanceof ParleyError && error.codeName === "NOT_FOUND") view.hasOlder = false; // not created yet
      else this.#fail(error);
    } finally {
      view.loadingOlder = false;
      this.changed();
    }
  }

  async markActiveRead(): Promise<void> {
    const view = this.activeId ? this.conversations.get(this.activeId) : undefined;
    if (!view || document.visibilityState !== "visible" || view.conversation.unread === 0n || view.conversation.maxSeq === 0n) return;
    try {
      const result = await this.client.markRead(view.conversation.conversationId, view.conversation.maxSeq);
      view.conversation.readSeq = result.readSeq;
      view.conversation.unread = result.unread;
      this.changed();
    } catch (error) {
      this.#fail(error);
    }
  }

  async setPinned(conversationId: string, pinned: boolean): Promise<void> {
    await this.#guard(async () => this.#upsertConversation(await this.client.updateConversation(conversationId, { pinned })));
  }

  async setMuted(conversationId: string, muted: boolean): Promise<void> {
    await this.#guard(async () => this.#upsertConversation(await this.client.updateConversation(conversationId, { muted })));
  }

  // ─────────── messages ───────────

  async sendText(conversationId: string, text: string, clientMsgId = newClientMsgId()): Promise<void> {
    const view = this.conversations.get(conversationId);
    if (!view) return;
    const item = this.#ownItem(view, clientMsgId, { text, status: "sending" });
    this.client.setTyping(conversationId, false);
    this.changed();
    try {
      await this.#deliver(view, item, { body: { case: "text", value: { text } } });
    } catch (error) {
      item.pending = { text, status: "failed", error: describe(error) };
    }
    this.changed();
  }

  /**
   * Uploads a picked, dropped or pasted file with progress and sends it: pictures as images (the server makes the
   * thumbnail), anything else, or bytes that are not really a picture, as files. A failed send keeps the upload:
   * Retry resumes it (only missing parts) or, when it completed, sends the stored object again under the same id.
   */
  async sendMedia(conversationId: string, file: File, clientMsgId = newClientMsgId()): Promise<void> {
    const view = this.conversations.get(conversationId);
    if (!view) return;
    const previous = view.messages.find((m) => m.clientMsgId === clientMsgId)?.pending?.upload;
    const kind: MediaKind = file.type.startsWith("image/") ? "image" : file.type.startsWith("video/") ? "video" : file.type.startsWith("audio/") ? "voice" : "file";
    const upload: PendingUpload = previous ?? {
      file, kind, loaded: 0, total: file.size,
      previewUrl: kind === "image" ? URL.createObjectURL(file) : undefined,
    };
    const item = this.#ownItem(view, clientMsgId, { text: file.name, status: "sending", upload });
    this.changed();
    let lastPaint = 0;
    try {
      // Videos and voice notes: duration, dimensions and a poster frame come from the browser (the server does not
      // decode them); a file the browser cannot read goes as a plain file.
      if (!previous && (kind === "video" || kind === "voice")) {
        upload.probe = await (kind === "video" ? probeVideo(file) : probeAudio(file));
        if (!upload.probe) upload.kind = "file";
        else if (upload.probe.poster) {
          upload.previewUrl = URL.createObjectURL(upload.probe.poster);
          upload.total = file.size + upload.probe.poster.size;
        }
        this.changed();
      }
      const poster = upload.kind === "video" ? upload.probe?.poster : undefined;
      const progress = (offset: number) => (p: { bytesTransferred: number; totalBytes: number }) => {
        upload.loaded = offset + p.bytesTransferred;
        const now = Date.now();
        if (now - lastPaint > 100 || upload.loaded === upload.total) (lastPaint = now), this.changed();
      };
      if (poster && !upload.posterObject) {
        upload.posterObject = await this.client.upload(poster, { kind: "image", fileName: "poster.jpg", onProgress: progress(0) });
      }
      const object = upload.object ?? (upload.object = await this.client.upload(file, {
        kind: upload.kind,
        fileName: file.name || (kind === "image" ? "image.png" : "file"),
        resumeUploadId: upload.uploadId,
        onUploadStarted: (id) => (upload.uploadId = id),
        onProgress: progress(poster ? poster.size : 0),
      }));
      const probe = upload.probe;
      // The stored kind follows the bytes (the server sniffs them): a "video" that is not one goes as a file.
      const content: ContentInit = object.kind === "image"
        ? { body: { case: "image", value: {
            objectId: object.objectId, width: object.width, height: object.height, size: BigInt(object.size), contentType: object.contentType,
            thumbnailObjectId: object.thumbnail?.objectId ?? "", thumbnailWidth: object.thumbnail?.width ?? 0, thumbnailHeight: object.thumbnail?.height ?? 0,
          } } }
        : object.kind === "video" && probe
          ? { body: { case: "video", value: {
              objectId: object.objectId, durationMs: probe.durationMs, width: probe.width, height: probe.height,
              posterObjectId: upload.posterObject?.kind === "image" ? upload.posterObject.objectId : "",
            } } }
          : object.kind === "voice" && probe
            ? { body: { case: "voice", value: { objectId: object.objectId, durationMs: probe.durationMs } } }
            : { body: { case: "file", value: { objectId: object.objectId, fileName: object.fileName, size: BigInt(object.size), contentType: object.contentType } } };
      await this.#deliver(view, item, content);
      if (upload.previewUrl) URL.revokeObjectURL(upload.previewUrl);
    } catch (error) {
      const message = error instanceof ParleyError && error.code === ErrorCode.TOO_LARGE ? t("tooLarge", { name: file.name }) : describe(error);
      item.pending = { text: file.name, status: "failed", error: message, upload };
    }
    this.changed();
  }

  /** Retries a failed own message (text or media) under its clientMsgId. */
  retry(item: ViewMessage): void {
    const pending = item.pending;
    if (!pending) return;
    if (pending.upload) void this.sendMedia(item.conversationId, pending.upload.file, item.clientMsgId);
    else void this.sendText(item.conversationId, pending.text, item.clientMsgId);
  }

  /** Drops a failed own message from the view (its open upload, if any, is abandoned on the server). */
  discard(item: ViewMessage): void {
    const view = this.conversations.get(item.conversationId);
    if (!view || item.pending?.status !== "failed") return;
    view.messages = view.messages.filter((m) => m !== item);
    const upload = item.pending.upload;
    if (upload?.previewUrl) URL.revokeObjectURL(upload.previewUrl);
    if (upload?.uploadId && !upload.object) void this.client.abortUpload(upload.uploadId).catch(() => undefined);
    this.changed();
  }

  #ownItem(view: ConversationView, clientMsgId: string, pending: NonNullable<ViewMessage["pending"]>): ViewMessage {
    const existing = view.messages.find((m) => m.clientMsgId === clientMsgId);
    const item: ViewMessage = existing ?? {
      key: `c:${clientMsgId}`, conversationId: view.conversation.conversationId, seq: 0n, senderId: this.me, clientMsgId, serverTime: Date.now(), revoked: false,
    };
    item.pending = pending;
    if (!existing) view.messages.push(item);
    return item;
  }

  /** Sends under the item's clientMsgId; on the ack the item becomes the stored message (throws on failure). */
  async #deliver(view: ConversationView, item: ViewMessage, content: ContentInit): Promise<void> {
    const c = view.conversation;
    const conversationId = c.conversationId;
    // 1:1 messages address the peer, so the first one creates the conversation.
    const target: Target = c.kind === ConversationKind.DIRECT
      ? { kind: { case: "userId", value: c.peerUserId } }
      : { kind: { case: "conversationId", value: conversationId } };
    const ack = await this.client.send(target, content, item.clientMsgId);
    item.pending = undefined;
    item.seq = ack.seq;
    item.serverTime = Number(ack.serverTime);
    item.key = `s:${ack.seq}`;
    // Dedupe against a copy that arrived another way (e.g. history loaded meanwhile).
    view.messages = view.messages.filter((m) => m === item || m.seq !== ack.seq);
    if (ack.seq > c.maxSeq) c.maxSeq = ack.seq;
    if (ack.seq > c.readSeq) c.readSeq = ack.seq;
    c.lastMessage = create(MessageSchema, {
      conversationId, seq: ack.seq, serverMsgId: ack.serverMsgId, clientMsgId: item.clientMsgId, senderId: this.me, serverTime: ack.serverTime, content,
    });
    item.message = c.lastMessage;
    c.updatedTime = ack.serverTime;
    sortMessages(view);
  }

  // ─────────── media ───────────

  /** A signed URL for an object (cached until shortly before it expires), e.g. for an <img src>. */
  objectUrl(objectId: string): Promise<MediaObject> {
    const cached = this.#objects.get(objectId);
    if (cached && cached.expiresAt > Date.now() + 30_000) return cached.object;
    const object = this.client.getObject(objectId);
    this.#objects.set(objectId, { object, expiresAt: Date.now() + 4 * 60_000 });
    object.then((o) => this.#objects.set(objectId, { object, expiresAt: o.expiresAt ?? 0 }), () => this.#objects.delete(objectId));
    return object;
  }

  /** Downloads an object (resumed, SHA-256 checked) with progress, then saves it under its name. */
  async download(objectId: string, fileName: string): Promise<void> {
    const current = this.downloads.get(objectId);
    if (current && current.error === undefined) return; // already downloading
    const state: DownloadState = { loaded: 0, total: 0 };
    this.downloads.set(objectId, state);
    this.changed();
    try {
      const { object, bytes } = await this.client.download(objectId, {
        onProgress: (p) => {
          state.loaded = p.bytesTransferred;
          state.total = p.totalBytes;
          this.changed();
        },
      });
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: object.contentType }));
      const link = document.createElement("a");
      link.href = url;
      link.download = fileName || object.fileName;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      this.downloads.delete(objectId);
    } catch (error) {
      state.error = describe(error);
    }
    this.changed();
  }

  async revoke(conversationId: string, seq: bigint): Promise<void> {
    await this.#guard(async () => {
      await this.client.revoke(conversationId, seq);
      this.#markRevoked(conversationId, seq);
    });
  }

  typing(conversationId: string, typing: boolean): void {
    const view = this.conversations.get(conversationId);
    if (view && view.conversation.maxSeq > 0n) this.client.setTyping(conversationId, typing);
  }

  #onMessage(message: Message): void {
    const view = this.conversations.get(message.conversationId);
    if (!view) {
      // A conversation we do not know yet: fetch its summary.
      void this.refreshConversations();
      return;
    }
    this.#addMessage(message);
    const c = view.conversation;
    if (message.seq > c.maxSeq) {
      c.maxSeq = message.seq;
      c.lastMessage = message;
      c.updatedTime = message.serverTime;
      if (message.senderId !== this.me) c.unread = c.maxSeq - c.readSeq;
      else if (message.seq > c.readSeq) c.readSeq = message.seq;
    }
    view.typing.delete(message.senderId);
    this.#wantProfiles(userIdsOf(message));
    if (this.activeId === message.conversationId) void this.markActiveRead();
    this.changed();
  }

  #addMessage(message: Message): void {
    const view = this.conversations.get(message.conversationId);
    if (!view) return;
    if (view.messages.some((m) => m.seq === message.seq)) return;
    const own = message.senderId === this.me ? view.messages.find((m) => m.seq === 0n && m.clientMsgId === message.clientMsgId) : undefined;
    if (own) {
      own.seq = message.seq;
      own.key = `s:${message.seq}`;
      own.pending = undefined;
      own.message = message;
      own.revoked = message.revoked;
    } else {
      view.messages.push({
        key: `s:${message.seq}`, conversationId: message.conversationId, seq: message.seq, senderId: message.senderId,
        clientMsgId: message.clientMsgId, serverTime: Number(message.serverTime), message, revoked: message.revoked,
      });
    }
    sortMessages(view);
  }

  #markRevoked(conversationId: string, seq: bigint): void {
    const view = this.conversations.get(conversationId);
    const item = view?.messages.find((m) => m.seq === seq);
    if (item) {
      item.revoked = true;
      if (item.message) item.message = { ...item.message, content: undefined, revoked: true };
    }
    this.changed();
  }

  // ─────────── people ───────────

  displayName(userId: string): string {
    if (userId === this.me) return this.users.get(userId)?.nickname || userId;
    const remark = this.friends.find((f) => f.userId === userId)?.remark;
    return remark || this.users.get(userId)?.nickname || userId;
  }

  conversationTitle(view: ConversationView): string {
    const c = view.conversation;
    return c.kind === ConversationKind.GROUP ? c.name || c.groupId : this.displayName(c.peerUserId);
  }

  #wantProfiles(ids: string[]): void {
    for (const id of ids) if (id && !this.users.has(id)) this.#pendingProfiles.add(id);
    if (this.#pendingProfiles.size === 0 || this.#profileTimer) return;
    this.#profileTimer = setTimeout(async () => {
      this.#profileTimer = undefined;
      const batch = [...this.#pendingProfiles].slice(0, 100);
      for (const id of batch) this.#pendingProfiles.delete(id);
      try {
        const list = await this.client.getUsers(batch);
        for (const u of list.users) this.users.set(u.userId, u);
        this.changed();
      } catch {
        // names fall back to ids
      }
    }, 50);
  }

  async refreshRelations(): Promise<void> {
    try {
      const delta = await this.client.syncRelations(0n);
      this.friends = delta.friends;
      for (const f of delta.friends) if (f.profile) this.users.set(f.userId, f.profile);
      const [incoming, outgoing] = await Promise.all([
        this.client.getFriendRequests(RequestDirection.INCOMING),
        this.client.getFriendRequests(RequestDirection.OUTGOING),
      ]);
      this.incoming = incoming.requests;
      this.outgoing = outgoing.requests;
      this.relationsVersion = delta.version;
      this.#wantProfiles([...this.incoming.map((r) => r.fromUserId), ...this.outgoing.map((r) => r.toUserId)]);
      this.changed();
    } catch (error) {
      this.#fail(error);
    }
  }

  async sendFriendRequest(userId: string, message: string): Promise<boolean> {
    return this.#guard(async () => {
      await this.client.sendFriendRequest(userId, message);
      await this.refreshRelations();
    });
  }

  async respondFriendRequest(fromUserId: string, accept: boolean): Promise<void> {
    await this.#guard(async () => {
      await this.client.respondFriendRequest(fromUserId, accept);
      await this.refreshRelations();
    });
  }

  async searchUsers(query: string): Promise<UserProfile[]> {
    try {
      const list = await this.client.searchUsers(query, 20);
      for (const u of list.users) this.users.set(u.userId, u);
      return list.users;
    } catch (error) {
      this.#fail(error);
      return [];
    }
  }

  // ─────────── groups ───────────

  async createGroup(name: string, memberIds: string[]): Promise<string | undefined> {
    let conversationId: string | undefined;
    await this.#guard(async () => {
      const result = await this.client.createGroup({ name, memberIds });
      conversationId = result.conversationId;
      await this.refreshConversations();
      await this.open(conversationId);
    });
    return conversationId;
  }

  async members(groupId: string): Promise<GroupMember[]> {
    try {
      const list = await this.client.getMembers(groupId, 0, 500);
      this.#wantProfiles(list.members.map((m) => m.userId));
      return list.members;
    } catch (error) {
      this.#fail(error);
      return [];
    }
  }

  // The operator's own connection gets the result, not the notice: refresh the summary and pull the notice.
  async invite(groupId: string, userIds: string[]): Promise<boolean> {
    return this.#guard(async () => {
      await this.client.inviteToGroup(groupId, userIds);
      await this.refreshConversations();
    });
  }

  async setRole(groupId: string, userId: string, role: number): Promise<boolean> {
    return this.#guard(async () => {
      await this.client.setMemberRole(groupId, userId, role);
      await this.refreshConversations();
    });
  }

  async kick(groupId: string, userId: string): Promise<boolean> {
    return this.#guard(async () => {
      await this.client.kickMembers(groupId, [userId]);
      await this.refreshConversations();
    });
  }

  // ─────────── directory ───────────

  async refreshDirectory(): Promise<void> {
    try {
      const delta = await this.client.syncDirectory(this.directoryVersion);
      if (delta.fullReset) {
        this.departments = [];
        this.departmentMembers = [];
      }
      const deletedDepartments = new Set(delta.deletedDepartmentIds);
      const deletedMembers = new Set(delta.deletedMembers.map((k) => `${k.departmentId}/${k.userId}`));
      const changedDepartments = new Map(delta.departments.map((d) => [d.departmentId, d]));
      const changedMembers = new Map(delta.members.map((m) => [`${m.departmentId}/${m.userId}`, m]));
      this.departments = [
        ...this.departments.filter((d) => !deletedDepartments.has(d.departmentId) && !changedDepartments.has(d.departmentId)),
        ...changedDepartments.values(),
      ].sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
      this.departmentMembers = [
        ...this.departmentMembers.filter((m) => !deletedMembers.has(`${m.departmentId}/${m.userId}`) && !changedMembers.has(`${m.departmentId}/${m.userId}`)),
        ...changedMembers.values(),
      ].sort((a, b) => a.order - b.order || a.userId.localeCompare(b.userId));
      this.directoryVersion = delta.version;
      this.directoryError = undefined;
      this.#wantProfiles(this.departmentMembers.map((m) => m.userId));
    } catch (error) {
      this.directoryError = error instanceof ParleyError && error.codeName === "UNSUPPORTED" ? "unsupported" : describe(error);
    }
    this.changed();
  }

  // ─────────── errors ───────────

  dismissNotice(): void {
    this.notice = undefined;
    this.changed();
  }

  async #guard(work: () => Promise<unknown>): Promise<boolean> {
    try {
      await work();
      this.changed();
      return true;
    } catch (error) {
      this.#fail(error);
      return false;
    }
  }

  #fail(error: unknown): void {
    this.notice = describe(error);
    this.changed();
  }
}

/** The users a message names (sender, and the subjects of group notices), for display names. */
function userIdsOf(message: Message): string[] {
  const body = message.content?.body;
  const ids = [message.senderId];
  switch (body?.case) {
    case "membersAdded":
    case "membersRemoved":
      ids.push(...body.value.userIds);
      break;
    case "groupCreated":
      ids.push(body.value.creatorId);
      break;
    case "memberRoleChanged":
      ids.push(body.value.userId);
      break;
    case "ownerTransferred":
      ids.push(body.value.newOwnerId);
      break;
    case "revoke":
      ids.push(body.value.revokedBy);
      break;
  }
  return ids.filter(Boolean);
}

function activity(view: ConversationView): bigint {
  return view.conversation.lastMessage?.serverTime ?? view.conversation.updatedTime;
}

function sortMessages(view: ConversationView): void {
  view.messages.sort((a, b) => (a.seq === 0n ? 1 : 0) - (b.seq === 0n ? 1 : 0) || (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : a.serverTime - b.serverTime));
}

export function describe(error: unknown): string {
  if (error instanceof ParleyError) return `${error.codeName}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
