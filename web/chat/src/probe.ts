// Reads what the server cannot (it does not decode audio or video): a clip's duration and dimensions, and a poster
// frame drawn on a canvas. Everything runs on the picked file's local object URL; nothing is uploaded here.

export interface MediaProbe {
  durationMs: number;
  width: number;
  height: number;
  /** A JPEG of a frame near the start (videos only), at most 640 px on the longer side. */
  poster?: Blob;
}

const PROBE_TIMEOUT_MS = 10_000;
const POSTER_MAX = 640;

/** Resolves on `event`, rejects on the element's `error` or after the timeout. */
function once(element: HTMLMediaElement, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`No ${event} within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
    const onEvent = () => done();
    const onError = () => done(new Error(element.error?.message || "The browser cannot read this media"));
    function done(error?: Error) {
      clearTimeout(timer);
      element.removeEventListener(event, onEvent);
      element.removeEventListener("error", onError);
      if (error) reject(error);
      else resolve();
    }
    element.addEventListener(event, onEvent);
    element.addEventListener("error", onError);
  });
}

/**
 * The duration of a loaded element. Files recorded by MediaRecorder (WebM) carry no duration in their header and
 * report Infinity until the element has seen the end: seeking far past it makes the browser find the real one.
 */
async function duration(element: HTMLMediaElement): Promise<number> {
  if (Number.isFinite(element.duration)) return element.duration;
  const changed = once(element, "durationchange");
  element.currentTime = Number.MAX_SAFE_INTEGER;
  await changed;
  for (let i = 0; i < 20 && !Number.isFinite(element.duration); i++) await once(element, "durationchange");
  const value = element.duration;
  const back = once(element, "seeked");
  element.currentTime = 0;
  await back;
  return Number.isFinite(value) ? value : 0;
}

/** Duration of an audio file (undefined when the browser cannot read it). */
export async function probeAudio(file: Blob): Promise<MediaProbe | undefined> {
  const url = URL.createObjectURL(file);
  const audio = document.createElement("audio");
  audio.preload = "metadata";
  try {
    const loaded = once(audio, "loadedmetadata");
    audio.src = url;
    await loaded;
    return { durationMs: Math.round((await duration(audio)) * 1000), width: 0, height: 0 };
  } catch {
    return undefined;
  } finally {
    audio.removeAttribute("src");
    audio.load();
    URL.revokeObjectURL(url);
  }
}

/** Duration, dimensions and a poster frame of a video file (undefined when the browser cannot decode it). */
export async function probeVideo(file: Blob): Promise<MediaProbe | undefined> {
  const url = URL.createObjectURL(file);
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.preload = "auto";
  try {
    const loaded = once(video, "loadedmetadata");
    video.src = url;
    await loaded;
    const seconds = await duration(video);
    const { videoWidth: width, videoHeight: height } = video;
    let poster: Blob | undefined;
    if (width > 0 && height > 0) {
      // A frame a little into the clip (the very first one is often black), then drawn scaled down.
      const seeked = once(video, "seeked");
      video.currentTime = Math.min(0.5, seconds / 3);
      await seeked;
      if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) await once(video, "loadeddata");
      const scale = Math.min(1, POSTER_MAX / Math.max(width, height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      canvas.getContext("2d")?.drawImage(video, 0, 0, canvas.width, canvas.height);
      poster = (await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85))) ?? undefined;
    }
    return { durationMs: Math.round(seconds * 1000), width, height, poster };
  } catch {
    return undefined;
  } finally {
    video.removeAttribute("src");
    video.load();
    URL.revokeObjectURL(url);
  }
}
