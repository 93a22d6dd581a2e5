import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, can, canRead, errorText, storeToken, storedToken, type Session } from "./api";
import { Overview } from "./pages/Overview";
import { Users } from "./pages/Users";
import { Devices } from "./pages/Devices";
import { Groups } from "./pages/Groups";
import { Directory } from "./pages/Directory";
import { Push } from "./pages/Push";
import { Audit } from "./pages/Audit";
import "./styles.css";

const PAGES = [
  { id: "overview", title: "Overview", scope: "read", view: Overview },
  { id: "users", title: "Users", scope: "users", view: Users },
  { id: "devices", title: "Devices", scope: "users", view: Devices },
  { id: "groups", title: "Groups", scope: "groups", view: Groups },
  { id: "directory", title: "Directory", scope: "directory", view: Directory },
  { id: "push", title: "Push", scope: "push", view: Push },
  { id: "audit", title: "Audit log", scope: "audit", view: Audit },
] as const;

function currentPage(): string {
  return location.hash.replace(/^#\/?/, "").split("?")[0] || "overview";
}

function SignIn({ onSession }: { onSession: (s: Session) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await api<Session>("/session", { token: token.trim() });
      storeToken(token.trim());
      onSession(session);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>Parley admin console</h1>
      <form onSubmit={submit} class="card">
        <p>Sign in with an operator token. An administrator issues one with the admin secret:</p>
        <pre tabIndex={0} aria-label="Example request">POST /admin/v1/operators {"{"}"name":"you","scopes":["read","users"]{"}"}</pre>
        <label for="token">Operator token</label>
        <input id="token" type="password" autocomplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} required />
        <button type="submit" disabled={busy || token.trim().length === 0}>Sign in</button>
        {error && <p role="alert" class="error">{error}</p>}
      </form>
    </main>
  );
}

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(storedToken() !== null);
  const [page, setPage] = useState(currentPage());

  useEffect(() => {
    const onHash = () => setPage(currentPage());
    addEventListener("hashchange", onHash);
    if (storedToken()) {
      api<Session>("/session")
        .then(setSession)
        .catch(() => storeToken(null))
        .finally(() => setChecking(false));
    }
    return () => removeEventListener("hashchange", onHash);
  }, []);

  if (checking) return <main class="signin"><p>Checking your session…</p></main>;
  if (!session) return <SignIn onSession={setSession} />;

  const visible = PAGES.filter((p) => canRead(session, p.scope));
  const active = visible.find((p) => p.id === page) ?? visible[0];
  const View = active?.view;
  const signOut = () => {
    storeToken(null);
    setSession(null);
  };
  return (
    <div class="shell">
      <header class="top">
        <span class="brand">Parley admin</span>
        <span data-testid="operator" class="who">
          {session.name} · {session.scopes.join(", ")}
        </span>
        <button type="button" class="link" onClick={signOut}>Sign out</button>
      </header>
      <nav aria-label="Sections">
        <ul>
          {visible.map((p) => (
            <li key={p.id}>
              <a href={`#/${p.id}`} aria-current={p.id === active?.id ? "page" : undefined}>{p.title}</a>
            </li>
          ))}
        </ul>
      </nav>
      <main>
        {View ? <View session={session} canWrite={can(session, active.scope)} /> : <p>This token grants no console section.</p>}
      </main>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
