"""Offline checks of the deployment files (scripts/test.d/50-deploy.sh): rendered Kubernetes overlays, the compose file and
the Dockerfile. Usage: deploy_check.py k8s <overlay-name> <rendered.yaml> | compose | dockerfile. Prints one line per
failed check and exits 1 when any failed."""
import json
import os
import re
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SECRET_NAME = re.compile(r"(secret|password|signingkey|tokenkey|connectionstring)", re.I)
problems = []


def expect(condition, message):
    if not condition:
        problems.append(message)


def server_endpoints():
    """The health endpoints the server really maps (read from its source, so a renamed route fails this check)."""
    source = open(os.path.join(ROOT, "src/Parley.Hosting/ParleyServerExtensions.cs"), encoding="utf-8").read()
    return set(re.findall(r'MapHealthChecks\("([^"]+)"', source))


def documented_settings():
    """Every Parley setting docs/configuration.md documents, as "Parley:Section:Key" (the tables under each "## Parley:…")."""
    settings, section = set(), None
    for line in open(os.path.join(ROOT, "docs/configuration.md"), encoding="utf-8"):
        heading = re.match(r"^## (Parley:\S+)", line)
        if heading:
            section = heading.group(1)
        elif line.startswith("#"):
            section = None
        elif section and line.startswith("| `"):
            for key in re.findall(r"`([A-Za-z0-9:]+)`", line.split("|")[1]):
                settings.add(f"{section}:{key}")
    return settings


def check_setting_names(where, names):
    """A Parley__… variable must name a documented setting: a misspelt or invented key is silently ignored by .NET."""
    documented = documented_settings()
    for name in names:
        if name.startswith("Parley__"):
            key = name.replace("__", ":")
            expect(key in documented, f"{where}: {name} is not a setting of docs/configuration.md ({key})")


