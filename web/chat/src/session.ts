import type { Credentials } from "./store";

const KEY = "parley.session";

/** The signed-in user's credentials, kept in this browser until sign-out. */
export function loadCredentials(): Credentials | undefined {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) ?? "null") as Credentials | null;
    return value?.userId && value.deviceId && value.token ? value : undefined;
  } catch {
    return undefined;
  }
}

export function saveCredentials(credentials: Credentials | undefined): void {
  if (credentials) localStorage.setItem(KEY, JSON.stringify(credentials));
  else localStorage.removeItem(KEY);
}

/** A stable id for this browser profile (one device per browser). */
export function browserDeviceId(): string {
  let id = localStorage.getItem("parley.device");
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(6));
    id = `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
    localStorage.setItem("parley.device", id);
  }
  return id;
}

export async function devSignInEnabled(): Promise<boolean> {
  try {
    const response = await fetch("/api/v1/dev/sign-in");
    return response.ok && ((await response.json()) as { enabled: boolean }).enabled;
  } catch {
    return false;
  }
}

export async function devSignIn(userId: string, nickname: string, deviceId: string): Promise<Credentials> {
  const response = await fetch("/api/v1/dev/sign-in", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId, nickname: nickname || undefined, deviceId }),
  });
  const body = (await response.json().catch(() => ({}))) as { token?: string; error?: { message: string } };
  if (!response.ok || !body.token) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
  return { userId, deviceId, token: body.token };
}
