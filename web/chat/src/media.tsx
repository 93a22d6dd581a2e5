import { useEffect, useState } from "preact/hooks";
import type { JSX } from "preact";
import type { Content } from "@parley/client";
import type { ChatStore, PendingUpload, ViewMessage } from "./store";
import { t } from "./i18n";

/** A paper-clip icon (no emoji font needed). */
export function ClipIcon() {
  return (
    <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true">
      <path d="M21 11.5 12.5 20a5.5 5.5 0 0 1-7.8-7.8l8.5-8.5a3.7 3.7 0 0 1 5.2 5.2l-8.5 8.5a1.8 1.8 0 0 1-2.6-2.6L15 7" />
    </svg>
  );
}

function FileIcon() {
  return (
    <svg class="file-icon" width="22" height="22" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round" aria-hidden="true">
      <path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z" />
      <path d="M14 2v6h6" />
    </svg>
  );
}

/** True when the item shows as media (an image or file message, or an own upload on its way). */
export function isMedia(item: ViewMessage): boolean {
  const body = item.message?.content?.body;
  return !item.revoked && (!!item.pending?.upload || body?.case === "image" || body?.case === "file" || body?.case === "voice" || body?.case === "video");
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) (value /= 1024), unit++;
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** The bubble of an image or file message: thumbnail or file card, upload progress, download with progress. */
export function MediaBody({ store, item }: { store: ChatStore; item: ViewMessage }) {
  const upload = item.pending?.upload;
  if (upload) return <UploadBody upload={upload} />;
  const body = item.message!.content!.body as Extract<Content["body"], { case: "image" | "file" | "voice" | "video" }>;
  if (body.case === "voice") {
    const seconds = Math.round(body.value.durationMs / 1000);
    return (
      <div class="media voice" data-testid="voice" data-object={body.value.objectId}>
        <SignedMedia store={store} objectId={body.value.objectId} render={(url) => <audio controls preload="metadata" src={url} aria-label={t("voiceMessage", { seconds })} />} />
        <DownloadButton store={store} objectId={body.value.objectId} fileName="" label={t("downloadVoice")} />
      </div>
    );
  }
  if (body.case === "video") {
    const video = body.value;
    return (
      <div class="media video" data-testid="video" data-object={video.objectId}>
        <SignedMedia store={store} objectId={video.objectId} render={(url, poster) => (
          <video controls preload="metadata" src={url} poster={poster} class="thumb" aria-label={t("videoMessage", { seconds: Math.round(video.durationMs / 1000) })}
            width={video.width ? Math.min(video.width, 320) : undefined} />
        )} posterId={video.posterObjectId} />
        <DownloadButton store={store} objectId={video.objectId} fileName="" label={t("downloadVideo")} />
      </div>
    );
  }
  if (body.case === "image") {
    const image = body.value;
    const name = image.caption || t("image");
    return (
      <div class="media image" data-testid="image" data-object={image.objectId}>
        <button type="button" class="open-image" aria-label={t("openImage", { name })} onClick={() => void openOriginal(store, image.objectId)}>
          <SignedImage store={store} objectId={image.thumbnailObjectId || image.objectId} alt={name}
            width={image.thumbnailWidth || image.width} height={image.thumbnailHeight || image.height} />
        </button>
        {image.caption && <span class="caption">{image.caption}</span>}
        <DownloadButton store={store} objectId={image.objectId} fileName="" label={t("downloadImage")} />
      </div>
    );
  }
  const file = body.value;
  return (
    <div class="media file" data-testid="file" data-object={file.objectId}>
      <FileIcon />
      <span class="file-name">{file.fileName}</span>
      <span class="muted">{formatBytes(Number(file.size))}</span>
      <DownloadButton store={store} objectId={file.objectId} fileName={file.fileName} label={t("downloadFile", { name: file.fileName })} />
    </div>
  );
}

/** Opens the full-size picture in a new tab through a fresh signed URL (served inline, sandboxed). */
async function openOriginal(store: ChatStore, objectId: string): Promise<void> {
  const tab = window.open("", "_blank");
  try {
    const object = await store.objectUrl(objectId);
    if (tab && object.url) tab.location.href = object.url;
  } catch {
    tab?.close();
  }
}

function UploadBody({ upload }: { upload: PendingUpload }) {
  const percent = upload.total > 0 ? Math.floor((upload.loaded * 100) / upload.total) : 0;
  return (
    <div class={`media ${upload.kind}`} data-testid="upload">
      {upload.previewUrl ? <img src={upload.previewUrl} alt={upload.file.name} class="thumb" /> : <FileIcon />}
      <span class="file-name">{upload.file.name}</span>
      <span class="muted">{formatBytes(upload.total)}</span>
      {!upload.object && (
        <progress max={100} value={percent} aria-label={t("uploading", { name: upload.file.name })}>
          {percent} %
        </progress>
      )}
    </div>
  );
}

/** An <img> of an object through a short-lived signed URL (fetched when shown, refreshed once if it expired). */
function SignedImage({ store, objectId, alt, width, height }: { store: ChatStore; objectId: string; alt: string; width: number; height: number }) {
  const [url, setUrl] = useState<string>();
  const [failed, setFailed] = useState(false);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let live = true;
    store.objectUrl(objectId).then((o) => live && setUrl(o.url), () => live && setFailed(true));
    return () => {
      live = false;
    };
  }, [objectId, attempt]);
  if (failed) return <span class="muted">{t("imageUnavailable")}</span>;
  const scale = width > 320 ? 320 / width : 1;
  return url ? (
    <img src={url} alt={alt} class="thumb" width={Math.round(width * scale) || undefined} height={Math.round(height * scale) || undefined}
      onError={() => (attempt === 0 ? setAttempt(1) : setFailed(true))} />
  ) : (
    <span class="thumb placeholder" style={{ width: `${Math.min(width, 320) || 160}px`, height: `${Math.round(height * scale) || 120}px` }} aria-hidden="true" />
  );
}

/** Audio or video through a short-lived signed URL (the server answers Range requests for seeking). */
function SignedMedia({ store, objectId, posterId, render }: { store: ChatStore; objectId: string; posterId?: string; render: (url: string, poster?: string) => JSX.Element }) {
  const [urls, setUrls] = useState<{ url?: string; poster?: string }>();
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    Promise.all([store.objectUrl(objectId), posterId ? store.objectUrl(posterId).catch(() => undefined) : undefined])
      .then(([o, p]) => live && setUrls({ url: o.url, poster: p?.url }), () => live && setFailed(true));
    return () => {
      live = false;
    };
  }, [objectId, posterId]);
  if (failed) return <span class="muted">{t("mediaUnavailable")}</span>;
  // The placeholder has the player's height, so the timeline does not move when the URL arrives.
  return urls?.url ? render(urls.url, urls.poster) : <span class="player-placeholder" aria-hidden="true" />;
}

function DownloadButton({ store, objectId, fileName, label }: { store: ChatStore; objectId: string; fileName: string; label: string }) {
  const state = store.downloads.get(objectId);
  const percent = state && state.total > 0 ? Math.floor((state.loaded * 100) / state.total) : 0;
  return (
    <span class="download">
      <button type="button" class="link" aria-label={label} disabled={!!state && !state.error} onClick={() => void store.download(objectId, fileName)}>
        {t("download")}
      </button>
      {state && !state.error && <progress max={100} value={percent} aria-label={t("downloading")} />}
      {state?.error && <span class="error" title={state.error}>{t("downloadFailed")}</span>}
    </span>
  );
}