def shutdown_timeout_seconds(env):
    value = env.get("Parley__Shutdown__Timeout", "00:00:30")
    h, m, s = value.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def check_k8s(overlay, path):
    docs = [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    expect(not [s for s in by_kind.get("Secret", []) if s.get("data") or s.get("stringData")],
           "a Secret with data is rendered: secrets must be created outside the manifests, never inlined")
    workloads = by_kind.get("StatefulSet", []) + by_kind.get("Deployment", [])
    expect(len(workloads) == 1, f"expected one Parley workload, found {len(workloads)}")
    if not workloads:
        return
    w = workloads[0]
    spec = w["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    config = {}
    for cm in by_kind.get("ConfigMap", []):
        config.update(cm.get("data", {}))
    container = next(c for c in pod["containers"] if c["name"] == "parley")
    env = dict(config)
    for e in container.get("env", []):
        env[e["name"]] = e.get("value")
        if SECRET_NAME.search(e["name"]):
            expect("valueFrom" in e and "secretKeyRef" in e["valueFrom"], f"env {e['name']} must come from a Secret (secretKeyRef), not a literal")
    for key, value in config.items():
        expect(not SECRET_NAME.search(key), f"ConfigMap holds {key}: a secret belongs in a Secret")
    check_setting_names(f"overlay {overlay}", env)
    env_from = {e["name"]: e.get("valueFrom", {}) for e in container.get("env", [])}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    url_port = int(re.search(r":(\d+)", env.get("ASPNETCORE_URLS", "")).group(1))
    expect(ports.get("http") == url_port, f"container port 'http' ({ports.get('http')}) is not the port Parley listens on ({url_port})")
    mgmt = env.get("Parley__Management__Urls")
    expect(mgmt is not None and int(re.search(r":(\d+)", mgmt).group(1)) == ports.get("management"), "the management port does not match Parley__Management__Urls")

    endpoints = server_endpoints()
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz"), ("startupProbe", "/healthz")):
        p = container.get(probe)
        expect(p is not None, f"{probe} missing")
        if p:
            get = p.get("httpGet", {})
            expect(get.get("path") == path and path in endpoints, f"{probe} asks {get.get('path')}, expected {path} (mapped by the server: {sorted(endpoints)})")
            expect(get.get("port") in ports or get.get("port") == ports.get("http"), f"{probe} port {get.get('port')} is not a container port")
            expect(ports.get(get.get("port"), get.get("port")) == url_port, f"{probe} must ask the client listener, where /healthz and /readyz answer")

    sc = pod.get("securityContext", {})
    csc = container.get("securityContext", {})
    expect(sc.get("runAsNonRoot") is True, "pod securityContext.runAsNonRoot must be true")
    expect(isinstance(sc.get("runAsUser"), int) and sc["runAsUser"] != 0, "pod must run as a numeric non-root uid")
    expect(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem must be true")
    expect(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation must be false")
    expect("ALL" in csc.get("capabilities", {}).get("drop", []), "capabilities must drop ALL")
    res = container.get("resources", {})
    expect("cpu" in res.get("requests", {}) and "memory" in res.get("requests", {}), "cpu and memory requests must be set")
    expect("memory" in res.get("limits", {}), "a memory limit must be set")

    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    pre_stop_s = int(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0
    grace = pod.get("terminationGracePeriodSeconds", 30)
    expect(grace >= pre_stop_s + shutdown_timeout_seconds(env) + 5,
           f"terminationGracePeriodSeconds {grace} must exceed preStop {pre_stop_s} s + Parley:Shutdown:Timeout {shutdown_timeout_seconds(env)} s + 5 s")

    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    data_dir = env.get("Parley__Storage__DataDirectory")
    expect(data_dir in mounts, f"the data directory {data_dir} must be a mounted volume")
    expect("/tmp" in mounts, "/tmp must be a writable volume (read-only root filesystem)")
    claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
    expect(mounts.get(data_dir) in claims, "the data directory must be on a persistent volume claim")

    def selects(selector):
        return selector and all(labels.get(k) == v for k, v in selector.items())

    pdbs = by_kind.get("PodDisruptionBudget", [])
    expect(len(pdbs) == 1 and selects(pdbs[0]["spec"]["selector"]["matchLabels"]), "one PodDisruptionBudget selecting the Parley pods")
    services = by_kind.get("Service", [])
    expect(any(s["metadata"]["name"] == "parley" for s in services), "the client Service 'parley' is missing")
    for s in services:
        expect(selects(s["spec"].get("selector")), f"Service {s['metadata']['name']} does not select the Parley pods")
        for p in s["spec"]["ports"]:
            target = p.get("targetPort")
            expect(target in ports or target in ports.values(), f"Service {s['metadata']['name']} targets {target}, not a container port")

    replicas = spec.get("replicas", 1)
    if overlay == "single-node":
        expect(replicas == 1, "single-node: one writer per SQLite file, replicas must be 1")
        expect(env.get("Parley__Storage__Provider", "Sqlite") != "Postgres", "single-node runs on SQLite")
    if overlay == "cluster":
        expect(replicas >= 2, "cluster: at least two replicas")
        min_available = pdbs[0]["spec"].get("minAvailable") if pdbs else None
        expect(isinstance(min_available, int) and min_available < replicas, "cluster: PDB minAvailable must be below the replica count")
        expect(env.get("Parley__Storage__Provider") == "Postgres", "cluster: the PostgreSQL store must be configured")
        expect(env.get("Parley__Cluster__Mode") == "Redis", "cluster: Parley__Cluster__Mode must be Redis (membership in Redis)")
        expect(env.get("Parley__Media__Store") == "S3", "cluster: media must be in S3 (a pod's volume is not shared)")
        for name in ("Parley__Storage__Postgres__ConnectionString", "Parley__Cluster__Redis", "Parley__Tokens__SigningKey", "Parley__Push__TokenKey",
                     "Parley__Blobs__S3__AccessKey", "Parley__Blobs__S3__SecretKey"):
            expect("secretKeyRef" in env_from.get(name, {}), f"cluster: {name} must come from a Secret (every pod the same value)")
        expect(env_from.get("Parley__Cluster__AdvertisedAddress", {}).get("fieldRef", {}).get("fieldPath") == "status.podIP",
               "cluster: Parley__Cluster__AdvertisedAddress must be the pod IP (downward API), or silos advertise an unreachable address")
        for setting, default in (("Parley__Orleans__SiloPort", 11111), ("Parley__Orleans__GatewayPort", 30000)):
            expect(int(env.get(setting) or default) in ports.values(), f"cluster: the Orleans port {setting} must be a container port")


def check_compose():
    base = os.path.join(ROOT, "deploy/compose")
    text = open(os.path.join(base, "compose.yaml"), encoding="utf-8").read()
    doc = yaml.safe_load(text)
    services = doc["services"]
    for name in ("parley-1", "parley-2", "parley-3", "postgres", "redis", "minio", "prometheus", "grafana"):
        expect(name in services, f"service {name} missing")
    env_example = open(os.path.join(base, ".env.example"), encoding="utf-8").read()
    for var in set(re.findall(r"\$\{([A-Z_]+):\?", text)):
        expect(re.search(rf"^{var}=", env_example, re.M), f"{var} is required by compose.yaml but not in .env.example")
    parleys = [s for n, s in services.items() if n.startswith("parley-")]
    for n, s in services.items():
        for v in s.get("volumes", []):
            source = v.split(":")[0]
            if source.startswith("."):
                expect(os.path.exists(os.path.join(base, source)), f"{n} mounts {source}, which does not exist")
        for dep in s.get("depends_on", {}):
            expect(dep in services, f"{n} depends on unknown service {dep}")
    for s in parleys:
        env = s["environment"]
        check_setting_names("compose", env)
        expect(s.get("read_only") is True, "Parley containers run with a read-only root filesystem")
        expect("/tmp" in s.get("tmpfs", []), "Parley containers need a /tmp tmpfs")
        expect(any(v.endswith(":/data") for v in s.get("volumes", [])), "Parley data directory /data must be a volume")
        expect(env.get("Parley__Storage__DataDirectory") == "/data", "Parley__Storage__DataDirectory must be /data")
        test = " ".join(s.get("healthcheck", {}).get("test", []))
        expect("/readyz" in test or "/healthz" in test, "Parley healthcheck must ask /readyz or /healthz")
        grace = s.get("stop_grace_period", "10s")
        expect(int(grace.rstrip("s")) > shutdown_timeout_seconds(env), "stop_grace_period must exceed Parley:Shutdown:Timeout")
        expect(not any(SECRET_NAME.search(k) and v and "${" not in str(v) for k, v in env.items()),
               "secrets must come from .env (${...}), not literals in compose.yaml")
    envs = [s["environment"] for s in parleys]
    for name in ("Parley__Tokens__SigningKey", "Parley__Push__TokenKey", "Parley__Storage__Postgres__ConnectionString", "Parley__Cluster__Redis"):
        expect(all(e.get(name) for e in envs) and len({e.get(name) for e in envs}) == 1, f"compose: every node needs the same {name}")
    expect(all(e.get("Parley__Cluster__Mode") == "Redis" and e.get("Parley__Storage__Provider") == "Postgres" for e in envs),
           "compose: every node runs in Redis cluster mode on PostgreSQL")
    expect(all(e.get("Parley__Media__Store") == "S3" for e in envs), "compose: a cluster keeps media in S3 (a node's file system is not shared)")
    prom = yaml.safe_load(open(os.path.join(base, "prometheus.yml"), encoding="utf-8"))
    targets = {t for sc in prom["scrape_configs"] for c in sc["static_configs"] for t in c["targets"]}
    expect(targets == {f"parley-{i}:9090" for i in (1, 2, 3)}, f"Prometheus must scrape every node's management port, scrapes {sorted(targets)}")
    dashboards = os.path.join(ROOT, "deploy/grafana/dashboards")
    expect(len([f for f in os.listdir(dashboards) if f.endswith(".json")]) >= 5, "the five Grafana dashboards are provisioned")


def check_dockerfile():
    text = open(os.path.join(ROOT, "deploy/Dockerfile"), encoding="utf-8").read()
    expect(len(re.findall(r"^FROM ", text, re.M)) >= 2, "multi-stage: a build and a runtime stage")
    users = re.findall(r"^USER (\S+)", text, re.M)
    expect(users and users[-1].isdigit() and users[-1] != "0", "the runtime stage runs as a numeric non-root USER")
    expect(re.search(r"^HEALTHCHECK .*\n?.*?/healthz", text, re.M), "HEALTHCHECK asks /healthz")
    expect(re.search(r'^VOLUME \["/data"\]', text, re.M), "VOLUME /data")
    expect("Parley__Storage__DataDirectory=/data" in text, "the data directory is the volume")
    port = re.search(r"ASPNETCORE_URLS=http://0\.0\.0\.0:(\d+)", text)
    expect(port and re.search(rf"^EXPOSE .*\b{port.group(1)}\b", text, re.M), "EXPOSE the port Parley listens on")
    expect(re.search(r'^ENTRYPOINT \["dotnet", "Parley.Server.dll"\]', text, re.M), "exec-form ENTRYPOINT so SIGTERM reaches the server")
    # The GC's young generation: 4-64 MiB in the server's runtimeconfig, so that every start has it, the image's and `dotnet
    # run`'s included (ADR 0036, stop 47; until then an environment variable of the image and the launch profile, stop 40).
    props = open(os.path.join(ROOT, "src/Parley.Server/Runtime.props"), encoding="utf-8").read()
    budget = re.search(r'<RuntimeHostConfigurationOption Include="System\.GC\.Gen0MaxBudget" Value="(\d+)"', props)
    expect(budget and 4 << 20 <= int(budget.group(1)) <= 64 << 20,
           "the server's runtimeconfig bounds the GC's young generation to 4-64 MiB (System.GC.Gen0MaxBudget in Runtime.props, ADR 0036)")
    # A variable left in the image or a launch profile would override the runtimeconfig's budget for those starts only.
    launch = json.load(open(os.path.join(ROOT, "src/Parley.Server/Properties/launchSettings.json"), encoding="utf-8"))
    envs = [p.get("environmentVariables", {}) for p in launch["profiles"].values()]
    set_in_image = [l for l in text.splitlines() if not l.lstrip().startswith("#") and re.search(r"DOTNET_GC(gen0size|Gen0MaxBudget)", l, re.I)]
    expect(not set_in_image
           and not any(k.upper() in ("DOTNET_GCGEN0SIZE", "DOTNET_GCGEN0MAXBUDGET") for e in envs for k in e),
           "neither the image nor a launch profile overrides the runtimeconfig's GC budget with an environment variable")


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "k8s":
        check_k8s(sys.argv[2], sys.argv[3])
    elif what == "compose":
        check_compose()
    elif what == "dockerfile":
        check_dockerfile()
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)
