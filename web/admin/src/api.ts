// The admin API client: every call carries the operator token; errors keep the API's {error:{code,message}} shape.
const TOKEN_KEY = "parley.admin.token";

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export interface Session {
  actor: string;
  name: string;
  scopes: string[];
}

export async function api<T>(path: string, init: { method?: string; json?: unknown; body?: BodyInit; contentType?: string; token?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = init.token ?? storedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body = init.body;
  if (init.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(init.json);
  } else if (init.contentType) {
    headers["Content-Type"] = init.contentType;
  }
  const response = await fetch(`/admin/v1${path}`, { method: init.method ?? "GET", headers, body });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? `http_${response.status}`, error?.message ?? response.statusText);
  }
  return data as T;
}

export const can = (session: Session, scope: string): boolean => session.scopes.includes("*") || session.scopes.includes(scope);
export const canRead = (session: Session, scope: string): boolean => can(session, scope) || (scope !== "audit" && can(session, "read"));

export function formatTime(ms: number | null | undefined): string {
  if (!ms) return "—";
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.status} ${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

export interface User {
  userId: string;
  nickname: string;
  avatarUrl: string;
  createdAt: number;
  updatedAt: number;
  disabledAt: number | null;
}

export interface UserToken {
  tokenId: string;
  deviceId: string;
  platform: string;
  issuedAt: number;
  expiresAt: number;
  revokedAt: number | null;
  active: boolean;
}

export interface GroupSummary {
  groupId: string;
  conversationId: string;
  name: string;
  ownerId: string;
  memberCount: number;
  dismissed: boolean;
  createdAt: number;
}

export interface GroupDetail extends Omit<GroupSummary, "memberCount"> {
  memberCount: number;
  members: { userId: string; role: string; nickname: string; joinedAt: number; mutedUntil: number }[];
}

export interface ImportStatus {
  id: string;
  state: string;
  atomic: boolean;
  processed: number;
  total: number;
  applied: number;
  version: number;
  errorCount: number;
  errors: { line: number; message: string }[];
}

export interface FunnelEntry {
  vendor: string;
  category: string;
  step: string;
  reason: string;
  count: number;
}

export interface DeadLetter {
  pushId: string;
  messageId: string;
  userId: string;
  deviceId: string;
  vendor: string;
  category: string;
  state: string;
  reason: string;
  attempts: number;
  createdAt: number;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  actorName: string;
  action: string;
  target: string;
  remote: string;
  status: number;
  detail: string;
}

export interface SystemInfo {
  version: string;
  now: number;
  uptimeSeconds: number;
  ready: boolean;
  workingSetBytes: number;
  managedHeapBytes: number;
  threads: number;
  deadLetters: number;
  metrics: Record<string, { value: number; count: number | null }>;
}

export interface PushDevice {
  deviceId: string;
  platform: string;
  vendor: string;
  appId: string;
  environment: string;
  notificationsEnabled: boolean;
  locale: string;
  timeZone: string;
  registeredAt: number;
  lastSeenAt: number;
  tokenInvalidAt: number | null;
}
