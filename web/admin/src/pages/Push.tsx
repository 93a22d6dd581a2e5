import { useEffect, useState } from "preact/hooks";
import { api, errorText, formatTime, type DeadLetter, type FunnelEntry } from "../api";
import { Notice, Section, type PageProps } from "./common";

const STEPS = ["sent", "accepted", "arrived", "clicked"] as const;

export function Push({ canWrite }: PageProps) {
  const [funnel, setFunnel] = useState<FunnelEntry[] | null>(null);
  const [dead, setDead] = useState<DeadLetter[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const load = async () => {
    try {
      setFunnel(await api<FunnelEntry[]>("/push/funnel"));
      setDead(await api<DeadLetter[]>("/push/dead-letters?limit=100"));
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => void load(), []);
  const replay = async (pushId: string) => {
    try {
      await api(`/push/dead-letters/${encodeURIComponent(pushId)}/replay`, { method: "POST" });
      setInfo(`Push ${pushId} queued again.`);
      await load();
    } catch (e) {
      setError(errorText(e));
    }
  };

  const lanes = new Map<string, Map<string, number>>();
  const drops: FunnelEntry[] = [];
  for (const e of funnel ?? []) {
    const key = `${e.vendor} × ${e.category}`;
    if (!lanes.has(key)) lanes.set(key, new Map());
    if (e.reason) drops.push(e);
    else lanes.get(key)!.set(e.step, (lanes.get(key)!.get(e.step) ?? 0) + e.count);
  }
  return (
    <>
      <h1>Push delivery</h1>
      <Notice error={error} info={info} />
      <Section title="Funnel per vendor × category">
        {funnel && lanes.size === 0 && <p class="muted">No pushes recorded since the server started.</p>}
        <div class="funnels" data-testid="funnel">
          {[...lanes.entries()].map(([lane, steps]) => {
            const top = Math.max(1, ...STEPS.map((s) => steps.get(s) ?? 0), steps.get("planned") ?? 0);
            return (
              <figure key={lane} class="funnel">
                <figcaption>{lane}</figcaption>
                {STEPS.map((s) => {
                  const n = steps.get(s) ?? 0;
                  const base = steps.get("sent") ?? 0;
                  return (
                    <div class="bar-row" key={s}>
                      <span class="bar-label">{s}</span>
                      <span class="bar" style={{ width: `${(n / top) * 100}%` }} aria-hidden="true" />
                      <span class="bar-value">{n}{s !== "sent" && base > 0 ? ` (${Math.round((n / base) * 100)}%)` : ""}</span>
                    </div>
                  );
                })}
              </figure>
            );
          })}
        </div>
        {drops.length > 0 && (
          <>
            <h3>Drop reasons</h3>
            <table data-testid="drops">
              <thead><tr><th scope="col">Vendor</th><th scope="col">Category</th><th scope="col">Step</th><th scope="col">Reason</th><th scope="col">Count</th></tr></thead>
              <tbody>{drops.map((d) => <tr key={`${d.vendor}${d.category}${d.step}${d.reason}`}><td>{d.vendor}</td><td>{d.category}</td><td>{d.step}</td><td>{d.reason}</td><td>{d.count}</td></tr>)}</tbody>
            </table>
          </>
        )}
      </Section>
      <Section title="Dead letters">
        {dead.length === 0 ? <p class="muted">No dead letters.</p> : (
          <table data-testid="dead-letters">
            <thead><tr><th scope="col">Push</th><th scope="col">User / device</th><th scope="col">Vendor</th><th scope="col">Reason</th><th scope="col">Attempts</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {dead.map((d) => (
                <tr key={d.pushId}>
                  <td>{d.pushId.slice(0, 12)}</td>
                  <td>{d.userId} / {d.deviceId}</td>
                  <td>{d.vendor} · {d.category}</td>
                  <td>{d.reason}</td>
                  <td>{d.attempts}</td>
                  <td>{formatTime(d.createdAt)}</td>
                  <td>{canWrite && <button type="button" onClick={() => replay(d.pushId)}>Replay</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
