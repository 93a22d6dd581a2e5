import { useEffect, useReducer, useRef, useState } from "preact/hooks";
import type { JSX } from "preact";
import { ConversationKind, GroupRole, type Content, type GroupMember, type UserProfile } from "@parley/client";
import { ChatStore, describe, type ConversationView, type ViewMessage } from "./store";
import { browserDeviceId, devSignIn, devSignInEnabled, loadCredentials, saveCredentials } from "./session";
import { language, languages, setLanguage, t, type Language } from "./i18n";
import { MessageText } from "./message-text";
import { ClipIcon, MediaBody, isMedia } from "./media";

type Tab = "chats" | "friends" | "groups" | "directory";

export function App() {
  const [store, setStore] = useState<ChatStore | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [, bump] = useReducer((x: number, _: void) => x + 1, 0);
  const rerender = () => bump();

  const start = async (credentials = loadCredentials()) => {
    if (!credentials) return;
    try {
      const opened = await ChatStore.open(credentials);
      saveCredentials(credentials);
      setStore(opened);
      setError(undefined);
    } catch (e) {
      saveCredentials(undefined);
      setError(describe(e));
    }
  };

  useEffect(() => {
    void start();
  }, []);

  const signOut = async () => {
    await store?.close();
    saveCredentials(undefined);
    setStore(undefined);
  };

  if (!store) return <SignIn error={error} onSignedIn={(c) => start(c)} onLanguage={rerender} />;
  return <Chat store={store} onSignOut={signOut} onLanguage={rerender} />;
}

function LanguagePicker({ onChange }: { onChange: () => void }) {
  return (
    <label class="lang">
      <span class="visually-hidden">{t("language")}</span>
      <select
        aria-label={t("language")}
        value={language()}
        onChange={(e) => {
          setLanguage((e.currentTarget as HTMLSelectElement).value as Language);
          onChange();
        }}
      >
        {Object.entries(languages).map(([code, name]) => (
          <option value={code}>{name}</option>
        ))}
      </select>
    </label>
  );
}

