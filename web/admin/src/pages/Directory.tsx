import { useRef, useState } from "preact/hooks";
import { api, errorText, type ImportStatus } from "../api";
import { Notice, Section, type PageProps } from "./common";

export function Directory({ canWrite }: PageProps) {
  const [job, setJob] = useState<ImportStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [atomic, setAtomic] = useState(false);
  const file = useRef<HTMLInputElement>(null);

  const poll = async (id: string) => {
    for (;;) {
      const status = await api<ImportStatus>(`/directory/imports/${id}`);
      setJob(status);
      if (status.state === "completed" || status.state === "failed") return;
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const upload = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const chosen = file.current?.files?.[0];
    if (!chosen) return;
    const format = chosen.name.toLowerCase().endsWith(".json") ? "json" : "csv";
    try {
      const started = await api<ImportStatus>(`/directory/imports?format=${format}&atomic=${atomic}`, {
        method: "POST",
        body: await chosen.arrayBuffer(),
        contentType: format === "json" ? "application/json" : "text/csv",
      });
      setJob(started);
      await poll(started.id);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const percent = job && job.total > 0 ? Math.round((job.processed / job.total) * 100) : job?.state === "completed" ? 100 : 0;
  return (
    <>
      <h1>Organisation directory</h1>
      <Notice error={error} />
      {canWrite ? (
        <Section title="Import departments and members">
          <p class="muted">CSV or JSON as described in docs/directory.md; each line is validated and applied in batches.</p>
          <form class="row" onSubmit={upload}>
            <label for="import-file">Directory file</label>
            <input id="import-file" type="file" accept=".csv,.json,text/csv,application/json" ref={file} required />
            <label class="check"><input type="checkbox" checked={atomic} onChange={(e) => setAtomic((e.target as HTMLInputElement).checked)} /> All or nothing</label>
            <button type="submit">Import</button>
          </form>
        </Section>
      ) : <p>Imports need the directory scope.</p>}
      {job && (
        <Section title="Import progress">
          <progress aria-label="Import progress" max={100} value={percent} data-testid="import-progress" />
          <p data-testid="import-state" role="status">
            {job.state}: {job.processed} of {job.total} lines processed, {job.applied} applied, {job.errorCount} errors
          </p>
          {job.errors.length > 0 && (
            <table data-testid="import-errors">
              <thead><tr><th scope="col">Line</th><th scope="col">Error</th></tr></thead>
              <tbody>{job.errors.map((e) => <tr key={`${e.line}-${e.message}`}><td>{e.line}</td><td>{e.message}</td></tr>)}</tbody>
            </table>
          )}
        </Section>
      )}
    </>
  );
}
