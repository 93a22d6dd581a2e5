// End-to-end tests of the admin console in Chromium against the real server (the built Parley.Server.dll, which serves
// the console at /admin). Browser helpers (system Chromium, axe-core, screenshots) are the web chat's.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { TestServer } from "../../../sdk/js/test/server.ts";
import { connectUser } from "../../../sdk/js/test/helpers.ts";
import { chromiumPath, launch, screenshot, seriousViolations } from "../../chat/e2e/browser.ts";

const TIMEOUT = 20_000;
let server: TestServer;
let browser: Browser;
let page: Page;
let operatorToken = "";

async function json<T>(response: Response): Promise<T> {
  assert.ok(response.ok, `${response.status} ${await response.clone().text()}`);
  return (await response.json()) as T;
}

/** Registers a push device through the device API with the device's own token (as its app would). */
async function registerDevice(token: string, device: { vendor: string; token: string; appId: string; notificationsEnabled?: boolean }): Promise<void> {
  const registered = await fetch(`${server.httpUrl}/api/v1/device`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(device),
  });
  assert.equal(registered.status, 204, await registered.text());
}

/** alice sends with the TypeScript SDK (sdk/js) over the native protocol. */
async function aliceSends(to: string, text: string): Promise<void> {
  const alice = await connectUser(server, "alice");
  try {
    await alice.client.sendText({ userId: to }, text);
  } finally {
    await alice.client.close();
  }
}

/** Opens the Push page again until `ready` holds (the pipeline works in the background), within the timeout. */
async function reloadPushUntil(ready: () => Promise<boolean>, message: string): Promise<void> {
  await page.getByRole("link", { name: "Push" }).click();
  const deadline = Date.now() + TIMEOUT;
  while (!(await ready())) {
    assert.ok(Date.now() < deadline, message);
    await page.getByRole("link", { name: "Overview" }).click();
    await page.getByRole("link", { name: "Push" }).click();
    await page.waitForTimeout(200);
  }
}