function SignIn({ error, onSignedIn, onLanguage }: { error?: string; onSignedIn: (c: { userId: string; deviceId: string; token: string }) => Promise<void>; onLanguage: () => void }) {
  const [dev, setDev] = useState<boolean | undefined>();
  const [userId, setUserId] = useState("");
  const [nickname, setNickname] = useState("");
  const [token, setToken] = useState("");
  const [deviceId, setDeviceId] = useState(browserDeviceId());
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | undefined>();
  useEffect(() => {
    void devSignInEnabled().then(setDev);
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      const credentials = dev ? await devSignIn(userId.trim(), nickname.trim(), deviceId) : { userId: userId.trim(), deviceId: deviceId.trim(), token: token.trim() };
      await onSignedIn(credentials);
    } catch (err) {
      setFailure(describe(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <div class="signin-head">
          <h1 id="signin-title">{t("signInTitle")}</h1>
          <LanguagePicker onChange={onLanguage} />
        </div>
        <p class="hint">{dev === undefined ? "…" : dev ? t("signInDev") : t("signInToken")}</p>
        <label>
          {t("userId")}
          <input name="userId" required autoComplete="username" value={userId} onInput={(e) => setUserId(e.currentTarget.value)} pattern="[A-Za-z0-9\-._@:]{1,64}" />
        </label>
        {dev ? (
          <label>
            {t("nickname")}
            <input name="nickname" value={nickname} onInput={(e) => setNickname(e.currentTarget.value)} maxLength={64} />
          </label>
        ) : (
          <>
            <label>
              {t("deviceId")}
              <input name="deviceId" required value={deviceId} onInput={(e) => setDeviceId(e.currentTarget.value)} />
            </label>
            <label>
              {t("token")}
              <textarea name="token" required rows={3} value={token} onInput={(e) => setToken(e.currentTarget.value)} />
            </label>
          </>
        )}
        <button type="submit" class="primary" disabled={busy || dev === undefined}>
          {busy ? t("signingIn") : t("signIn")}
        </button>
        {(failure ?? error) && (
          <p role="alert" class="error">
            {t("errorPrefix", { message: failure ?? error ?? "" })}
          </p>
        )}
      </form>
    </main>
  );
}

function useStore(store: ChatStore): void {
  const [, bump] = useReducer((x: number, _: void) => x + 1, 0);
  const rerender = () => bump();
  useEffect(() => store.subscribe(rerender), [store]);
}

function Chat({ store, onSignOut, onLanguage }: { store: ChatStore; onSignOut: () => void; onLanguage: () => void }) {
  useStore(store);
  const [tab, setTab] = useState<Tab>("chats");
  const active = store.activeId ? store.conversations.get(store.activeId) : undefined;
  const tabs: Tab[] = ["chats", "friends", "groups", "directory"];
  const openConversation = async (id: string) => {
    setTab("chats");
    await store.open(id);
  };
  const openDirect = async (userId: string) => {
    setTab("chats");
    await store.openDirect(userId);
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      // Alt+↑/↓ moves between conversations; Escape closes the conversation (back to the list on phones).
      if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
        const list = store.sortedConversations();
        const index = list.findIndex((v) => v.conversation.conversationId === store.activeId);
        const next = list[Math.max(0, Math.min(list.length - 1, index + (e.key === "ArrowDown" ? 1 : -1)))];
        if (next) void openConversation(next.conversation.conversationId);
        e.preventDefault();
      } else if (e.key === "Escape" && store.activeId && !(e.target instanceof HTMLDialogElement)) {
        void store.open(undefined);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [store]);

  return (
    <div class={`shell ${active ? "has-active" : ""}`}>
      <ConnectionBanner store={store} onSignOut={onSignOut} />
      {store.notice && (
        <div class="notice" role="alert">
          <span>{t("errorPrefix", { message: store.notice })}</span>
          <button type="button" onClick={() => store.dismissNotice()} aria-label={t("close")}>
            ×
          </button>
        </div>
      )}
      <aside class="sidebar">
        <header class="me">
          <strong data-testid="me">{store.displayName(store.me)}</strong>
          <span class="muted">@{store.me}</span>
          <span class="spacer" />
          <LanguagePicker onChange={onLanguage} />
          <button type="button" onClick={onSignOut}>
            {t("signOut")}
          </button>
        </header>
        <nav class="tabs" aria-label={t("mainNavigation")}>
          {tabs.map((name) => (
            <button type="button" aria-current={tab === name ? "page" : undefined} class={tab === name ? "active" : ""} onClick={() => setTab(name)} data-tab={name}>
              {t(name)}
              {name === "friends" && store.incoming.filter((r) => r.state === 0).length > 0 && (
                <span class="badge" aria-label={t("friendRequests")}>
                  {store.incoming.filter((r) => r.state === 0).length}
                </span>
              )}
            </button>
          ))}
        </nav>
        {tab === "chats" && <ConversationList store={store} onOpen={openConversation} onOpenDirect={openDirect} />}
        {tab === "friends" && <Friends store={store} onOpenDirect={openDirect} />}
        {tab === "groups" && <Groups store={store} onOpen={openConversation} />}
        {tab === "directory" && <Directory store={store} onOpenDirect={openDirect} />}
      </aside>
      <main class="pane">{active ? <ChatPane store={store} view={active} /> : <p class="empty">{t("selectConversation")}</p>}</main>
    </div>
  );
}

function ConnectionBanner({ store, onSignOut }: { store: ChatStore; onSignOut: () => void }) {
  if (store.connection === "connected") return null;
  const text = store.terminated ? t("disconnected", { reason: store.connectionReason }) : store.connection === "connecting" ? t("connecting") : t("reconnecting");
  return (
    <div class={`banner ${store.terminated ? "error" : ""}`} role="status" data-testid="connection-banner">
      <span>{text}</span>
      {store.terminated && (
        <button type="button" onClick={onSignOut}>
          {t("signInAgain")}
        </button>
      )}
    </div>
  );
}

function ConversationList({ store, onOpen, onOpenDirect }: { store: ChatStore; onOpen: (id: string) => void; onOpenDirect: (userId: string) => void }) {
  const [peer, setPeer] = useState("");
  const list = store.sortedConversations();
  return (
    <section class="list" aria-label={t("conversationList")}>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          if (peer.trim()) onOpenDirect(peer.trim());
          setPeer("");
        }}
      >
        <label class="grow">
          <span class="visually-hidden">{t("startChatWith")}</span>
          <input placeholder={t("startChatWith")} aria-label={t("startChatWith")} value={peer} onInput={(e) => setPeer(e.currentTarget.value)} name="peer" />
        </label>
        <button type="submit">{t("start")}</button>
      </form>
      {list.length === 0 && <p class="muted pad">{t("noConversations")}</p>}
      <ul role="list">
        {list.map((view) => {
          const c = view.conversation;
          const selected = store.activeId === c.conversationId;
          const unread = Number(c.unread);
          return (
            <li key={c.conversationId}>
              <button
                type="button"
                class={`conversation ${selected ? "selected" : ""}`}
                aria-current={selected ? "true" : undefined}
                data-conversation={c.conversationId}
                onClick={() => onOpen(c.conversationId)}
              >
                <span class="avatar" aria-hidden="true">
                  {initials(store.conversationTitle(view))}
                </span>
                <span class="summary">
                  <span class="title">
                    {store.conversationTitle(view)}
                    {c.pinned && <span class="tag">{t("pinned")}</span>}
                    {c.muted && <span class="tag">{t("muted")}</span>}
                  </span>
                  <span class="preview">{view.typing.size > 0 ? t("typing", { name: store.displayName([...view.typing.keys()][0]!) }) : preview(store, view)}</span>
                </span>
                {unread > 0 && (
                  <span class={`badge ${c.muted ? "quiet" : ""}`} data-testid="unread" aria-label={t("unreadCount", { count: unread })}>
                    {unread > 99 ? "99+" : unread}
                  </span>
                )}
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function ChatPane({ store, view }: { store: ChatStore; view: ConversationView }) {
  const c = view.conversation;
  const [draft, setDraft] = useState("");
  const [showInfo, setShowInfo] = useState(false);
  const scroller = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const lastTyping = useRef(0);
  const stick = useRef(true);
  // False until the conversation's first page is rendered and scrolled to the bottom: scroll events before that (the
  // empty pane's, or a queued one landing between the first page's render and its scroll to the bottom) must neither
  // load older pages nor unstick the view.
  const ready = useRef(false);
  const previousHeight = useRef(0);
  const firstSeq = view.messages.find((m) => m.seq > 0n)?.seq;

  useEffect(() => {
    input.current?.focus();
    stick.current = true;
    ready.current = false;
    setShowInfo(false);
  }, [c.conversationId]);

  // Keep the view at the bottom for new messages; keep the position when older ones are prepended.
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (stick.current || !ready.current) el.scrollTop = el.scrollHeight;
    else if (previousHeight.current && el.scrollHeight > previousHeight.current) el.scrollTop += el.scrollHeight - previousHeight.current;
    previousHeight.current = el.scrollHeight;
    if (!ready.current && view.loadedHistory && !view.loadingOlder) {
      stick.current = true;
      ready.current = true;
    }
  });

  const onScroll = () => {
    const el = scroller.current!;
    if (!ready.current) return;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    previousHeight.current = el.scrollHeight;
    if (el.scrollTop < 60 && view.hasOlder && !view.loadingOlder) void store.loadOlder(c.conversationId);
  };

  const send = () => {
    const text = draft.trim();
    if (!text) return;
    setDraft("");
    stick.current = true;
    lastTyping.current = 0;
    void store.sendText(c.conversationId, text);
  };

  const onInput = (value: string) => {
    setDraft(value);
    const now = Date.now();
    if (value && now - lastTyping.current > 3000) {
      lastTyping.current = now;
      store.typing(c.conversationId, true);
    } else if (!value && lastTyping.current) {
      lastTyping.current = 0;
      store.typing(c.conversationId, false);
    }
  };

  const [dragging, setDragging] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const sendFiles = (files: FileList | File[] | null | undefined) => {
    if (!files || files.length === 0) return;
    stick.current = true;
    for (const file of Array.from(files)) void store.sendMedia(c.conversationId, file);
  };

  const typingNames = [...view.typing.keys()].map((u) => store.displayName(u));
  const isGroup = c.kind === ConversationKind.GROUP;
  const title = store.conversationTitle(view);
  return (
    <section
      class={`chat ${dragging ? "dragging" : ""}`}
      aria-label={title}
      onDragOver={(e) => {
        if (!e.dataTransfer?.types.includes("Files")) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        sendFiles(e.dataTransfer?.files);
      }}
    >
      {dragging && (
        <p class="drop-hint" aria-live="polite">
          {t("dropFiles")}
        </p>
      )}
      <header class="chat-head">
        <button type="button" class="back" onClick={() => void store.open(undefined)} aria-label={t("back")}>
          ←
        </button>
        <h2>{title}</h2>
        {isGroup && <span class="muted">{c.memberCount}</span>}
        <span class="spacer" />
        {c.maxSeq > 0n && (
          <>
            <button type="button" aria-pressed={c.pinned} onClick={() => void store.setPinned(c.conversationId, !c.pinned)}>
              {c.pinned ? t("unpin") : t("pin")}
            </button>
            <button type="button" aria-pressed={c.muted} onClick={() => void store.setMuted(c.conversationId, !c.muted)}>
              {c.muted ? t("unmute") : t("mute")}
            </button>
          </>
        )}
        {isGroup && (
          <button type="button" aria-expanded={showInfo} onClick={() => setShowInfo(!showInfo)}>
            {t("groupInfo")}
          </button>
        )}
      </header>
      {showInfo && isGroup && <GroupPanel store={store} groupId={c.groupId} onClose={() => setShowInfo(false)} />}
      <div class="messages" ref={scroller} onScroll={onScroll} role="log" aria-label={t("messages")} aria-live="polite" tabIndex={0}>
        {view.hasOlder ? (
          <button type="button" class="older" disabled={view.loadingOlder} onClick={() => void store.loadOlder(c.conversationId)}>
            {t("loadOlder")}
          </button>
        ) : (
          firstSeq !== undefined && <p class="muted center">{t("noMoreHistory")}</p>
        )}
        {view.messages.map((m) => (
          <MessageRow key={m.key} store={store} view={view} item={m} />
        ))}
      </div>
      <p class="typing" aria-live="polite" data-testid="typing">
        {typingNames.length > 0 ? t("typing", { name: typingNames.join(", ") }) : ""}
      </p>
      <form
        class="composer"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <button type="button" class="attach" aria-label={t("attach")} title={t("attach")} onClick={() => fileInput.current?.click()}>
          <ClipIcon />
        </button>
        <input
          ref={fileInput}
          type="file"
          multiple
          class="visually-hidden"
          tabIndex={-1}
          aria-label={t("attachInput")}
          onChange={(e) => {
            sendFiles(e.currentTarget.files);
            e.currentTarget.value = "";
          }}
        />
        <label class="grow">
          <span class="visually-hidden">{t("typeMessage")}</span>
          <textarea
            ref={input}
            rows={1}
            name="message"
            placeholder={t("typeMessage")}
            aria-label={t("typeMessage")}
            value={draft}
            maxLength={8000}
            onInput={(e) => onInput(e.currentTarget.value)}
            onPaste={(e) => {
              const files = e.clipboardData?.files;
              if (files && files.length > 0) {
                e.preventDefault();
                sendFiles(files);
              }
            }}
            onKeyDown={(e: JSX.TargetedKeyboardEvent<HTMLTextAreaElement>) => {
              if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
                e.preventDefault();
                send();
              }
            }}
          />
        </label>
        <button type="submit" class="primary" disabled={!draft.trim()}>
          {t("send")}
        </button>
      </form>
    </section>
  );
}

function MessageRow({ store, view, item }: { store: ChatStore; view: ConversationView; item: ViewMessage }) {
  const own = item.senderId === store.me;
  const content = item.message?.content?.body;
  const system = content && !userContent.has(content.case ?? "");
  if (system) {
    return (
      <p class="system" data-seq={String(item.seq)}>
        {systemText(store, item)}
      </p>
    );
  }
  const text = item.pending?.text ?? contentText(item.message?.content);
  const readers = own && item.seq > 0n ? [...view.readBy.entries()].filter(([user, seq]) => user !== store.me && seq >= item.seq).length : 0;
  const canRevoke = own && item.seq > 0n && !item.revoked && Date.now() - item.serverTime < 115_000;
  return (
    <div class={`msg ${own ? "own" : ""} ${item.revoked ? "revoked" : ""}`} data-seq={String(item.seq)} data-testid="message">
      {!own && view.conversation.kind === ConversationKind.GROUP && <span class="sender">{store.displayName(item.senderId)}</span>}
      <div class="bubble">{item.revoked ? <em>{t("revoked")}</em> : isMedia(item) ? <MediaBody store={store} item={item} /> : <MessageText text={text} />}</div>
      <span class="meta">
        <time dateTime={new Date(item.serverTime).toISOString()}>{new Date(item.serverTime).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}</time>
        {item.pending?.status === "sending" && <span>{t("sending")}</span>}
        {item.pending?.status === "failed" && (
          <>
            <span class="error" title={item.pending.error}>
              {t("failed")}
            </span>
            <button type="button" class="link" onClick={() => store.retry(item)}>
              {t("retry")}
            </button>
            <button type="button" class="link" onClick={() => store.discard(item)}>
              {t("discard")}
            </button>
          </>
        )}
        {own && item.seq > 0n && !item.revoked && (
          <span data-testid="receipt">{readers > 0 ? (view.conversation.kind === ConversationKind.GROUP ? t("readBy", { count: readers }) : t("read")) : t("delivered")}</span>
        )}
        {canRevoke && (
          <button type="button" class="link" onClick={() => void store.revoke(item.conversationId, item.seq)}>
            {t("revoke")}
          </button>
        )}
      </span>
    </div>
  );
}

const userContent = new Set(["text", "custom", "image", "voice", "video", "file", "location"]);

/** The text of user content; media shows as a label until the client can upload and show media. */
function contentText(content: Content | undefined): string {
  const body = content?.body;
  switch (body?.case) {
    case "text":
      return body.value.text;
    case "custom":
      return t("customMessage", { type: body.value.type });
    case "image":
      return [t("imageMessage"), body.value.caption].filter(Boolean).join(" ");
    case "voice":
      return t("voiceMessage", { seconds: Math.round(body.value.durationMs / 1000) });
    case "video":
      return t("videoMessage", { seconds: Math.round(body.value.durationMs / 1000) });
    case "file":
      return t("fileMessage", { name: body.value.fileName });
    case "location":
      return t("locationMessage", { name: body.value.name || `${body.value.latitude.toFixed(4)}, ${body.value.longitude.toFixed(4)}` });
    default:
      return "";
  }
}

function systemText(store: ChatStore, item: ViewMessage): string {
  const body = item.message?.content?.body;
  const names = (ids: string[]) => ids.map((id) => store.displayName(id)).join(", ");
  switch (body?.case) {
    case "revoke":
      return t("revokedBy", { name: store.displayName(body.value.revokedBy || item.senderId) });
    case "groupCreated":
      return t("groupCreated", { name: store.displayName(body.value.creatorId), group: body.value.name });
    case "membersAdded":
      return t("membersAdded", { names: names(body.value.userIds) });
    case "membersRemoved":
      return t("membersRemoved", { names: names(body.value.userIds) });
    case "groupDismissed":
      return t("groupDismissed");
    case "ownerTransferred":
      return t("ownerTransferred", { name: store.displayName(body.value.newOwnerId) });
    case "memberRoleChanged":
      return t("roleChanged", { name: store.displayName(body.value.userId), role: roleName(body.value.role) });
    case "groupInfoChanged":
      return t("groupChanged");
    default:
      return t("systemMessage");
  }
}

function roleName(role: GroupRole): string {
  return role === GroupRole.OWNER ? t("owner") : role === GroupRole.ADMIN ? t("admin") : t("member");
}

function GroupPanel({ store, groupId, onClose }: { store: ChatStore; groupId: string; onClose: () => void }) {
  const [members, setMembers] = useState<GroupMember[]>([]);
  const [invitees, setInvitees] = useState("");
  const reload = async () => setMembers(await store.members(groupId));
  useEffect(() => {
    void reload();
  }, [groupId]);
  const myRole = members.find((m) => m.userId === store.me)?.role ?? GroupRole.MEMBER;
  return (
    <section class="panel" aria-label={t("members")} data-testid="group-panel">
      <header class="inline">
        <h3>
          {t("members")} ({members.length})
        </h3>
        <span class="spacer" />
        <button type="button" onClick={onClose}>
          {t("close")}
        </button>
      </header>
      <ul role="list" class="members">
        {members.map((m) => (
          <li key={m.userId} data-member={m.userId}>
            <span class="grow">
              {store.displayName(m.userId)} {m.userId === store.me && <span class="muted">({t("you")})</span>}
            </span>
            <span class="tag">{roleName(m.role)}</span>
            {myRole === GroupRole.OWNER && m.role !== GroupRole.OWNER && (
              <button type="button" onClick={async () => (await store.setRole(groupId, m.userId, m.role === GroupRole.ADMIN ? GroupRole.MEMBER : GroupRole.ADMIN)) && reload()}>
                {m.role === GroupRole.ADMIN ? t("makeMember") : t("makeAdmin")}
              </button>
            )}
            {myRole > m.role && (
              <button type="button" onClick={async () => (await store.kick(groupId, m.userId)) && reload()}>
                {t("remove")}
              </button>
            )}
          </li>
        ))}
      </ul>
      <form
        class="inline"
        onSubmit={async (e) => {
          e.preventDefault();
          const ids = splitIds(invitees);
          if (ids.length && (await store.invite(groupId, ids))) {
            setInvitees("");
            await reload();
          }
        }}
      >
        <label class="grow">
          <span class="visually-hidden">{t("inviteIds")}</span>
          <input name="invite" placeholder={t("inviteIds")} aria-label={t("inviteIds")} value={invitees} onInput={(e) => setInvitees(e.currentTarget.value)} />
        </label>
        <button type="submit">{t("invite")}</button>
      </form>
    </section>
  );
}

function Friends({ store, onOpenDirect }: { store: ChatStore; onOpenDirect: (userId: string) => void }) {
  const [userId, setUserId] = useState("");
  const [message, setMessage] = useState("");
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<UserProfile[]>([]);
  const [sent, setSent] = useState<string | undefined>();
  const pending = store.incoming.filter((r) => r.state === 0);
  return (
    <section class="list pad" aria-label={t("friends")}>
      <h2>{t("friendRequests")}</h2>
      {pending.length === 0 && <p class="muted">{t("noRequests")}</p>}
      <ul role="list">
        {pending.map((r) => (
          <li class="row" key={r.fromUserId} data-request={r.fromUserId}>
            <span class="grow">
              <strong>{store.displayName(r.fromUserId)}</strong> {r.message && <span class="muted">“{r.message}”</span>}
            </span>
            <button type="button" class="primary" onClick={() => void store.respondFriendRequest(r.fromUserId, true)}>
              {t("accept")}
            </button>
            <button type="button" onClick={() => void store.respondFriendRequest(r.fromUserId, false)}>
              {t("refuse")}
            </button>
          </li>
        ))}
      </ul>
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          const id = userId.trim();
          if (id && (await store.sendFriendRequest(id, message.trim()))) {
            setSent(id);
            setUserId("");
            setMessage("");
          }
        }}
      >
        <label>
          {t("addFriend")}
          <input name="friendId" value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
        </label>
        <label>
          {t("requestMessage")}
          <input name="friendMessage" value={message} onInput={(e) => setMessage(e.currentTarget.value)} maxLength={200} />
        </label>
        <button type="submit">{t("sendRequest")}</button>
        {sent && <p role="status">{t("requestSent", { name: sent })}</p>}
      </form>
      <h2>{t("friends")}</h2>
      {store.friends.length === 0 && <p class="muted">{t("noFriends")}</p>}
      <ul role="list">
        {store.friends.map((f) => (
          <li class="row" key={f.userId} data-friend={f.userId}>
            <span class="grow">{store.displayName(f.userId)}</span>
            <button type="button" onClick={() => onOpenDirect(f.userId)}>
              {t("message")}
            </button>
          </li>
        ))}
      </ul>
      <form
        class="inline"
        onSubmit={async (e) => {
          e.preventDefault();
          if (query.trim()) setResults(await store.searchUsers(query.trim()));
        }}
      >
        <label class="grow">
          <span class="visually-hidden">{t("searchUsers")}</span>
          <input name="search" placeholder={t("searchUsers")} aria-label={t("searchUsers")} value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        <button type="submit">{t("search")}</button>
      </form>
      <ul role="list">
        {results.map((u) => (
          <li class="row" key={u.userId}>
            <span class="grow">
              {u.nickname || u.userId} <span class="muted">@{u.userId}</span>
            </span>
            <button type="button" onClick={() => onOpenDirect(u.userId)}>
              {t("message")}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Groups({ store, onOpen }: { store: ChatStore; onOpen: (id: string) => void }) {
  const [name, setName] = useState("");
  const [memberIds, setMemberIds] = useState("");
  const groups = store.sortedConversations().filter((v) => v.conversation.kind === ConversationKind.GROUP);
  return (
    <section class="list pad" aria-label={t("groups")}>
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          const id = await store.createGroup(name.trim(), splitIds(memberIds));
          if (id) {
            setName("");
            setMemberIds("");
            onOpen(id);
          }
        }}
      >
        <h2>{t("createGroup")}</h2>
        <label>
          {t("groupName")}
          <input name="groupName" required maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          {t("memberIds")}
          <input name="groupMembers" required value={memberIds} onInput={(e) => setMemberIds(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary">
          {t("create")}
        </button>
      </form>
      <h2>{t("groups")}</h2>
      {groups.length === 0 && <p class="muted">{t("noGroups")}</p>}
      <ul role="list">
        {groups.map((v) => (
          <li class="row" key={v.conversation.conversationId}>
            <span class="grow">{store.conversationTitle(v)}</span>
            <span class="muted">{v.conversation.memberCount}</span>
            <button type="button" onClick={() => onOpen(v.conversation.conversationId)}>
              {t("message")}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Directory({ store, onOpenDirect }: { store: ChatStore; onOpenDirect: (userId: string) => void }) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  if (store.directoryError) return <p class="muted pad">{store.directoryError === "unsupported" ? t("directoryUnavailable") : t("errorPrefix", { message: store.directoryError })}</p>;
  if (store.departments.length === 0) return <p class="muted pad">{t("directoryEmpty")}</p>;
  const children = (parentId: string) => store.departments.filter((d) => d.parentId === parentId);
  const ids = new Set(store.departments.map((d) => d.departmentId));
  const roots = store.departments.filter((d) => !d.parentId || !ids.has(d.parentId));
  const toggle = (id: string) => {
    const next = new Set(open);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setOpen(next);
  };
  const renderDepartment = (departmentId: string, name: string): JSX.Element => {
    const expanded = open.has(departmentId);
    return (
      <li key={departmentId}>
        <button type="button" class="tree" aria-expanded={expanded} onClick={() => toggle(departmentId)}>
          {expanded ? "▾" : "▸"} {name}
        </button>
        {expanded && (
          <ul role="list">
            {children(departmentId).map((d) => renderDepartment(d.departmentId, d.name))}
            {store.departmentMembers
              .filter((m) => m.departmentId === departmentId)
              .map((m) => (
                <li class="row" key={`${departmentId}/${m.userId}`}>
                  <span class="grow">
                    {store.displayName(m.userId)} {m.position && <span class="muted">{m.position}</span>}
                  </span>
                  {m.userId !== store.me && (
                    <button type="button" onClick={() => onOpenDirect(m.userId)}>
                      {t("message")}
                    </button>
                  )}
                </li>
              ))}
          </ul>
        )}
      </li>
    );
  };
  return (
    <section class="list pad" aria-label={t("directory")}>
      <ul role="list" class="directory">
        {roots.map((d) => renderDepartment(d.departmentId, d.name))}
      </ul>
    </section>
  );
}

function preview(store: ChatStore, view: ConversationView): string {
  const m = view.conversation.lastMessage;
  if (!m) return "";
  if (m.revoked) return t("revoked");
  const body = m.content?.body;
  const prefix = view.conversation.kind === ConversationKind.GROUP && m.senderId ? `${store.displayName(m.senderId)}: ` : "";
  if (userContent.has(body?.case ?? "")) return prefix + contentText(m.content);
  return systemText(store, { key: "", conversationId: m.conversationId, seq: m.seq, senderId: m.senderId, clientMsgId: m.clientMsgId, serverTime: Number(m.serverTime), message: m, revoked: m.revoked });
}

function initials(name: string): string {
  return name.trim().slice(0, 2).toUpperCase() || "?";
}

function splitIds(text: string): string[] {
  return text
    .split(/[\s,，]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}
