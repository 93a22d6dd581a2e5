import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { createServer, request as httpRequest, type Server } from "node:http";
import { ErrorCode, ParleyError, Sha256, type MediaProgress } from "../src/index.js";
import { TestServer } from "./server.js";
import { connectUser, until } from "./helpers.js";
import { png } from "./png.js";

const MiB = 1024 * 1024;
let server: TestServer;

beforeAll(async () => {
  server = await TestServer.start({
    env: {
      Parley__Media__MaxImageBytes: String(4 * MiB),
      Parley__Media__QuotaBytesPerUser: String(48 * MiB),
    },
  });
}, 120_000);

afterAll(async () => {
  await server?.dispose();
});

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function expectMonotonic(progress: MediaProgress[], total: number): void {
  expect(progress.length).toBeGreaterThan(0);
  for (let i = 1; i < progress.length; i++) expect(progress[i]!.bytesTransferred).toBeGreaterThanOrEqual(progress[i - 1]!.bytesTransferred);
  expect(progress.every((p) => p.totalBytes === total)).toBe(true);
  expect(progress.at(-1)!.bytesTransferred).toBe(total);
}

describe("Sha256", () => {
  it("matches node:crypto for every padding boundary and for data fed in odd pieces", () => {
    for (const length of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000]) {
      const data = randomBytes(length);
      expect(new Sha256().update(data).hex(), `length ${length}`).toBe(sha(data));
    }
    const big = randomBytes(3 * MiB + 17);
    const hash = new Sha256();
    for (let offset = 0; offset < big.length;) {
      const take = 1 + ((offset * 7919) % 70_001);
      hash.update(big.subarray(offset, offset + take));
      offset += take;
    }
    expect(hash.hex()).toBe(sha(big));
  });
});

