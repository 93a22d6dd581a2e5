import { useEffect, useState } from "preact/hooks";
import { api, can, errorText, formatTime, type AuditEntry, type PushDevice, type User } from "../api";
import { Notice, Section, type PageProps } from "./common";

const VENDORS = ["apns", "fcm", "huawei", "honor", "xiaomi", "oppo", "vivo", "webpush"] as const;

/** The device registry: find a user, see their push devices, remove a registration or sign the device out. */
export function Devices({ session, canWrite }: PageProps) {
  const [query, setQuery] = useState(() => new URLSearchParams(location.hash.split("?")[1] ?? "").get("user") ?? "");
  const [matches, setMatches] = useState<User[] | null>(null);
  const [userId, setUserId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);

  const find = async () => {
    setError(null);
    setInfo(null);
    const q = query.trim();
    if (!q) return;
    try {
      const page = await api<{ items: User[] }>(`/users?${new URLSearchParams({ q, limit: "25" })}`);
      const exact = page.items.find((u) => u.userId === q);
      setMatches(page.items);
      setUserId(exact ? exact.userId : page.items.length === 1 ? page.items[0]!.userId : null);
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => void find(), []);

  return (
    <>
      <h1>Devices</h1>
      <Notice error={error} info={info} />
      <Section title="Find a user's devices">
        <form class="row" onSubmit={(e) => { e.preventDefault(); void find(); }}>
          <label for="device-user">User id or nickname</label>
          <input id="device-user" type="search" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} required />
          <button type="submit">Find</button>
        </form>
        {matches && matches.length === 0 && <p class="muted">No users match.</p>}
        {matches && matches.length > 1 && (
          <ul class="chips" aria-label="Matching users">
            {matches.map((u) => (
              <li key={u.userId}>
                <button type="button" aria-pressed={u.userId === userId} onClick={() => setUserId(u.userId)}>
                  {u.userId}{u.nickname ? ` (${u.nickname})` : ""}
                </button>
              </li>
            ))}
          </ul>
        )}
      </Section>
      {userId && (
        <UserDevices key={userId} userId={userId} canWrite={canWrite} canAudit={can(session, "audit")}
          onInfo={(m) => { setError(null); setInfo(m); }} onError={(m) => { setInfo(null); setError(m); }} />
      )}
    </>
  );
}

function UserDevices({ userId, canWrite, canAudit, onInfo, onError }: { userId: string; canWrite: boolean; canAudit: boolean; onInfo: (m: string) => void; onError: (m: string) => void }) {
  const [devices, setDevices] = useState<PushDevice[] | null>(null);
  const [vendor, setVendor] = useState("");
  const [filter, setFilter] = useState("");
  const [audit, setAudit] = useState<AuditEntry[]>([]);
  const id = encodeURIComponent(userId);

  const load = async () => {
    try {
      setDevices((await api<{ items: PushDevice[] }>(`/users/${id}/devices`)).items);
      if (canAudit) {
        const [removed, signedOut] = await Promise.all([
          api<{ items: AuditEntry[] }>(`/audit?${new URLSearchParams({ action: "users.devices", target: `device:${userId}/`, limit: "20" })}`),
          api<{ items: AuditEntry[] }>(`/audit?${new URLSearchParams({ action: "users.logout", target: `users/${userId}/logout`, limit: "20" })}`),
        ]);
        setAudit([...removed.items, ...signedOut.items].sort((a, b) => b.id - a.id).slice(0, 20));
      }
    } catch (e) {
      onError(errorText(e));
    }
  };
  useEffect(() => void load(), [userId]);

  const act = async (run: () => Promise<unknown>, message: string) => {
    try {
      await run();
      onInfo(message);
    } catch (e) {
      onError(errorText(e));
    }
    await load();
  };

  if (!devices) return null;
  const shown = devices.filter((d) => (!vendor || d.vendor === vendor) && (!filter.trim() || d.deviceId.includes(filter.trim()) || d.platform.includes(filter.trim()) || d.appId.includes(filter.trim())));
  return (
    <Section title={`Push devices of ${userId}`}>
      <div class="row">
        <label for="device-vendor">Vendor</label>
        <select id="device-vendor" value={vendor} onChange={(e) => setVendor((e.target as HTMLSelectElement).value)}>
          <option value="">All vendors</option>
          {VENDORS.map((v) => <option key={v} value={v}>{v}</option>)}
        </select>
        <label for="device-filter">Device, platform or app</label>
        <input id="device-filter" type="search" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
      </div>
      <table data-testid="devices">
        <thead>
          <tr>
            <th scope="col">Device</th><th scope="col">Vendor</th><th scope="col">Platform</th><th scope="col">App</th>
            <th scope="col">Notifications</th><th scope="col">Last seen</th><th scope="col">Registered</th><th scope="col">Token</th>
            <th scope="col"><span class="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {shown.map((d) => (
            <tr key={d.deviceId} data-device={d.deviceId}>
              <td>{d.deviceId}</td>
              <td>{d.vendor}{d.environment === "sandbox" ? " (sandbox)" : ""}</td>
              <td>{d.platform || "—"}</td>
              <td>{d.appId || "—"}</td>
              <td>{d.notificationsEnabled ? "On" : <span class="bad">Off</span>}</td>
              <td>{formatTime(d.lastSeenAt)}</td>
              <td>{formatTime(d.registeredAt)}</td>
              <td>{d.tokenInvalidAt ? <span class="bad">Invalid since {formatTime(d.tokenInvalidAt)}</span> : "Valid"}</td>
              <td>
                {canWrite && (
                  <>
                    <button type="button" class="link" aria-label={`Remove push registration of ${d.deviceId}`}
                      onClick={() => act(() => api(`/users/${id}/devices/${encodeURIComponent(d.deviceId)}`, { method: "DELETE" }), `Push registration of ${d.deviceId} removed: no offline pushes until its app registers again.`)}>
                      Remove
                    </button>
                    <button type="button" class="link danger" aria-label={`Sign out ${d.deviceId}`}
                      onClick={() => act(async () => {
                        await api(`/users/${id}/logout`, { method: "POST", json: { deviceId: d.deviceId } });
                        await api(`/users/${id}/devices/${encodeURIComponent(d.deviceId)}`, { method: "DELETE" });
                      }, `${d.deviceId} signed out: its tokens are revoked, its connections closed and its push registration removed.`)}>
                      Sign out
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {devices.length === 0 ? <p class="muted">No push devices registered.</p> : shown.length === 0 && <p class="muted">No devices match the filter.</p>}
      <p class="muted">Remove stops offline pushes to the device until its app registers again; Sign out also revokes the device's tokens and closes its connections, so it cannot.</p>
      {canAudit && (
        <>
          <h3>Recent device actions</h3>
          <table data-testid="device-audit">
            <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Status</th></tr></thead>
            <tbody>
              {audit.map((a) => (
                <tr key={a.id}>
                  <td>{formatTime(a.at)}</td>
                  <td>{a.actorName || a.actor}</td>
                  <td>{a.action}</td>
                  <td>{a.target}</td>
                  <td>{a.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {audit.length === 0 && <p class="muted">No device actions recorded.</p>}
        </>
      )}
    </Section>
  );
}
