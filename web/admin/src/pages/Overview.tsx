import { useEffect, useState } from "preact/hooks";
import { api, errorText, type SystemInfo } from "../api";
import { Notice, type PageProps } from "./common";

const KEY_METRICS: [string, string][] = [
  ["parley.gateway.connections", "Open connections"],
  ["parley.messages.accepted", "Messages accepted"],
  ["parley.messages.duplicates", "Duplicate sends"],
  ["parley.delivery.frames", "Frames delivered"],
  ["parley.gateway.handshakes", "Handshakes"],
  ["parley.gateway.kicks", "Kicks"],
  ["parley.gateway.outbox.overflows", "Outbox overflows"],
  ["parley.store.commit.failures", "Commit failures"],
];

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

export function Overview(_: PageProps) {
  const [info, setInfo] = useState<SystemInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const load = () => api<SystemInfo>("/system").then((i) => live && setInfo(i)).catch((e) => live && setError(errorText(e)));
    load();
    const timer = setInterval(load, 5000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  const ack = info?.metrics["parley.send.ack.duration"];
  return (
    <>
      <h1>Server health</h1>
      <Notice error={error} />
      {info && (
        <>
          <dl class="tiles" data-testid="health">
            <div><dt>Status</dt><dd class={info.ready ? "ok" : "bad"}>{info.ready ? "Ready" : "Not ready"}</dd></div>
            <div><dt>Uptime</dt><dd>{Math.floor(info.uptimeSeconds / 60)} min</dd></div>
            <div><dt>Memory</dt><dd>{mb(info.workingSetBytes)}</dd></div>
            <div><dt>Managed heap</dt><dd>{mb(info.managedHeapBytes)}</dd></div>
            <div><dt>Threads</dt><dd>{info.threads}</dd></div>
            <div><dt>Dead letters</dt><dd class={info.deadLetters > 0 ? "bad" : ""}>{info.deadLetters}</dd></div>
          </dl>
          <h2>Key metrics since start</h2>
          <table>
            <thead><tr><th scope="col">Metric</th><th scope="col">Value</th></tr></thead>
            <tbody>
              {KEY_METRICS.map(([name, label]) => (
                <tr key={name}><td>{label}</td><td>{Math.round(info.metrics[name]?.value ?? 0)}</td></tr>
              ))}
              <tr>
                <td>Mean ack latency</td>
                <td>{ack?.count ? `${((ack.value / ack.count) * 1000).toFixed(1)} ms over ${ack.count} sends` : "—"}</td>
              </tr>
            </tbody>
          </table>
          <p class="muted">Version {info.version}</p>
        </>
      )}
    </>
  );
}
