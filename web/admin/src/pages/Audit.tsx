import { useEffect, useState } from "preact/hooks";
import { api, errorText, formatTime, type AuditEntry } from "../api";
import { Notice, Section, type PageProps } from "./common";

export function Audit(_: PageProps) {
  const [actor, setActor] = useState("");
  const [action, setAction] = useState("");
  const [target, setTarget] = useState("");
  const [items, setItems] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async (before?: number) => {
    setError(null);
    try {
      const params = new URLSearchParams({ limit: "50" });
      if (actor.trim()) params.set("actor", actor.trim());
      if (action.trim()) params.set("action", action.trim());
      if (target.trim()) params.set("target", target.trim());
      if (before) params.set("before", String(before));
      const page = await api<{ items: AuditEntry[]; next: number | null }>(`/audit?${params}`);
      setItems(before ? [...items, ...page.items] : page.items);
      setNext(page.next);
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => void load(), []);
  const field = (id: string, label: string, value: string, set: (v: string) => void) => (
    <>
      <label for={id}>{label}</label>
      <input id={id} value={value} onInput={(e) => set((e.target as HTMLInputElement).value)} />
    </>
  );
  return (
    <>
      <h1>Audit log</h1>
      <Notice error={error} />
      <Section title="Filter">
        <form class="row" onSubmit={(e) => { e.preventDefault(); void load(); }}>
          {field("audit-actor", "Actor", actor, setActor)}
          {field("audit-action", "Action", action, setAction)}
          {field("audit-target", "Target", target, setTarget)}
          <button type="submit">Apply</button>
        </form>
      </Section>
      <table data-testid="audit">
        <thead><tr><th scope="col">When (UTC)</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">From</th><th scope="col">Result</th></tr></thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.id}>
              <td>{formatTime(e.at)}</td>
              <td title={e.actor}>{e.actorName}</td>
              <td>{e.action}</td>
              <td>{e.target}</td>
              <td>{e.remote}</td>
              <td class={e.status >= 400 ? "bad" : ""}>{e.status}{e.detail && ` · ${e.detail}`}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {items.length === 0 && <p class="muted">No entries.</p>}
      {next && <button type="button" onClick={() => load(next)}>Older entries</button>}
    </>
  );
}
