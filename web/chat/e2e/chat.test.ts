// End-to-end tests of the web chat in Chromium against the real server (built Parley.Server.dll with the built client).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { TestServer } from "../../../sdk/js/test/server.ts";
import { png } from "../../../sdk/js/test/png.ts";
import { connectUser } from "../../../sdk/js/test/helpers.ts";
import { chromiumPath, launch, screenshot, seriousViolations } from "./browser.ts";

const TIMEOUT = 20_000;

/** A PCM WAV of silence (8 kHz, 16-bit mono), which the server sniffs as audio/wav. */
function wav(seconds: number): Buffer {
  const data = 8000 * 2 * seconds;
  const out = Buffer.alloc(44 + data);
  out.write("RIFF", 0, "ascii");
  out.writeUInt32LE(36 + data, 4);
  out.write("WAVEfmt ", 8, "ascii");
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(8000, 24);
  out.writeUInt32LE(16000, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write("data", 36, "ascii");
  out.writeUInt32LE(data, 40);
  return out;
}
let server: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function signIn(userId: string, nickname: string, viewport = { width: 1100, height: 720 }): Promise<Page> {
  const context = await browser.newContext({ viewport, locale: "en-US" });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  await page.goto(server.httpUrl + "/");
  await page.getByLabel("User id").fill(userId);
  await page.getByLabel("Display name (optional)").fill(nickname);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByTestId("me").waitFor();
  return page;
}

const conversationButton = (page: Page, title: string) => page.locator("button.conversation", { hasText: title });
const directButton = (page: Page, a: string, b: string) => page.locator(`button.conversation[data-conversation="si_${[a, b].sort().join("_")}"]`);
/** Message rows whose bubble text is exactly `text`. */
const messages = (page: Page, text: string) =>
  page.getByTestId("message").filter({ has: page.locator(".bubble", { hasText: new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) }) });

