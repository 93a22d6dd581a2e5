// The development-only sign-in of the web chat (Parley:DevSignIn) and the web client serving, against the real server.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { ParleyClient, type WebSocketConstructor } from "../src/index.js";
import { TestServer } from "./server.js";

const servers: TestServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.dispose();
});

describe("development sign-in", () => {
  it("is off by default: reports disabled and refuses to issue tokens", async () => {
    const server = await TestServer.start();
    servers.push(server);
    const status = await fetch(`${server.httpUrl}/api/v1/dev/sign-in`);
    expect(await status.json()).toEqual({ enabled: false });
    const post = await fetch(`${server.httpUrl}/api/v1/dev/sign-in`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ userId: "mallory", deviceId: "d1" }) });
    expect(post.status).toBe(404);
    // Unknown API addresses stay 404 for non-page requests even with the chat mounted at /.
    const api = await fetch(`${server.httpUrl}/api/v1/nothing-here`, { headers: { accept: "application/json" } });
    expect(api.status).toBe(404);
    await server.stop();
  }, 120_000);

  it("when enabled (Development), creates the user on first sign-in and the token opens a session", async () => {
    const server = await TestServer.start({ env: { Parley__DevSignIn__Enabled: "true" } });
    servers.push(server);
    const signIn = async (body: unknown) =>
      fetch(`${server.httpUrl}/api/v1/dev/sign-in`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await signIn({ userId: "bad id with spaces", deviceId: "d1" })).status).toBe(400);
    expect((await signIn({ userId: "erin", deviceId: "" })).status).toBe(400);
    const response = await signIn({ userId: "erin", deviceId: "web-1", nickname: "Erin" });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    const client = new ParleyClient({ url: server.wsUrl, token, deviceId: "web-1", webSocket: WebSocket as unknown as WebSocketConstructor });
    await client.connect();
    expect(client.userId).toBe("erin");
    const users = await client.getUsers(["erin"]);
    expect(users.users[0]?.nickname).toBe("Erin");
    await client.close();
    // A second sign-in of the same id works (the user exists now).
    expect((await signIn({ userId: "erin", deviceId: "web-2" })).status).toBe(200);
    // A user the operator disabled gets no token.
    expect((await server.admin("POST", "/admin/v1/users/erin/disable")).ok).toBe(true);
    expect((await signIn({ userId: "erin", deviceId: "web-3" })).status).toBe(403);
    await server.stop();
  }, 120_000);

  it("is refused at start in the Production environment", async () => {
    const error = await TestServer.start({
      env: { Parley__DevSignIn__Enabled: "true", ASPNETCORE_ENVIRONMENT: "Production", DOTNET_ENVIRONMENT: "Production" },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/DevSignIn/);
  }, 120_000);
});

describe("web client serving", () => {
  it("answers the pages of a client that was not built with how to build it; the server still works", async () => {
    const root = mkdtempSync(join(tmpdir(), "parley-spa-"));
    writeFileSync(join(root, "spas.json"), JSON.stringify([{ name: "chat", mountPath: "/", source: "web/chat" }]));
    const server = await TestServer.start({ env: { Parley__Web__Root: root } });
    servers.push(server);
    const page = await fetch(`${server.httpUrl}/some/page`, { headers: { accept: "text/html" } });
    expect(page.status).toBe(503);
    const html = await page.text();
    expect(html).toContain("web client is not built");
    expect(html).toContain("npm ci &amp;&amp; npm run build");
    const asset = await fetch(`${server.httpUrl}/assets/missing.js`);
    expect(asset.status).toBe(404);
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
    await server.stop();
  }, 120_000);
});