describe("media uploads and downloads against the real server", () => {
  it("sends an image: progress to the end, the receiver gets dimensions and a thumbnail and downloads the same bytes", async () => {
    const alice = await connectUser(server, "img-alice");
    const bob = await connectUser(server, "img-bob");
    try {
      const image = png(640, 480);
      const progress: MediaProgress[] = [];
      const ack = await alice.client.sendImage({ userId: "img-bob" }, new Blob([image], { type: "image/png" }), {
        fileName: "gradient.png",
        caption: "a gradient",
        onProgress: (p) => progress.push(p),
      });
      expectMonotonic(progress, image.length);
      await until(() => bob.received.some((m) => m.seq === ack.seq && m.conversationId === ack.conversationId), "bob receives the image");
      const message = bob.received.find((m) => m.seq === ack.seq)!;
      expect(message.content?.body.case).toBe("image");
      const content = message.content!.body.value as { objectId: string; width: number; height: number; thumbnailObjectId: string; caption: string; contentType: string };
      expect([content.width, content.height, content.caption, content.contentType]).toEqual([640, 480, "a gradient", "image/png"]);
      expect(content.thumbnailObjectId).not.toBe("");

      const downloaded: MediaProgress[] = [];
      const { object, bytes } = await bob.client.download(content.objectId, { onProgress: (p) => downloaded.push(p) });
      expect(sha(bytes)).toBe(sha(image));
      expect(object.fileName).toBe("gradient.png");
      expectMonotonic(downloaded, image.length);
      const thumbnail = await bob.client.download(content.thumbnailObjectId);
      expect(thumbnail.object.contentType).toBe("image/jpeg");
      expect(Math.max(thumbnail.object.width, thumbnail.object.height)).toBe(320);
      // The signed URL works without the token (an <img src>), and serves the sniffed type.
      const viaUrl = await fetch((await bob.client.getObject(content.objectId)).url!);
      expect(viaUrl.headers.get("content-type")).toBe("image/png");
      expect(sha(new Uint8Array(await viaUrl.arrayBuffer()))).toBe(sha(image));
    } finally {
      await alice.client.close();
      await bob.client.close();
    }
  });

  it("sends a video with a client-made poster: the receiver gets duration, dimensions, the poster's measured size, and both downloads; a poster that is not an image is refused", async () => {
    const alice = await connectUser(server, "vid-alice");
    const bob = await connectUser(server, "vid-bob");
    try {
      // The server does not decode video; it sniffs the container (an EBML header: WebM) and keeps the bytes.
      const video = new Uint8Array(Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), randomBytes(300_000)]));
      const poster = png(400, 240);
      const progress: MediaProgress[] = [];
      const ack = await alice.client.sendVideo({ userId: "vid-bob" }, new Blob([video], { type: "video/webm" }), {
        fileName: "clip.webm", durationMs: 2500.4, width: 640, height: 384, poster, onProgress: (p) => progress.push(p),
      });
      expectMonotonic(progress, video.length + poster.length);
      await until(() => bob.received.some((m) => m.seq === ack.seq && m.conversationId === ack.conversationId), "bob receives the video");
      const body = bob.received.find((m) => m.seq === ack.seq)!.content!.body;
      expect(body.case).toBe("video");
      const content = body.value as { objectId: string; durationMs: number; width: number; height: number; posterObjectId: string; posterWidth: number; posterHeight: number; size: bigint; contentType: string };
      expect([content.durationMs, content.width, content.height, content.posterWidth, content.posterHeight, content.size, content.contentType])
        .toEqual([2500, 640, 384, 400, 240, BigInt(video.length), "video/webm"]);
      expect(sha((await bob.client.download(content.objectId)).bytes)).toBe(sha(video));
      const posterDownload = await bob.client.download(content.posterObjectId);
      expect(sha(posterDownload.bytes)).toBe(sha(poster));
      expect(posterDownload.object.kind).toBe("image");

      // A "poster" whose bytes are not an image: refused before the video is uploaded or anything sent.
      const before = bob.received.length;
      const refused = await alice.client.sendVideo({ userId: "vid-bob" }, video, { durationMs: 1000, poster: new TextEncoder().encode("not a picture at all") })
        .then(() => undefined, (e: unknown) => e);
      expect(refused).toBeInstanceOf(ParleyError);
      expect((refused as ParleyError).code).toBe(ErrorCode.BAD_REQUEST);
      // A video whose bytes are not a video is refused as a video by the server (send it as a file instead).
      const notVideo = await alice.client.sendVideo({ userId: "vid-bob" }, new TextEncoder().encode("plain text, no container"), { durationMs: 1000 })
        .then(() => undefined, (e: unknown) => e);
      expect(notVideo).toBeInstanceOf(ParleyError);
      expect((notVideo as ParleyError).code).toBe(ErrorCode.BAD_REQUEST);
      await alice.client.sendText({ userId: "vid-bob" }, "after the refusals");
      await until(() => bob.received.some((m) => m.content?.body.case === "text"), "bob receives the text");
      expect(bob.received.slice(before).map((m) => m.content?.body.case)).toEqual(["text"]);
    } finally {
      await alice.client.close();
      await bob.client.close();
    }
  });

  it("uploads a multipart file with per-part progress, and resumes an interrupted upload sending only the missing parts", async () => {
    const alice = await connectUser(server, "file-alice");
    const bob = await connectUser(server, "file-bob");
    try {
      const data = randomBytes(12 * MiB + 333);
      // Interrupted after the first of three parts is stored.
      const abort = new AbortController();
      let uploadId = "";
      const first: MediaProgress[] = [];
      await expect(alice.client.upload(data, {
        fileName: "data.bin",
        partSize: 5 * MiB,
        onUploadStarted: (id) => (uploadId = id),
        onProgress: (p) => {
          first.push(p);
          if (p.bytesTransferred >= 5 * MiB) abort.abort(new Error("interrupted"));
        },
        signal: abort.signal,
      })).rejects.toThrow("interrupted");
      expect(uploadId).toMatch(/^[0-9a-f]{32}$/);
      expect(first.at(-1)!.bytesTransferred).toBe(5 * MiB);

      // Resumed: the first progress report already counts the stored part; the object is whole.
      const resumed: MediaProgress[] = [];
      const object = await alice.client.upload(data, { resumeUploadId: uploadId, onProgress: (p) => resumed.push(p) });
      expect(resumed[0]!.bytesTransferred).toBe(5 * MiB);
      expect(resumed.map((p) => p.bytesTransferred)).toEqual([5 * MiB, 10 * MiB, 12 * MiB + 333]);
      expect(object.sha256).toBe(sha(data));
      expect(object.kind).toBe("file");

      const ack = await alice.client.send({ kind: { case: "userId", value: "file-bob" } }, { body: { case: "file", value: { objectId: object.objectId, fileName: object.fileName } } });
      await until(() => bob.received.some((m) => m.seq === ack.seq && m.conversationId === ack.conversationId), "bob receives the file");
      const { bytes } = await bob.client.download(object.objectId);
      expect(Buffer.from(bytes).equals(data)).toBe(true);
    } finally {
      await alice.client.close();
      await bob.client.close();
    }
  });

  it("retries a part whose connection dropped, with fresh URLs, and stores the object once", async () => {
    // A loopback proxy in front of the server that cuts the first part PUT off mid-body.
    let cut = 0;
    const proxy: Server = createServer((req, res) => {
      if (req.method === "PUT" && cut === 0) {
        cut++;
        req.once("data", () => req.socket.destroy());
        return;
      }
      const upstream = httpRequest({ host: "127.0.0.1", port: server.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
    const port = (proxy.address() as { port: number }).port;
    const alice = await connectUser(server, "retry-alice", { httpUrl: `http://127.0.0.1:${port}` });
    try {
      const data = randomBytes(6 * MiB);
      const object = await alice.client.upload(data, { fileName: "retry.bin", partSize: 5 * MiB });
      expect(cut).toBe(1);
      expect(object.size).toBe(data.length);
      expect(object.sha256).toBe(sha(data));
      const { bytes } = await alice.client.download(object.objectId);
      expect(Buffer.from(bytes).equals(data)).toBe(true);
    } finally {
      await alice.client.close();
      await new Promise((r) => proxy.close(r));
    }
  });

  it("refuses with typed errors: size limit, quota, empty, someone else's object, an executable sent as an image", async () => {
    const alice = await connectUser(server, "err-alice");
    const eve = await connectUser(server, "err-eve");
    try {
      const tooLarge = await alice.client.upload(new Uint8Array(5 * MiB), { kind: "image", fileName: "big.png" }).catch((e: unknown) => e);
      expect(tooLarge).toBeInstanceOf(ParleyError);
      expect((tooLarge as ParleyError).code).toBe(ErrorCode.TOO_LARGE);

      const empty = await alice.client.upload(new Uint8Array(0)).catch((e: unknown) => e);
      expect((empty as ParleyError).code).toBe(ErrorCode.BAD_REQUEST);

      // Quota (48 MiB): an open 40 MiB upload counts, so a second one is refused; aborting it frees the quota.
      const hold = new AbortController();
      let held = "";
      await alice.client.upload(new Uint8Array(40 * MiB), { onUploadStarted: (id) => { held = id; hold.abort(new Error("held open")); }, signal: hold.signal }).catch(() => undefined);
      expect(held).not.toBe("");
      const quota = await alice.client.upload(new Uint8Array(10 * MiB)).catch((e: unknown) => e);
      expect((quota as ParleyError).code).toBe(ErrorCode.FORBIDDEN);
      await alice.client.abortUpload(held);

      // Bytes that are not an image become a file object: sending them as an image is refused.
      const notImage = await alice.client.upload(new TextEncoder().encode("MZ this is not a picture"), { kind: "image", fileName: "cat.jpg" });
      expect(notImage.kind).toBe("file");
      expect(notImage.contentType).toBe("application/octet-stream");
      const send = await alice.client.send({ kind: { case: "userId", value: "err-eve" } }, { body: { case: "image", value: { objectId: notImage.objectId } } }).catch((e: unknown) => e);
      expect(send).toBeInstanceOf(ParleyError);
      expect((send as ParleyError).code).toBe(ErrorCode.BAD_REQUEST);
      expect((send as ParleyError).message).toContain("is not an image");

      // Eve was never sent the object: it does not exist for her.
      const foreign = await eve.client.download(notImage.objectId).catch((e: unknown) => e);
      expect((foreign as ParleyError).code).toBe(ErrorCode.NOT_FOUND);
    } finally {
      await alice.client.close();
      await eve.client.close();
    }
  });
});