describe("web chat in Chromium", { skip: chromiumPath() ? false : process.env.CI === "true" ? false : "Chromium is not installed (/usr/bin/chromium); .ci/setup.d/40-chromium.sh installs it" }, () => {
  let alice: Page;
  let bob: Page;

  before(async () => {
    // A 2 MiB image limit, so the media test can pass it.
    server = await TestServer.start({ env: { Parley__DevSignIn__Enabled: "true", Parley__Media__MaxImageBytes: String(2 * 1024 * 1024) } });
    browser = await launch();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await server?.dispose();
  });

  it("serves the client at / and signs two users in (sign-in page passes axe)", async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(server.httpUrl + "/");
    await page.getByRole("heading", { name: "Sign in to Parley" }).waitFor();
    await page.getByText("Development sign-in").waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    await screenshot(page, "sign-in");
    // Chinese strings; the choice is remembered per browser.
    await page.getByLabel("Language").selectOption("zh");
    await page.getByRole("heading", { name: "登录 Parley" }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-CN");
    await screenshot(page, "sign-in-zh");
    await page.getByLabel("语言").selectOption("en");
    await page.getByRole("heading", { name: "Sign in to Parley" }).waitFor();
    alice = await signIn("alice", "Alice");
    bob = await signIn("bob", "Bob");
  });

  it("chats live both ways with an unread badge and a read receipt", async () => {
    await alice.getByLabel("Start a chat with user id").fill("bob");
    await alice.getByRole("button", { name: "Start", exact: true }).click();
    await alice.getByLabel("Write a message").fill("Hello Bob!");
    await alice.keyboard.press("Enter");
    await messages(alice, "Hello Bob!").getByText("Sent").waitFor();

    // Bob's list shows the conversation with one unread message, live.
    const badge = directButton(bob, "alice", "bob").getByTestId("unread");
    await badge.waitFor();
    assert.equal(await badge.textContent(), "1");
    await screenshot(bob, "conversation-list-unread");
    await directButton(bob, "alice", "bob").click();
    await messages(bob, "Hello Bob!").waitFor();
    await badge.waitFor({ state: "detached" });
    // Alice sees that Bob read it.
    await messages(alice, "Hello Bob!").getByText("Read").waitFor();

    await bob.getByLabel("Write a message").fill("Hi Alice, got it.");
    await bob.getByRole("button", { name: "Send", exact: true }).click();
    await messages(alice, "Hi Alice, got it.").waitFor();
    assert.deepEqual(await seriousViolations(alice), []);
  });

  it("shows the typing indicator", async () => {
    await bob.getByLabel("Write a message").pressSequentially("typing something", { delay: 10 });
    await alice.getByTestId("typing").getByText("Bob is typing…").waitFor();
    await screenshot(alice, "chat-typing");
    await bob.getByLabel("Write a message").fill("");
  });

  it("revokes a message on both sides", async () => {
    await alice.getByLabel("Write a message").fill("oops, wrong chat");
    await alice.keyboard.press("Enter");
    const own = messages(alice, "oops, wrong chat");
    await own.getByText("Sent").or(own.getByText("Read")).first().waitFor();
    await messages(bob, "oops, wrong chat").waitFor();
    await own.getByRole("button", { name: "Revoke" }).click();
    await bob.getByRole("log").getByText("This message was revoked").waitFor();
    await alice.getByRole("log").getByText("This message was revoked").waitFor();
    assert.equal(await messages(bob, "oops, wrong chat").count(), 0);
  });

  it("sends an image and files (picked, dropped, pasted) with progress; the other side sees the thumbnail, downloads the same bytes and plays a voice note", async () => {
    const image = png(800, 600);
    const report = randomBytes(3 * 1024 * 1024 + 7);
    // The first part PUT is held until the progress bar was seen.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await alice.route("**/api/v1/uploads/*/parts/*", async (route) => {
      if (route.request().postDataBuffer()?.length === report.length) await held;
      await route.continue();
    });
    await alice.getByLabel("Choose images or files to send").setInputFiles([
      { name: "sunset.png", mimeType: "image/png", buffer: image },
      { name: "report.bin", mimeType: "application/octet-stream", buffer: report },
    ]);
    await alice.getByRole("progressbar", { name: "Uploading report.bin" }).waitFor();
    release();
    await alice.getByRole("progressbar", { name: "Uploading report.bin" }).waitFor({ state: "detached" });
    await alice.unroute("**/api/v1/uploads/*/parts/*");

    // Dropped and pasted files go the same way.
    const dropped = await alice.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(["dropped file body"], "dropped.txt", { type: "text/plain" }));
      return transfer;
    });
    await alice.locator("section.chat").dispatchEvent("dragover", { dataTransfer: dropped });
    await alice.getByText("Drop images or files to send them").waitFor();
    await alice.locator("section.chat").dispatchEvent("drop", { dataTransfer: dropped });
    await alice.getByLabel("Write a message").evaluate((input) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(["pasted file body"], "pasted.txt", { type: "text/plain" }));
      input.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }));
    });

    // Bob sees the thumbnail (loaded through its signed URL) and the file cards, live.
    const thumbnail = bob.getByTestId("image").locator("img");
    await thumbnail.waitFor();
    await bob.waitForFunction((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth === 320, await thumbnail.elementHandle());
    for (const name of ["report.bin", "dropped.txt", "pasted.txt"]) await bob.getByTestId("file").filter({ hasText: name }).waitFor();
    await bob.getByTestId("file").filter({ hasText: "report.bin" }).getByText("3.0 MB").waitFor();

    const save = async (page: Page, button: string) => {
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: button, exact: true }).first().click()]);
      return { name: download.suggestedFilename(), bytes: readFileSync((await download.path())!) };
    };
    const file = await save(bob, "Download report.bin");
    assert.equal(file.name, "report.bin");
    assert.ok(file.bytes.equals(report), "the downloaded file has the sent bytes");
    const picture = await save(bob, "Download image");
    assert.ok(picture.bytes.equals(image), "the downloaded image has the sent bytes");
    // The thumbnail opens the full-size picture through a fresh signed URL.
    const [tab] = await Promise.all([bob.context().waitForEvent("page"), bob.getByRole("button", { name: "Open Image in full size" }).click()]);
    await tab.waitForURL(/\/media\/[0-9a-f]{32}\?/);
    await tab.close();
    assert.equal((await save(bob, "Download dropped.txt")).bytes.toString(), "dropped file body");
    assert.equal((await save(bob, "Download pasted.txt")).bytes.toString(), "pasted file body");

    // A picture over the server's image limit is refused with a clear reason and can be retried; nothing is sent.
    await alice.getByLabel("Choose images or files to send").setInputFiles({ name: "huge.png", mimeType: "image/png", buffer: Buffer.concat([image, Buffer.alloc(3 * 1024 * 1024)]) });
    const refused = alice.getByTestId("message").filter({ hasText: "huge.png" });
    await refused.getByText("Not sent").waitFor();
    assert.equal(await refused.locator(".error").getAttribute("title"), "huge.png is larger than the server allows");
    await refused.getByRole("button", { name: "Retry" }).waitFor();
    await refused.getByRole("button", { name: "Discard" }).click();
    await refused.waitFor({ state: "detached" });

    // A voice note from alice's other device (the TypeScript SDK in Node) plays in bob's page through its signed URL.
    const node = await connectUser(server, "alice", { deviceId: "alice-node" });
    try {
      await node.client.sendVoice({ userId: "bob" }, wav(1), 1000, { fileName: "note.wav" });
    } finally {
      await node.client.close();
    }
    const audio = bob.getByTestId("voice").locator("audio");
    await audio.waitFor();
    await bob.waitForFunction((el) => (el as HTMLAudioElement).readyState >= 1 && Math.abs((el as HTMLAudioElement).duration - 1) < 0.05, await audio.elementHandle());
    assert.equal(await audio.getAttribute("aria-label"), "[Voice 1s]");

    // The sender's own timeline shows the server's thumbnail too; both pages pass axe.
    await alice.getByTestId("image").locator("img").waitFor();
    assert.equal(await alice.getByTestId("upload").count(), 0);
    assert.deepEqual(await seriousViolations(bob), []);
    assert.deepEqual(await seriousViolations(alice), []);
    // (the download clicks scrolled the timeline up)
    await bob.getByRole("log").evaluate((log) => (log.scrollTop = log.scrollHeight));
    await screenshot(bob, "chat-media");
    await directButton(bob, "alice", "bob").getByText("[Voice 1s]").waitFor();
  });

  it("sends a video (duration and poster frame read in the browser) and a picked voice note; the other side sees the poster, plays both and downloads the same bytes", async () => {
    // A 2 s WebM recorded in alice's page (MediaRecorder on a canvas): it carries no duration in its header, as
    // browser recordings do, so the chat must find it.
    // (a string, so the test runner's transpiler adds no helpers the page lacks)
    const recorded = await alice.evaluate<string>(`(async () => {
      const canvas = document.createElement("canvas");
      canvas.width = 320;
      canvas.height = 240;
      const context = canvas.getContext("2d");
      let frame = 0;
      const paint = () => {
        context.fillStyle = "hsl(" + ((frame++ * 17) % 360) + " 80% 50%)";
        context.fillRect(0, 0, 320, 240);
      };
      paint();
      const recorder = new MediaRecorder(canvas.captureStream(25), { mimeType: "video/webm;codecs=vp8" });
      const chunks = [];
      recorder.ondataavailable = (event) => chunks.push(event.data);
      const stopped = new Promise((resolve) => (recorder.onstop = resolve));
      const timer = setInterval(paint, 40);
      recorder.start(100);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      recorder.stop();
      await stopped;
      clearInterval(timer);
      const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
      let binary = "";
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(binary);
    })()`);
    const clip = Buffer.from(recorded, "base64");
    const memo = wav(3);
    await alice.getByLabel("Choose images or files to send").setInputFiles([
      { name: "clip.webm", mimeType: "video/webm", buffer: clip },
      { name: "memo.wav", mimeType: "audio/wav", buffer: memo },
    ]);

    // Bob's player shows the poster alice's browser drew (a 320x240 JPEG through its signed URL) and the duration.
    const player = bob.getByTestId("video").locator("video");
    await player.waitFor();
    const label = await player.getAttribute("aria-label");
    assert.equal(label, "[Video 2s]");
    const poster = await player.getAttribute("poster");
    assert.match(poster ?? "", /\/media\/[0-9a-f]{32}\?/);
    const posterSize = await bob.evaluate(async (url) => {
      const image = new Image();
      image.src = url;
      await image.decode();
      return [image.naturalWidth, image.naturalHeight];
    }, poster!);
    assert.deepEqual(posterSize, [320, 240]);
    await bob.waitForFunction((el) => (el as HTMLVideoElement).readyState >= 1 && (el as HTMLVideoElement).videoWidth === 320, await player.elementHandle());

    const voice = bob.getByTestId("voice").filter({ has: bob.locator('audio[aria-label="[Voice 3s]"]') });
    await voice.waitFor();
    await bob.waitForFunction((el) => (el as HTMLAudioElement).readyState >= 1 && Math.abs((el as HTMLAudioElement).duration - 3) < 0.05, await voice.locator("audio").elementHandle());

    const save = async (button: string, row = bob.getByTestId("video")) => {
      const [download] = await Promise.all([bob.waitForEvent("download"), row.getByRole("button", { name: button, exact: true }).click()]);
      return readFileSync((await download.path())!);
    };
    assert.ok((await save("Download video")).equals(clip), "the downloaded video has the recorded bytes");
    assert.ok((await save("Download voice message", voice)).equals(memo), "the downloaded voice note has the picked bytes");
    // (both were picked at once; the video waits for its poster, so either may be the newest)
    await directButton(bob, "alice", "bob").getByText(/^\[(Video 2s|Voice 3s)\]$/).waitFor();

    // Alice's own timeline shows the stored video with its poster; both pages pass axe.
    await alice.getByTestId("video").locator("video[poster]").waitFor();
    assert.equal(await alice.getByTestId("upload").count(), 0);
    assert.deepEqual(await seriousViolations(bob), []);
    assert.deepEqual(await seriousViolations(alice), []);
    await bob.getByRole("log").evaluate((log) => (log.scrollTop = log.scrollHeight));
    await screenshot(bob, "chat-video");
  });

  it("creates a group, invites a member and chats in it", async () => {
    await server.createUser("carol", "Carol");
    await alice.getByRole("button", { name: "Groups", exact: true }).click();
    await alice.getByLabel("Group name").fill("Launch team");
    await alice.getByLabel("Member user ids (comma-separated)").fill("bob");
    await alice.getByRole("button", { name: "Create", exact: true }).click();
    await alice.getByRole("heading", { name: "Launch team" }).waitFor();
    await conversationButton(bob, "Launch team").waitFor();

    await alice.getByRole("button", { name: "Group info", exact: true }).click();
    const panel = alice.getByTestId("group-panel");
    await panel.locator('[data-member="bob"]').waitFor();
    await panel.getByLabel("User ids to invite (comma-separated)").fill("carol");
    await panel.getByRole("button", { name: "Invite", exact: true }).click();
    await panel.locator('[data-member="carol"]').waitFor();
    await alice.getByRole("log").getByText("Carol joined").waitFor();
    await panel.locator('[data-member="bob"]').getByRole("button", { name: "Make admin", exact: true }).click();
    await panel.locator('[data-member="bob"]').getByText("admin", { exact: true }).waitFor();
    assert.deepEqual(await seriousViolations(alice), []);
    await screenshot(alice, "group-members");

    await conversationButton(bob, "Launch team").click();
    await bob.getByRole("log").getByText("Carol joined").waitFor();
    await bob.getByLabel("Write a message").fill("Hello team");
    await bob.keyboard.press("Enter");
    await messages(alice, "Hello team").waitFor();
  });

  it("sends and accepts a friend request", async () => {
    await bob.getByRole("button", { name: /^Friends/ }).click();
    await bob.getByLabel("Add a friend by user id").fill("alice");
    await bob.getByLabel("Message (optional)").fill("let's be friends");
    await bob.getByRole("button", { name: "Send request", exact: true }).click();
    await bob.getByText("Request sent to alice").waitFor();
    await alice.getByRole("button", { name: /^Friends/ }).click();
    const request = alice.locator('[data-request="bob"]');
    await request.waitFor();
    assert.deepEqual(await seriousViolations(alice), []);
    await screenshot(alice, "friends");
    await request.getByRole("button", { name: "Accept", exact: true }).click();
    await alice.locator('[data-friend="bob"]').waitFor();
    await bob.locator('[data-friend="alice"]').waitFor();
    await bob.getByRole("button", { name: "Chats", exact: true }).click();
    await alice.getByRole("button", { name: "Chats", exact: true }).click();
  });

  it("reconnects after a server restart and catches up without loss or duplicates", async () => {
    await directButton(alice, "alice", "bob").click();
    await directButton(bob, "alice", "bob").click();
    await server.stop();
    await alice.getByTestId("connection-banner").getByText("Reconnecting").waitFor();
    await bob.getByTestId("connection-banner").getByText("Reconnecting").waitFor();
    await screenshot(bob, "reconnecting");
    // Sent while the server is down: retried under the same id once the session is back.
    await alice.getByLabel("Write a message").fill("sent during the outage");
    await alice.keyboard.press("Enter");
    await messages(alice, "sent during the outage").getByText("Sending…").waitFor();

    await server.restart();
    await alice.getByTestId("connection-banner").waitFor({ state: "detached", timeout: 60_000 });
    await bob.getByTestId("connection-banner").waitFor({ state: "detached", timeout: 60_000 });
    await messages(bob, "sent during the outage").waitFor();
    for (let i = 1; i <= 3; i++) {
      await bob.getByLabel("Write a message").fill(`after restart ${i}`);
      await bob.keyboard.press("Enter");
    }
    await messages(alice, "after restart 3").waitFor();

    for (const page of [alice, bob]) {
      for (const text of ["Hello Bob!", "Hi Alice, got it.", "sent during the outage", "after restart 1", "after restart 2", "after restart 3"]) {
        assert.equal(await messages(page, text).count(), 1, `exactly one "${text}"`);
      }
      const seqs = await page.getByTestId("message").evaluateAll((nodes) => nodes.map((n) => Number((n as HTMLElement).dataset.seq)));
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "messages in seq order");
      assert.equal(new Set(seqs).size, seqs.length, "no duplicate seqs");
    }
    await screenshot(alice, "chat");
  });

  it("scrolls back through history page by page", async () => {
    // Frank is offline while Alice writes: his first page is the newest 30, the rest loads on request.
    await server.createUser("frank", "Frank");
    await alice.getByRole("button", { name: "Chats", exact: true }).click();
    await alice.getByLabel("Start a chat with user id").fill("frank");
    await alice.getByRole("button", { name: "Start", exact: true }).click();
    for (let i = 1; i <= 40; i++) {
      await alice.getByLabel("Write a message").fill(`history ${i}`);
      await alice.keyboard.press("Enter");
    }
    await messages(alice, "history 40").getByText(/Sent|Read/).waitFor();
    const frank = await signIn("frank", "Frank");
    await directButton(frank, "alice", "frank").click();
    await messages(frank, "history 40").waitFor();
    // The first page holds the newest 30; older ones load on request (or when scrolled to the top).
    assert.equal(await messages(frank, "history 1").count(), 0);
    // Scrolled to the top, the timeline loads the older page itself (a click on the button would scroll it there first
    // and race with that load).
    await frank.getByRole("button", { name: "Load older messages", exact: true }).waitFor();
    await frank.getByRole("log").evaluate((log) => (log.scrollTop = 0));
    await frank.getByText("Beginning of the conversation").waitFor();
    for (const i of [1, 10, 11, 40]) assert.equal(await messages(frank, `history ${i}`).count(), 1, `history ${i} once`);
    const seqs = await frank.getByTestId("message").evaluateAll((nodes) => nodes.map((n) => Number((n as HTMLElement).dataset.seq)));
    assert.deepEqual(seqs, Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("works on a phone-sized screen and browses the organisation directory", async () => {
    for (const [path, body] of [
      ["/admin/v1/directory/departments", { departmentId: "eng", name: "Engineering", order: 1 }],
      ["/admin/v1/directory/departments/eng/members", { userId: "alice", position: "CTO", order: 1 }],
    ] as const) {
      const response = await server.admin("POST", path, body);
      assert.ok(response.ok, `${path}: ${response.status} ${await response.text()}`);
    }
    const phone = await signIn("dave", "Dave", { width: 390, height: 844 });
    await phone.getByRole("button", { name: "Directory", exact: true }).click();
    await phone.getByRole("button", { name: /Engineering/ }).click();
    await phone.locator(".directory li.row", { hasText: "CTO" }).getByText("Alice").waitFor();
    assert.deepEqual(await seriousViolations(phone), []);
    await screenshot(phone, "phone-directory");
    await phone.getByRole("button", { name: "Chats", exact: true }).click();
    await phone.getByLabel("Start a chat with user id").fill("alice");
    await phone.getByRole("button", { name: "Start", exact: true }).click();
    await phone.getByLabel("Write a message").fill("Hello from my phone");
    await phone.keyboard.press("Enter");
    await directButton(alice, "alice", "dave").waitFor();
    assert.deepEqual(await seriousViolations(phone), []);
    await screenshot(phone, "phone-chat");
    await phone.getByRole("button", { name: "Back", exact: true }).click();
    await screenshot(phone, "phone-list");
  });
});
