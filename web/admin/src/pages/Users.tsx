import { useEffect, useState } from "preact/hooks";
import { api, errorText, formatTime, type User, type UserToken } from "../api";
import { Notice, Section, type PageProps } from "./common";

export function Users({ canWrite }: PageProps) {
  const [query, setQuery] = useState("");
  const [users, setUsers] = useState<User[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);

  const search = async (after?: string) => {
    setError(null);
    try {
      const params = new URLSearchParams({ limit: "25" });
      if (query.trim()) params.set("q", query.trim());
      if (after) params.set("after", after);
      const page = await api<{ items: User[]; next: string | null }>(`/users?${params}`);
      setUsers(after ? [...users, ...page.items] : page.items);
      setNext(page.next);
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => void search(), []);

  return (
    <>
      <h1>Users</h1>
      <Notice error={error} info={info} />
      {canWrite && <CreateUser onCreated={(id) => { setInfo(`User ${id} created.`); void search(); }} onError={setError} />}
      <Section title="Find users">
        <form class="row" onSubmit={(e) => { e.preventDefault(); void search(); }}>
          <label for="user-search">Search by id or nickname</label>
          <input id="user-search" type="search" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
          <button type="submit">Search</button>
        </form>
        <table data-testid="users">
          <thead><tr><th scope="col">User id</th><th scope="col">Nickname</th><th scope="col">Created</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.userId}>
                <td>{u.userId}</td>
                <td>{u.nickname}</td>
                <td>{formatTime(u.createdAt)}</td>
                <td>{u.disabledAt ? <span class="bad">Disabled</span> : "Active"}</td>
                <td><button type="button" class="link" onClick={() => setSelected(u.userId)} aria-label={`Manage ${u.userId}`}>Manage</button></td>
              </tr>
            ))}
          </tbody>
        </table>
        {users.length === 0 && <p class="muted">No users match.</p>}
        {next && <button type="button" onClick={() => void search(next)}>Load more</button>}
      </Section>
      {selected && <UserDetail userId={selected} canWrite={canWrite} onChanged={(msg) => { setInfo(msg); void search(); }} onError={setError} />}
    </>
  );
}

function CreateUser({ onCreated, onError }: { onCreated: (id: string) => void; onError: (e: string) => void }) {
  const [userId, setUserId] = useState("");
  const [nickname, setNickname] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await api("/users", { method: "POST", json: { userId: userId.trim(), nickname: nickname.trim() || undefined } });
      onCreated(userId.trim());
      setUserId("");
      setNickname("");
    } catch (err) {
      onError(errorText(err));
    }
  };
  return (
    <Section title="Create a user">
      <form class="row" onSubmit={submit}>
        <label for="new-user-id">User id</label>
        <input id="new-user-id" value={userId} onInput={(e) => setUserId((e.target as HTMLInputElement).value)} required maxLength={64} />
        <label for="new-user-nickname">Nickname</label>
        <input id="new-user-nickname" value={nickname} onInput={(e) => setNickname((e.target as HTMLInputElement).value)} maxLength={64} />
        <button type="submit">Create user</button>
      </form>
    </Section>
  );
}

function UserDetail({ userId, canWrite, onChanged, onError }: { userId: string; canWrite: boolean; onChanged: (m: string) => void; onError: (e: string) => void }) {
  const [user, setUser] = useState<User | null>(null);
  const [tokens, setTokens] = useState<UserToken[]>([]);
  const load = async () => {
    try {
      setUser(await api<User>(`/users/${encodeURIComponent(userId)}`));
      setTokens(await api<UserToken[]>(`/users/${encodeURIComponent(userId)}/tokens`));
    } catch (e) {
      onError(errorText(e));
    }
  };
  useEffect(() => void load(), [userId]);
  const act = async (path: string, message: string, method = "POST") => {
    try {
      await api(path, { method, json: method === "POST" ? {} : undefined });
      onChanged(message);
      await load();
    } catch (e) {
      onError(errorText(e));
    }
  };
  if (!user) return null;
  const id = encodeURIComponent(userId);
  return (
    <Section title={`User ${user.userId}`}>
      <p>{user.nickname || "(no nickname)"} · created {formatTime(user.createdAt)} · {user.disabledAt ? `disabled ${formatTime(user.disabledAt)}` : "active"}</p>
      {canWrite && (
        <div class="row">
          {user.disabledAt
            ? <button type="button" onClick={() => act(`/users/${id}/enable`, `${userId} enabled.`)}>Enable</button>
            : <button type="button" class="danger" onClick={() => act(`/users/${id}/disable`, `${userId} disabled: tokens revoked, sessions closed.`)}>Disable</button>}
          <button type="button" onClick={() => act(`/users/${id}/logout`, `${userId} logged out everywhere.`)}>Force logout</button>
        </div>
      )}
      <p><a href={`#/devices?user=${id}`}>Push devices of {user.userId}</a></p>
      <h3>Devices and tokens</h3>
      <table>
        <thead><tr><th scope="col">Device</th><th scope="col">Platform</th><th scope="col">Issued</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.tokenId}>
              <td>{t.deviceId}</td>
              <td>{t.platform}</td>
              <td>{formatTime(t.issuedAt)}</td>
              <td>{formatTime(t.expiresAt)}</td>
              <td>{t.active ? "Active" : t.revokedAt ? "Revoked" : "Expired"}</td>
              <td>{canWrite && t.active && <button type="button" class="link" onClick={() => act(`/tokens/${t.tokenId}`, `Token of ${t.deviceId} revoked.`, "DELETE")}>Revoke</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {tokens.length === 0 && <p class="muted">No tokens issued.</p>}
    </Section>
  );
}
