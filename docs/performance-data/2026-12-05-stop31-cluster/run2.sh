#!/bin/bash
while ! grep -q ALLDONE /tmp/q31/nodes-run.log; do sleep 5; done
export DLL=/tmp/q31/final/Parley.Server.dll G=/tmp/q31/finalgen/Parley.LoadTest.dll PRIME=8
S=/tmp/q31/scripts
CH=(--scenarios chat --chat-peers 1 --chat-rates 300,600,1200,1800,2400,3000,3600 --runs 1 --warmup 2 --window 5)
TAG=chat-n1-r1 bash $S/cluster-nodes.sh /tmp/q31/nodes 1 "${CH[@]}"
STORE=sqlite TAG=chat-sqlite-r1 bash $S/cluster-nodes.sh /tmp/q31/nodes 1 "${CH[@]}"
STORE=sqlite TAG=chat-sqlite-r2 bash $S/cluster-nodes.sh /tmp/q31/nodes 1 "${CH[@]}"
PRIME=10 SKIP_A=1 bash $S/cluster-paired.sh /tmp/q31/paired 3
echo RUN2DONE
