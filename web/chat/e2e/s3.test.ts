// The web chat in Chromium uploading straight to S3 (Parley__Blobs__S3__PresignedUploads, and presigned downloads) against
// the test S3 server that CI starts (.ci/setup.d/30-s3rver.sh). The bucket's CORS decides whether a browser may do that:
// without a rule for the app's origin the part PUT is blocked and the send fails (Retry offered); with the rule an
// operator sets (docs/media.md, "Direct uploads to S3"), Retry resumes the same upload and the bytes never pass Parley.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { TestServer } from "../../../sdk/js/test/server.ts";
import { chromiumPath, launch } from "./browser.ts";
import { corsConfiguration, s3BucketCall, s3FromEnv } from "./s3.ts";

const TIMEOUT = 30_000;
const s3 = s3FromEnv();
const skip = !chromiumPath()
  ? (process.env.CI === "true" ? false : "Chromium is not installed (/usr/bin/chromium)")
  : !s3 ? (process.env.CI === "true" ? false : "PARLEY_TEST_S3_ENDPOINT is not set: run .ci/setup.d/30-s3rver.sh") : false;

describe("web chat uploading directly to S3 in Chromium", { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  async function signIn(userId: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 720 }, locale: "en-US" });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    await page.goto(server.httpUrl + "/");
    await page.getByLabel("User id").fill(userId);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByTestId("me").waitFor();
    return page;
  }

  before(async () => {
    if (!s3) throw new Error("PARLEY_TEST_S3_ENDPOINT is not set: run .ci/setup.d/30-s3rver.sh (CI=true requires it).");
    server = await TestServer.start({
      env: {
        Parley__DevSignIn__Enabled: "true",
        Parley__Media__Store: "S3",
        Parley__Blobs__S3__ServiceUrl: s3.endpoint,
        Parley__Blobs__S3__Bucket: s3.bucket,
        Parley__Blobs__S3__AccessKey: s3.accessKey,
        Parley__Blobs__S3__SecretKey: s3.secretKey,
        Parley__Blobs__S3__KeyPrefix: `web-${randomBytes(4).toString("hex")}/`,
        Parley__Blobs__S3__PresignedUploads: "true",
        Parley__Blobs__S3__PresignedDownloads: "true",
      },
    });
    browser = await launch();
  });

  after(async () => {
    if (s3) await s3BucketCall(s3, "DELETE", "cors").catch(() => undefined);
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await server?.dispose();
  });

  it("is blocked without a CORS rule for the app's origin, and with it resumes the upload straight to S3; the receiver downloads the same bytes from S3", async () => {
    const origin = new URL(server.httpUrl).origin;
    const s3Host = new URL(s3!.endpoint).host;
    // No CORS configuration on the bucket: what a deployment that forgot it has.
    const removed = await s3BucketCall(s3!, "DELETE", "cors");
    assert.ok(removed.status === 204 || removed.status === 200, `DeleteBucketCors: ${removed.status} ${removed.text}`);
    const alice = await signIn("s3web-alice");
    const bob = await signIn("s3web-bob");
    const parts: { host: string; status: number }[] = [];
    alice.on("response", (response) => {
      if (response.request().method() === "PUT") parts.push({ host: new URL(response.url()).host, status: response.status() });
    });
    const failedPuts: string[] = [];
    alice.on("requestfailed", (request) => {
      if (request.method() === "PUT") failedPuts.push(new URL(request.url()).host);
    });

    await alice.getByLabel("Start a chat with user id").fill("s3web-bob");
    await alice.getByRole("button", { name: "Start", exact: true }).click();
    // Two parts at the server's 8 MiB default part size.
    const report = randomBytes(9 * 1024 * 1024 + 77);
    await alice.getByLabel("Choose images or files to send").setInputFiles({ name: "report.bin", mimeType: "application/octet-stream", buffer: report });
    const row = alice.getByTestId("message").filter({ hasText: "report.bin" });
    await row.getByText("Not sent").waitFor({ timeout: 90_000 }); // hashing 9 MiB and the blocked part PUTs: slow on a loaded CI machine
    assert.ok(failedPuts.length > 0 && failedPuts.every((host) => host === s3Host), `the browser blocked the part PUTs to S3: ${failedPuts.join(", ")}`);
    assert.deepEqual(parts, [], "no part reached S3 without CORS");

    // The operator's one-time bucket configuration, then Retry: the same upload resumes.
    const put = await s3BucketCall(s3!, "PUT", "cors", corsConfiguration(origin));
    assert.equal(put.status, 200, `PutBucketCors: ${put.text}`);
    const read = await s3BucketCall(s3!, "GET", "cors");
    assert.match(read.text, /<ExposeHeader>ETag<\/ExposeHeader>/);
    await row.getByRole("button", { name: "Retry" }).click();
    await row.getByText(/Sent|Read/).waitFor();
    assert.deepEqual(parts, [{ host: s3Host, status: 200 }, { host: s3Host, status: 200 }], "both parts went to S3, each once");

    // Bob's download comes from S3 too (a presigned GET, read with fetch: CORS again), byte for byte.
    await bob.locator("button.conversation", { hasText: "s3web-alice" }).click();
    const gets: string[] = [];
    bob.on("response", (response) => {
      if (response.request().method() === "GET" && new URL(response.url()).host === s3Host) gets.push(String(response.status()));
    });
    const [download] = await Promise.all([bob.waitForEvent("download"), bob.getByRole("button", { name: "Download report.bin", exact: true }).click()]);
    assert.ok(readFileSync((await download.path())!).equals(report), "the downloaded file has the sent bytes");
    assert.ok(gets.includes("200"), `the bytes came from S3 (${gets.join(", ")})`);
  });
});
