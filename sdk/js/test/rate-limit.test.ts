// Issue 15: against a server with tight rate limits, the SDK honours RATE_LIMITED's retry-after: a burst of sends is
// acknowledged in full (each exactly once), and a rate-limited request is asked again after the wait, not failed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, ParleyError } from "../src/index.js";
import { TestServer } from "./server.js";
import { connectUser, until } from "./helpers.js";

let server: TestServer;
beforeAll(async () => {
  server = await TestServer.start({
    env: {
      Parley__RateLimits__Send__PerConnection__PerSecond: "10",
      Parley__RateLimits__Send__PerConnection__Burst: "3",
      Parley__RateLimits__Search__PerUser__PerSecond: "1",
      Parley__RateLimits__Search__PerUser__Burst: "1",
    },
  });
}, 120_000);
afterAll(async () => {
  await server?.dispose();
});

describe("rate limits", () => {
  it("a burst of 12 sends over a burst-3 limit is acknowledged in full, each message stored once", async () => {
    const alice = await connectUser(server, "rl-alice");
    const bob = await connectUser(server, "rl-bob");
    const acks = await Promise.all(Array.from({ length: 12 }, (_, i) => alice.client.sendText({ userId: "rl-bob" }, `burst ${i}`)));
    expect(new Set(acks.map((a) => a.seq)).size).toBe(12);
    expect(acks.every((a) => !a.duplicate)).toBe(true);
    await until(() => bob.received.length === 12, "bob receives all 12 messages");
    const seqs = bob.received.map((m) => Number(m.seq)).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    await alice.client.close();
    await bob.client.close();
  });

  it("a rate-limited request (search, burst 1) is retried after the server's retry-after and succeeds", async () => {
    const carol = await connectUser(server, "rl-carol");
    const results = await Promise.all([carol.client.searchUsers("rl-"), carol.client.searchUsers("rl-"), carol.client.searchUsers("rl-")]);
    expect(results).toHaveLength(3);
    await carol.client.close();
  });

  it("a wait longer than the request timeout surfaces RATE_LIMITED with retryAfterMs", async () => {
    const dave = await connectUser(server, "rl-dave", { requestTimeoutMs: 500 });
    await dave.client.searchUsers("x");
    const error = await dave.client.searchUsers("x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleyError);
    expect((error as ParleyError).code).toBe(ErrorCode.RATE_LIMITED);
    expect((error as ParleyError).retryAfterMs).toBeGreaterThan(0);
    await dave.client.close();
  });
});
