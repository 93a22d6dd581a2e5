// Presigned direct-to-S3 uploads (Parley__Blobs__S3__PresignedUploads) with the TypeScript SDK against the real s3rver
// that CI starts (.ci/setup.d/30-s3rver.sh; PARLEY_TEST_S3_* variables). Skipped without it, except under CI.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import type { MediaProgress } from "../src/index.js";
import { TestServer } from "./server.js";
import { connectUser, until } from "./helpers.js";

const MiB = 1024 * 1024;
const endpoint = process.env.PARLEY_TEST_S3_ENDPOINT;
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
let server: TestServer | undefined;

describe.skipIf(!endpoint && process.env.CI !== "true")("media uploads directly to S3 (presigned part URLs)", () => {
  beforeAll(async () => {
    if (!endpoint) throw new Error("PARLEY_TEST_S3_ENDPOINT is not set: run .ci/setup.d/30-s3rver.sh (CI=true requires it).");
    server = await TestServer.start({
      env: {
        Parley__Media__Store: "S3",
        Parley__Blobs__S3__ServiceUrl: endpoint,
        Parley__Blobs__S3__Bucket: process.env.PARLEY_TEST_S3_BUCKET ?? "parley-test",
        Parley__Blobs__S3__AccessKey: process.env.PARLEY_TEST_S3_ACCESS_KEY ?? "S3RVER",
        Parley__Blobs__S3__SecretKey: process.env.PARLEY_TEST_S3_SECRET_KEY ?? "S3RVER",
        Parley__Blobs__S3__KeyPrefix: `js-${randomBytes(4).toString("hex")}/`,
        Parley__Blobs__S3__PresignedUploads: "true",
      },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.dispose();
  });

  it("sends every part to the store, not to Parley, confirms them, and the receiver downloads the same bytes", async () => {
    const alice = await connectUser(server!, "s3-alice");
    const bob = await connectUser(server!, "s3-bob");
    // Count the PUTs by host: every part must go to the S3 endpoint.
    const puts: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      if ((init?.method ?? "GET") === "PUT") puts.push(new URL(input instanceof Request ? input.url : String(input)).host);
      return realFetch(input, init);
    };
    try {
      const file = new Uint8Array(randomBytes(11 * MiB + 333));
      const progress: MediaProgress[] = [];
      const ack = await alice.client.sendFile({ userId: "s3-bob" }, file, { fileName: "direct.bin", partSize: 5 * MiB, onProgress: (p) => progress.push(p) });
      expect(puts).toEqual([new URL(endpoint!).host, new URL(endpoint!).host, new URL(endpoint!).host]);
      expect(progress.at(-1)).toEqual({ bytesTransferred: file.length, totalBytes: file.length });
      await until(() => bob.received.some((m) => m.seq === ack.seq && m.conversationId === ack.conversationId), "bob receives the file");
      const content = bob.received.find((m) => m.seq === ack.seq)!.content!.body.value as { objectId: string };
      const { object, bytes } = await bob.client.download(content.objectId);
      expect(object.size).toBe(file.length);
      expect(sha(bytes)).toBe(sha(file));
    } finally {
      globalThis.fetch = realFetch;
      await alice.client.close();
      await bob.client.close();
    }
  });
});
