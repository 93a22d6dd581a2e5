import { useEffect, useState } from "preact/hooks";
import { api, errorText, formatTime, type GroupDetail, type GroupSummary } from "../api";
import { Notice, Section, type PageProps } from "./common";

export function Groups({ canWrite }: PageProps) {
  const [query, setQuery] = useState("");
  const [groups, setGroups] = useState<GroupSummary[]>([]);
  const [selected, setSelected] = useState<GroupDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [invite, setInvite] = useState("");

  const search = async () => {
    setError(null);
    try {
      const params = new URLSearchParams({ limit: "50" });
      if (query.trim()) params.set("q", query.trim());
      setGroups((await api<{ items: GroupSummary[] }>(`/groups?${params}`)).items);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const open = async (groupId: string) => {
    try {
      setSelected(await api<GroupDetail>(`/groups/${encodeURIComponent(groupId)}`));
    } catch (e) {
      setError(errorText(e));
    }
  };
  const act = async (path: string, method: string, json: unknown, message: string) => {
    if (!selected) return;
    setError(null);
    try {
      await api(path, { method, json });
      setInfo(message);
      await open(selected.groupId);
      await search();
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => void search(), []);

  const g = selected ? encodeURIComponent(selected.groupId) : "";
  return (
    <>
      <h1>Groups</h1>
      <Notice error={error} info={info} />
      <Section title="Find groups">
        <form class="row" onSubmit={(e) => { e.preventDefault(); void search(); }}>
          <label for="group-search">Search by id or name</label>
          <input id="group-search" type="search" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
          <button type="submit">Search</button>
        </form>
        <table>
          <thead><tr><th scope="col">Group</th><th scope="col">Owner</th><th scope="col">Members</th><th scope="col">Created</th><th scope="col">State</th></tr></thead>
          <tbody>
            {groups.map((row) => (
              <tr key={row.groupId}>
                <td><button type="button" class="link" onClick={() => open(row.groupId)}>{row.name || row.groupId}</button></td>
                <td>{row.ownerId}</td>
                <td>{row.memberCount}</td>
                <td>{formatTime(row.createdAt)}</td>
                <td>{row.dismissed ? "Dismissed" : "Active"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {groups.length === 0 && <p class="muted">No groups match.</p>}
      </Section>
      {selected && (
        <Section title={`Group ${selected.name || selected.groupId}`}>
          <p>{selected.groupId} · owner {selected.ownerId} · {selected.memberCount} members · {selected.dismissed ? "dismissed" : "active"}</p>
          {canWrite && !selected.dismissed && (
            <form class="row" onSubmit={(e) => { e.preventDefault(); void act(`/groups/${g}/members`, "POST", { userIds: invite.split(/[\s,]+/).filter(Boolean) }, "Members added."); setInvite(""); }}>
              <label for="invite">Add members (user ids)</label>
              <input id="invite" value={invite} onInput={(e) => setInvite((e.target as HTMLInputElement).value)} />
              <button type="submit">Add</button>
              <button type="button" class="danger" onClick={() => confirm(`Dismiss ${selected.groupId}?`) && act(`/groups/${g}/dismiss`, "POST", {}, "Group dismissed.")}>Dismiss group</button>
            </form>
          )}
          <table data-testid="group-members">
            <thead><tr><th scope="col">Member</th><th scope="col">Role</th><th scope="col">Joined</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {selected.members.map((m) => (
                <tr key={m.userId} data-member={m.userId}>
                  <td>{m.userId}{m.nickname && ` (${m.nickname})`}</td>
                  <td>
                    {canWrite && m.role !== "owner" ? (
                      <select aria-label={`Role of ${m.userId}`} value={m.role} onChange={(e) => act(`/groups/${g}/members/${encodeURIComponent(m.userId)}/role`, "PUT", { role: (e.target as HTMLSelectElement).value }, `Role of ${m.userId} changed.`)}>
                        <option value="member">member</option>
                        <option value="admin">admin</option>
                        <option value="owner">owner (transfer)</option>
                      </select>
                    ) : m.role}
                  </td>
                  <td>{formatTime(m.joinedAt)}</td>
                  <td>{canWrite && m.role !== "owner" && <button type="button" class="link" aria-label={`Remove ${m.userId}`} onClick={() => act(`/groups/${g}/members/${encodeURIComponent(m.userId)}`, "DELETE", undefined, `${m.userId} removed.`)}>Remove</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
    </>
  );
}
