#!/usr/bin/env python3
"""steps.py <generator json>...: the server's allocation per message of each fixed-rate chat step (the generator's
server_alloc_bytes_per_msg: the server's dotnet_gc_heap_total_allocated_bytes over the step's window / messages issued
in it) and its delivered/sent ratio. The first SKIP (default 2) steps are left out: each conversation opens on its first
message and senders are chosen at random, so all 200 conversations (--chat-users 200, --chat-peers 1) are open only after
about 1,100 messages, and a new conversation costs more than a message (activation, relation reads); the closing
half-rate step too. A step whose server did not keep up is flagged: its figure divides by messages issued, not handled.
Median per file."""
import json, os, statistics, sys
skip = int(os.environ.get("SKIP", "2"))
for path in sys.argv[1:]:
    d = json.load(open(path))
    ramp = [s for s in d["steps"] if s["Step"].startswith("ramp")][skip:]
    kb = [s["Metrics"]["server_alloc_bytes_per_msg"] / 1024 for s in ramp if s["Metrics"]["server_alloc_bytes_per_msg"] == s["Metrics"]["server_alloc_bytes_per_msg"]]
    lost = sum(s["Metrics"]["lost"] for s in d["steps"])
    sent = [round(s["Metrics"]["sent_per_s"]) for s in ramp]
    behind = [i for i, s in enumerate(ramp) if s["Metrics"]["delivery_ratio"] < 0.97 or s["Metrics"]["ack_p99_ms"] > 1000]
    print(f"{path}: KB/msg median {statistics.median(kb):.2f} (steps {' '.join(f'{k:.2f}' for k in kb)}) sent/s {sent} lost {lost:.0f}"
          + (f" BEHIND in steps {behind}" if behind else ""))
