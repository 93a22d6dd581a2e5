// Bucket configuration calls against the test S3 server (s3rver from .ci/setup.d/30-s3rver.sh), signed with AWS
// Signature Version 4 like any S3 client: what an operator runs once per deployment (`aws s3api put-bucket-cors`).
import { createHash, createHmac } from "node:crypto";

export interface S3Target {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region?: string;
}

export function s3FromEnv(): S3Target | undefined {
  const endpoint = process.env.PARLEY_TEST_S3_ENDPOINT;
  if (!endpoint) return undefined;
  return {
    endpoint,
    bucket: process.env.PARLEY_TEST_S3_BUCKET ?? "parley-test",
    accessKey: process.env.PARLEY_TEST_S3_ACCESS_KEY ?? "S3RVER",
    secretKey: process.env.PARLEY_TEST_S3_SECRET_KEY ?? "S3RVER",
  };
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

/** One signed bucket sub-resource call (e.g. `?cors`); resolves with the response status and body. */
export async function s3BucketCall(s3: S3Target, method: "GET" | "PUT" | "DELETE", subresource: string, body = ""): Promise<{ status: number; text: string }> {
  const url = new URL(`/${s3.bucket}?${subresource}=`, s3.endpoint);
  const region = s3.region ?? "us-east-1";
  const now = new Date().toISOString().replace(/[:-]|\.\d{3}/g, "");
  const day = now.slice(0, 8);
  const payload = sha256(body);
  const headers: Record<string, string> = { host: url.host, "x-amz-content-sha256": payload, "x-amz-date": now };
  if (body) headers["content-md5"] = createHash("md5").update(body).digest("base64");
  const names = Object.keys(headers).sort();
  const canonical = [method, `/${s3.bucket}`, `${subresource}=`, ...names.map((n) => `${n}:${headers[n]}`), "", names.join(";"), payload].join("\n");
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", now, scope, sha256(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${s3.secretKey}`, day), region), "s3"), "aws4_request");
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  const { host: _, ...sent } = headers;
  const response = await fetch(url, {
    method,
    body: body || undefined,
    headers: { ...sent, authorization: `AWS4-HMAC-SHA256 Credential=${s3.accessKey}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}` },
  });
  return { status: response.status, text: await response.text() };
}

/**
 * The CORS rules a deployment with direct uploads (and direct downloads) needs on its bucket (docs/media.md): the web
 * app's origin may PUT parts and GET objects with any request header, and may read the ETag (each part's confirmation)
 * and the range headers of a resumed download.
 */
export function corsConfiguration(origin: string): string {
  return `<CORSConfiguration><CORSRule><AllowedOrigin>${origin}</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><ExposeHeader>Content-Length</ExposeHeader><ExposeHeader>Content-Range</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>`;
}