describe("admin console in Chromium", { skip: chromiumPath() ? false : process.env.CI === "true" ? false : "Chromium is not installed (/usr/bin/chromium); .ci/setup.d/40-chromium.sh installs it" }, () => {
  before(async () => {
    // A configured push vendor (Huawei, pointed at a closed loopback port) turns the push pipeline on.
    server = await TestServer.start({
      env: {
        Parley__Push__Huawei__AppId: "e2e-app",
        Parley__Push__Huawei__ClientSecret: "e2e-secret",
        Parley__Push__Huawei__TokenUri: "http://127.0.0.1:9/oauth2/v3/token",
        // One attempt: a push the unreachable Huawei endpoint fails is dead-lettered at once (the replay test).
        Parley__Push__MaxAttempts: "1",
      },
    });
    browser = await launch();
    // The admin secret stays out of the browser: it only mints the operator token the console signs in with.
    const issued = await json<{ token: string }>(await server.admin("POST", "/admin/v1/operators", { name: "console-e2e", scopes: ["read", "users", "groups", "directory", "push", "audit"] }));
    operatorToken = issued.token;
  });

  after(async () => {
    await browser?.close();
    await server?.dispose();
  });

  it("refuses a wrong token and signs in with an operator token (pages pass axe)", async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: "en-US" });
    page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    await page.goto(server.httpUrl + "/admin/");
    await page.getByRole("heading", { name: "Parley admin console" }).waitFor();
    assert.deepEqual(await seriousViolations(page), []);

    await page.getByLabel("Operator token").fill("pop_0000000000000000.not-a-real-token-not-a-real-token-xxxxxxxx");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "401" }).waitFor();
    await screenshot(page, "admin-sign-in");

    await page.getByLabel("Operator token").fill(operatorToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("operator").filter({ hasText: "console-e2e" }).waitFor();
    await page.getByTestId("health").getByText("Ready").waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, "admin-overview");
  });

  it("creates a user, finds it and disables it", async () => {
    await page.getByRole("link", { name: "Users" }).click();
    await page.getByLabel("User id", { exact: true }).fill("carol");
    await page.getByLabel("Nickname", { exact: true }).fill("Carol Operator-Made");
    await page.getByRole("button", { name: "Create user" }).click();
    await page.getByRole("status").filter({ hasText: "User carol created." }).waitFor();
    await page.getByTestId("users").getByRole("cell", { name: "carol", exact: true }).waitFor();

    const user = await json<{ userId: string; nickname: string }>(await server.admin("GET", "/admin/v1/users/carol"));
    assert.equal(user.nickname, "Carol Operator-Made");

    await page.getByRole("button", { name: "Manage carol" }).click();
    await page.getByRole("button", { name: "Disable" }).click();
    await page.getByRole("status").filter({ hasText: "carol disabled" }).waitFor();
    await page.getByTestId("users").getByText("Disabled").waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, "admin-users");
  });

  it("imports a directory file and watches the progress bar complete, with per-line errors", async () => {
    const lines = ["department_id,parent_id,name,order"];
    for (let i = 0; i < 3000; i++) lines.push(`d${i},${i === 0 ? "" : "d0"},Department ${i},${i}`);
    lines.push("bad-1,,,1"); // no name
    lines.push("bad-2,no-such-parent,Orphan,2");
    await page.getByRole("link", { name: "Directory" }).click();
    await page.getByLabel("Directory file").setInputFiles({ name: "org.csv", mimeType: "text/csv", buffer: Buffer.from(lines.join("\n")) });
    await page.getByRole("button", { name: "Import" }).click();

    const progress = page.getByTestId("import-progress");
    await progress.waitFor();
    const seen = new Set<string>();
    const deadline = Date.now() + 60_000;
    for (;;) {
      seen.add((await progress.getAttribute("value")) ?? "");
      const state = (await page.getByTestId("import-state").textContent()) ?? "";
      if (state.startsWith("completed") || state.startsWith("failed")) break;
      assert.ok(Date.now() < deadline, `the import did not finish: ${state}`);
      await page.waitForTimeout(50);
    }
    assert.equal(await progress.getAttribute("value"), "100");
    const state = (await page.getByTestId("import-state").textContent()) ?? "";
    assert.match(state, /^completed: 3002 of 3002 lines processed, 3000 applied, 2 errors/);
    const errors = page.getByTestId("import-errors");
    assert.equal(await errors.locator("tbody tr").count(), 2);
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, "admin-directory-import");
  });

  it("shows the push funnel per vendor and category with drop reasons", async () => {
    // bob is offline with an FCM device (only Huawei is configured here): alice's message is planned for it and
    // dropped as no_adapter.
    await server.createUser("bob");
    const bobToken = await server.issueToken("bob", "bob-phone", "android");
    await registerDevice(bobToken, { vendor: "fcm", token: "fcm-registration-token-of-bob", appId: "org.example.chat" });
    await aliceSends("bob", "Are you there, Bob?");
    const drops = page.getByTestId("drops");
    await reloadPushUntil(async () => (await drops.isVisible()) && (await drops.getByText("no_adapter").isVisible()), "the funnel never showed the no_adapter drop");
    await page.getByTestId("funnel").getByText("fcm × im").waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, "admin-push-funnel");
  });

  it("administers a group: members and roles, add, remove, dismiss", async () => {
    for (const user of ["alice", "dave", "erin"]) await server.createUser(user);
    await json(await server.admin("POST", "/admin/v1/groups", { groupId: "ops-room", name: "Ops room", ownerId: "alice", memberIds: ["bob", "dave"] }));
    await page.getByRole("link", { name: "Groups" }).click();
    await page.getByLabel("Search by id or name").fill("Ops");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("button", { name: "Ops room" }).click();
    const members = page.getByTestId("group-members");
    await members.locator('tr[data-member="alice"]').getByRole("cell", { name: "owner", exact: true }).waitFor();

    await page.getByLabel("Role of bob").selectOption("admin");
    await page.getByRole("status").filter({ hasText: "Role of bob changed." }).waitFor();
    await page.getByLabel("Add members (user ids)").fill("erin");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await members.locator('tr[data-member="erin"]').waitFor();
    await page.getByRole("button", { name: "Remove dave" }).click();
    await members.locator('tr[data-member="dave"]').waitFor({ state: "detached" });
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, "admin-groups");

    const group = await json<{ members: { userId: string; role: string }[] }>(await server.admin("GET", "/admin/v1/groups/ops-room"));
    assert.deepEqual(
      group.members.map((m) => `${m.userId}:${m.role}`).sort(),
      ["alice:owner", "bob:admin", "erin:member"],
    );

    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("button", { name: "Dismiss group" }).click();
    await page.getByRole("status").filter({ hasText: "Group dismissed." }).waitFor();
    assert.equal((await json<{ dismissed: boolean }>(await server.admin("GET", "/admin/v1/groups/ops-room"))).dismissed, true);
  });

  it("lists dead letters and replays one, which the pipeline runs again", async () => {
    // dave's Huawei device cannot be reached (the token endpoint is a closed port): his push is dead-lettered.
    await server.createUser("dave");
    const daveToken = await server.issueToken("dave", "dave-phone", "android");
    await registerDevice(daveToken, { vendor: "huawei", token: "hms-token-of-dave", appId: "org.example.chat" });
    await aliceSends("dave", "Dave, are you there?");
    // Vendor attempts for Huawei IM pushes (the funnel's "sent" step).
    const attempts = async () => {
      const funnel = await json<{ vendor: string; category: string; step: string; count: number }[]>(await server.admin("GET", "/admin/v1/push/funnel"));
      return funnel.filter((e) => e.vendor === "huawei" && e.category === "im" && e.step === "sent").reduce((sum, e) => sum + e.count, 0);
    };

    const row = page.getByTestId("dead-letters").getByRole("row").filter({ hasText: "dave / dave-phone" });
    await reloadPushUntil(() => row.isVisible(), "dave's push never reached the dead letters");
    assert.equal(await attempts(), 1);
    assert.deepEqual(await seriousViolations(page), []);
    await row.getByRole("button", { name: "Replay" }).click();
    await page.getByRole("status").filter({ hasText: "queued again" }).waitFor();
    // The replayed push is attempted again (and, the vendor still unreachable, dead-lettered again).
    const again = Date.now() + TIMEOUT;
    while ((await attempts()) < 2) {
      assert.ok(Date.now() < again, "the replayed push was not run again");
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.getByRole("link", { name: "Overview" }).click();
    await page.getByRole("link", { name: "Push" }).click();
    await row.waitFor();
    await screenshot(page, "admin-push-dead-letters");
  });

  it("lists a user's push devices, filters by vendor, removes a registration and signs a device out, with audit entries", async () => {
    // bob's phone (FCM) was registered above; his tablet registers with Huawei.
    const tabletToken = await server.issueToken("bob", "bob-tablet", "android");
    await registerDevice(tabletToken, { vendor: "huawei", token: "hms-token-of-bobs-tablet", appId: "org.example.chat", notificationsEnabled: false });

    await page.getByRole("link", { name: "Devices" }).click();
    await page.getByLabel("User id or nickname").fill("bob");
    await page.getByRole("button", { name: "Find" }).click();
    const devices = page.getByTestId("devices");
    const phone = devices.locator('tr[data-device="bob-phone"]');
    const tablet = devices.locator('tr[data-device="bob-tablet"]');
    await phone.getByRole("cell", { name: "fcm", exact: true }).waitFor();
    await tablet.getByRole("cell", { name: "huawei", exact: true }).waitFor();
    await tablet.getByRole("cell", { name: "Off", exact: true }).waitFor();
    const text = (await page.locator("main").textContent()) ?? "";
    assert.ok(!text.includes("fcm-registration-token-of-bob") && !text.includes("hms-token-of-bobs-tablet"), "vendor tokens never reach the console");
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, "admin-devices");

    await page.getByLabel("Vendor").selectOption("huawei");
    await phone.waitFor({ state: "detached" });
    await tablet.waitFor();
    await page.getByLabel("Vendor").selectOption("");
    await phone.waitFor();

    await page.getByRole("button", { name: "Remove push registration of bob-phone" }).click();
    await page.getByRole("status").filter({ hasText: "Push registration of bob-phone removed" }).waitFor();
    await phone.waitFor({ state: "detached" });

    await page.getByRole("button", { name: "Sign out bob-tablet" }).click();
    await page.getByRole("status").filter({ hasText: "bob-tablet signed out" }).waitFor();
    await tablet.waitFor({ state: "detached" });
    await page.getByText("No push devices registered.").waitFor();
    const left = await json<{ items: unknown[] }>(await server.admin("GET", "/admin/v1/users/bob/devices"));
    assert.equal(left.items.length, 0);
    const tokens = await json<{ deviceId: string; active: boolean }[]>(await server.admin("GET", "/admin/v1/users/bob/tokens"));
    assert.deepEqual(tokens.filter((t) => t.deviceId === "bob-tablet").map((t) => t.active), [false], "the tablet's token is revoked");
    assert.equal((await fetch(`${server.httpUrl}/api/v1/device`, { method: "DELETE", headers: { Authorization: `Bearer ${tabletToken}` } })).status, 401);

    // The console shows who did what to bob's devices.
    const audit = page.getByTestId("device-audit");
    await audit.getByRole("row").filter({ hasText: "users.devices.remove" }).filter({ hasText: "device:bob/bob-phone" }).filter({ hasText: "console-e2e" }).waitFor();
    await audit.getByRole("row").filter({ hasText: "users.logout" }).filter({ hasText: "users/bob/logout" }).waitFor();
    await audit.getByRole("row").filter({ hasText: "device:bob/bob-tablet" }).waitFor();
    assert.deepEqual(await seriousViolations(page), []);
  });

  it("shows the audit entries of the operator's actions", async () => {
    await page.getByRole("link", { name: "Audit log" }).click();
    const audit = page.getByTestId("audit");
    await audit.getByRole("row").filter({ hasText: "users.create" }).filter({ hasText: "user:carol" }).filter({ hasText: "console-e2e" }).waitFor();
    await audit.getByRole("row").filter({ hasText: "users.disable" }).waitFor();
    await audit.getByRole("row").filter({ hasText: "POST /admin/v1/directory/imports" }).waitFor();
    await audit.getByRole("row").filter({ hasText: "/dead-letters/" }).filter({ hasText: "replay" }).first().waitFor();
    await audit.getByRole("row").filter({ hasText: "groups.members.role" }).waitFor();
    await audit.getByRole("row").filter({ hasText: "groups.dismiss" }).waitFor();
    await page.getByLabel("Action").fill("users.create");
    await page.getByRole("button", { name: "Apply" }).click();
    await audit.getByRole("row").filter({ hasText: "users.disable" }).waitFor({ state: "detached" });
    assert.deepEqual(await seriousViolations(page), []);
    await page.getByLabel("Action").fill("");
    await page.getByRole("button", { name: "Apply" }).click();
    await audit.getByRole("row").filter({ hasText: "users.disable" }).waitFor();
    await screenshot(page, "admin-audit");
  });
});
