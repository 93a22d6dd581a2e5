import type { ComponentChildren } from "preact";
import type { Session } from "../api";

export interface PageProps {
  session: Session;
  /** The token holds the section's own scope (not only read). */
  canWrite: boolean;
}

export function Notice({ error, info }: { error?: string | null; info?: string | null }) {
  return (
    <>
      {error && <p role="alert" class="error">{error}</p>}
      {info && <p role="status" class="info">{info}</p>}
    </>
  );
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section class="card">
      <h2>{title}</h2>
      {children}
    </section>
  );
}
