// Edits, reactions, replies/threads and full-text search (issue 18) with the TypeScript SDK against the real server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ErrorCode, MemoryClientState, ParleyClient, ParleyError, SEARCH_MATCH_END, SEARCH_MATCH_START, type Message, type MessageEditedEvent, type ReactionEvent, type WebSocketConstructor } from "../src/index.js";
import { TestServer } from "./server.js";
import { connectUser, textOf, until } from "./helpers.js";

let server: TestServer;

beforeAll(async () => {
  server = await TestServer.start();
}, 120_000);

afterAll(async () => {
  await server?.dispose();
});

async function refused(promise: Promise<unknown>): Promise<ErrorCode> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ParleyError);
    return (error as ParleyError).code;
  }
  throw new Error("expected the server to refuse");
}

describe("message changes and search through the TypeScript SDK", () => {
  it("edits live and in history, keeps revisions, dedups a retried edit and refuses others' edits", async () => {
    const alice = await connectUser(server, "edit-alice");
    const bob = await connectUser(server, "edit-bob");
    const edits: MessageEditedEvent[] = [];
    bob.client.on("messageEdited", (e) => edits.push(e));
    try {
      const sent = await alice.client.sendText({ userId: "edit-bob" }, "helo world");
      await until(() => bob.received.some((m) => m.seq === sent.seq), "bob receives the message");

      const result = await alice.client.edit(sent.conversationId, sent.seq, "hello world", "edit-1");
      expect(result.editCount).toBe(1);
      expect(result.duplicate).toBe(false);
      await until(() => edits.length === 1, "bob gets the edit live");
      expect(edits[0]!.seq).toBe(sent.seq);
      expect(edits[0]!.editedBy).toBe("edit-alice");
      expect(edits[0]!.content?.body.case === "text" && edits[0]!.content.body.value.text).toBe("hello world");

      // A retried edit (same id) answers the first result and stores nothing.
      const retry = await alice.client.edit(sent.conversationId, sent.seq, "hello world", "edit-1");
      expect(retry.duplicate).toBe(true);
      expect(retry.editCount).toBe(1);

      const history = await bob.client.getHistory(sent.conversationId);
      const stored = history.messages.find((m) => m.seq === sent.seq)!;
      expect(textOf(stored)).toBe("hello world");
      expect(stored.editCount).toBe(1);
      expect(stored.editedTime).toBeGreaterThan(0n);

      const revisions = await bob.client.getRevisions(sent.conversationId, sent.seq);
      expect(revisions.revisions.map((r) => [r.revision, r.content?.body.case === "text" ? r.content.body.value.text : undefined])).toEqual([
        [0, "helo world"],
        [1, "hello world"],
      ]);

      expect(await refused(bob.client.edit(sent.conversationId, sent.seq, "not mine"))).toBe(ErrorCode.FORBIDDEN);
      const custom = await alice.client.sendCustom({ userId: "edit-bob" }, "card", "{}");
      expect(await refused(alice.client.edit(custom.conversationId, custom.seq, "x"))).toBe(ErrorCode.BAD_REQUEST);
    } finally {
      await alice.client.close();
      await bob.client.close();
    }
  });

  it("reacts idempotently with counts and reacted-by-me, live to the other member, and refuses bad emoji", async () => {
    const alice = await connectUser(server, "react-alice");
    const bob = await connectUser(server, "react-bob");
    // Bob's phone (another platform, so it does not displace his desktop session).
    const bobPhone = { client: new ParleyClient({ url: server.wsUrl, token: await server.issueToken("react-bob", "react-bob-phone", "android"), deviceId: "react-bob-phone", webSocket: WebSocket as unknown as WebSocketConstructor }) };
    await bobPhone.client.connect();
    const seenByAlice: { reaction: ReactionEvent; mine: boolean }[] = [];
    const seenByBobsPhone: { reaction: ReactionEvent; mine: boolean }[] = [];
    alice.client.on("reactionChanged", (e) => seenByAlice.push(e));
    bobPhone.client.on("reactionChanged", (e) => seenByBobsPhone.push(e));
    try {
      const sent = await alice.client.sendText({ userId: "react-bob" }, "lunch?");
      const added = await bob.client.react(sent.conversationId, sent.seq, "👍");
      expect(added.count).toBe(1);
      expect(added.version).toBeGreaterThan(0n);
      // Adding again changes nothing.
      const again = await bob.client.react(sent.conversationId, sent.seq, "👍");
      expect(again.count).toBe(1);
      expect(again.version).toBe(0n);
      await until(() => seenByAlice.length === 1, "alice sees bob's reaction live");
      expect(seenByAlice[0]!.reaction).toMatchObject({ seq: sent.seq, emoji: "👍", userId: "react-bob", added: true, count: 1 });
      expect(seenByAlice[0]!.mine).toBe(false);
      await until(() => seenByBobsPhone.length === 1, "bob's other device gets his reaction");
      expect(seenByBobsPhone[0]!.mine).toBe(true);

      await alice.client.react(sent.conversationId, sent.seq, "🎉");
      const forBob = (await bob.client.getHistory(sent.conversationId)).messages.find((m) => m.seq === sent.seq)!;
      expect(forBob.reactions.map((r) => [r.emoji, r.count, r.reactedByMe])).toEqual([["👍", 1, true], ["🎉", 1, false]]);
      const forAlice = (await alice.client.getHistory(sent.conversationId)).messages.find((m) => m.seq === sent.seq)!;
      expect(forAlice.reactions.map((r) => [r.emoji, r.count, r.reactedByMe])).toEqual([["👍", 1, false], ["🎉", 1, true]]);

      const removed = await bob.client.react(sent.conversationId, sent.seq, "👍", true);
      expect(removed.count).toBe(0);
      await until(() => seenByAlice.some((e) => !e.reaction.added && e.reaction.emoji === "👍"), "alice sees the removal");

      expect(await refused(bob.client.react(sent.conversationId, sent.seq, "lol"))).toBe(ErrorCode.BAD_REQUEST);
      expect(await refused(bob.client.react(sent.conversationId, 999n, "👍"))).toBe(ErrorCode.NOT_FOUND);
      const outsider = await connectUser(server, "react-mallory");
      try {
        expect([ErrorCode.NOT_MEMBER, ErrorCode.NOT_FOUND]).toContain(await refused(outsider.client.react(sent.conversationId, sent.seq, "👍")));
      } finally {
        await outsider.client.close();
      }
    } finally {
      await alice.client.close();
      await bob.client.close();
      await bobPhone.client.close();
    }
  });

  it("replies, pages a thread and counts replies on the root", async () => {
    const alice = await connectUser(server, "thread-alice");
    const bob = await connectUser(server, "thread-bob");
    try {
      const root = await alice.client.sendText({ userId: "thread-bob" }, "which day works?");
      const other = await alice.client.sendText({ conversationId: root.conversationId }, "unrelated");
      for (const day of ["monday", "tuesday", "wednesday"]) {
        await bob.client.send({ kind: { case: "conversationId", value: root.conversationId } }, { body: { case: "text", value: { text: day } }, replyTo: { seq: root.seq } });
      }
      const first = await alice.client.getThread(root.conversationId, root.seq, { limit: 2 });
      expect(first.messages.map(textOf)).toEqual(["monday", "tuesday"]);
      expect(first.hasMore).toBe(true);
      const rest = await alice.client.getThread(root.conversationId, root.seq, { afterSeq: first.messages.at(-1)!.seq });
      expect(rest.messages.map(textOf)).toEqual(["wednesday"]);
      expect(rest.hasMore).toBe(false);
      expect(rest.messages[0]!.content?.replyTo?.seq).toBe(root.seq);
      expect((await alice.client.getThread(root.conversationId, other.seq)).messages).toEqual([]);

      const history = (await alice.client.getHistory(root.conversationId)).messages;
      expect(history.find((m) => m.seq === root.seq)!.replyCount).toBe(3);
      expect(history.find((m) => m.seq === other.seq)!.replyCount).toBe(0);
      expect(await refused(bob.client.send({ kind: { case: "conversationId", value: root.conversationId } }, { body: { case: "text", value: { text: "x" } }, replyTo: { seq: 999n } }))).toBe(ErrorCode.NOT_FOUND);
    } finally {
      await alice.client.close();
      await bob.client.close();
    }
  });

  it("searches only what the user may see, with highlighted snippets and paging", async () => {
    const token = `zq${Date.now().toString(36)}`;
    const alice = await connectUser(server, "search-alice");
    const bob = await connectUser(server, "search-bob");
    const carol = await connectUser(server, "search-carol");
    try {
      const first = await alice.client.sendText({ userId: "search-bob" }, `meeting ${token} at noon`);
      await alice.client.sendText({ userId: "search-bob" }, `明天开会讨论 ${token}`);
      const revoked = await alice.client.sendText({ userId: "search-bob" }, `secret ${token}`);
      await alice.client.revoke(revoked.conversationId, revoked.seq);
      await alice.client.sendText({ userId: "search-carol" }, `carol only ${token}`);

      const hits = await bob.client.search(token);
      // Newest first; the revoked message and alice's chat with carol are not bob's to see.
      expect(hits.hits.map((h) => textOf(h.message!))).toEqual([`明天开会讨论 ${token}`, `meeting ${token} at noon`]);
      for (const hit of hits.hits) expect(hit.snippet).toContain(`${SEARCH_MATCH_START}${token}${SEARCH_MATCH_END}`);
      expect((await bob.client.search("开会讨论")).hits.map((h) => h.message!.seq)).toEqual([first.seq + 1n]);

      const page1 = await bob.client.search(token, { conversationId: first.conversationId, limit: 1 });
      expect(page1.hits).toHaveLength(1);
      expect(page1.nextPageToken).not.toBe("");
      const page2 = await bob.client.search(token, { conversationId: first.conversationId, pageToken: page1.nextPageToken, limit: 1 });
      expect(page2.hits.map((h) => h.message!.seq)).toEqual([first.seq]);

      expect((await carol.client.search(token)).hits.map((h) => textOf(h.message!))).toEqual([`carol only ${token}`]);
      expect(await refused(bob.client.search("ab"))).toBe(ErrorCode.BAD_REQUEST);
    } finally {
      await alice.client.close();
      await bob.client.close();
      await carol.client.close();
    }
  });

  it("raises messageUpdated for a message that changed while the client was away (resume sync)", async () => {
    const alice = await connectUser(server, "resume-alice");
    const bobState = new MemoryClientState();
    const bob = await connectUser(server, "resume-bob", { state: bobState });
    const sent = await alice.client.sendText({ userId: "resume-bob" }, "draft text");
    await until(() => bob.received.some((m) => m.seq === sent.seq), "bob receives the message");
    await bob.client.close();
    try {
      await alice.client.edit(sent.conversationId, sent.seq, "final text");
      await alice.client.react(sent.conversationId, sent.seq, "❤️");

      // Bob comes back with the same local state: the changed message comes again in the sync, as an update.
      const updated: Message[] = [];
      const again = new ParleyClient({ url: server.wsUrl, token: bob.token, deviceId: bob.deviceId, state: bobState, webSocket: WebSocket as unknown as WebSocketConstructor });
      const raisedAgain: Message[] = [];
      again.on("messageUpdated", ({ message }) => updated.push(message));
      again.on("message", ({ message }) => raisedAgain.push(message));
      await again.connect();
      try {
        await until(() => updated.length > 0, "bob's resume sync raises the update");
        const latest = updated.at(-1)!;
        expect(latest.seq).toBe(sent.seq);
        expect(textOf(latest)).toBe("final text");
        expect(latest.editCount).toBe(1);
        expect(latest.reactions.map((r) => [r.emoji, r.count])).toEqual([["❤️", 1]]);
        expect(raisedAgain.filter((m) => m.seq === sent.seq)).toEqual([]); // not a new message
      } finally {
        await again.close();
      }
    } finally {
      await alice.client.close();
    }
  });
});
