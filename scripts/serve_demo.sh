#!/usr/bin/env bash
# Re-runnable demo of `nar serve`: a local Prefect server, a local Hub, the `refresh` deployment with a
# cron schedule, one run triggered now and awaited. Everything it starts is stopped by PID at the end.
#
#   scripts/serve_demo.sh [WORKDIR]       (default: a fresh temp dir; needs ports 4299 and 8799 free)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
WORK=${1:-$(mktemp -d -t nar-serve-XXXX)}
mkdir -p "$WORK"
PREFECT_PORT=${PREFECT_PORT:-4299}
HUB_PORT=${HUB_PORT:-8799}
export PREFECT_HOME="$WORK/prefect" PREFECT_API_URL="http://127.0.0.1:$PREFECT_PORT/api"
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1 HF_TOKEN=hf_nar_demo HF_HUB_DISABLE_XET=1
PIDS=()
cleanup() {  # stop what this script started, by PID (SIGKILL after 5 s for anything still running)
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 5
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

echo "== prefect server on :$PREFECT_PORT (logs $WORK/server.log)"
"$BIN/prefect" server start --host 127.0.0.1 --port "$PREFECT_PORT" >"$WORK/server.log" 2>&1 &
PIDS+=($!)
echo "== local Hub on :$HUB_PORT"
"$BIN/python" -m nar_data.testing.hub_server --repos 320 --port "$HUB_PORT" >"$WORK/hub.log" 2>&1 &
PIDS+=($!)
for i in $(seq 1 120); do
  curl -sf "$PREFECT_API_URL/health" >/dev/null && curl -sf "http://127.0.0.1:$HUB_PORT/api/models?limit=1" >/dev/null && break
  sleep 1
done
"$BIN/prefect" gcl create hf-hub-api --limit 500 --slot-decay-per-second 1.6 >/dev/null 2>&1 || true

echo "== nar serve: deployment nar-refresh/demo, cron every 30 min"
"$BIN/nar" serve --out "$WORK/data" --endpoint "http://127.0.0.1:$HUB_PORT" --repo-id nar/demo \
  --cron "*/30 * * * *" --name demo >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
for i in $(seq 1 180); do
  curl -sf -X POST "$PREFECT_API_URL/deployments/filter" -H 'Content-Type: application/json' -d '{}' \
    | grep -q '"name":"demo"' && break
  sleep 1
done
"$BIN/prefect" deployment inspect nar-refresh/demo | grep -E "cron|name" | head -5
echo "== trigger one run now and wait for it (the scheduled ones follow the cron)"
"$BIN/prefect" deployment run nar-refresh/demo --param 'crawl_query={"search": "convnext"}' \
  --param encoder=wl --watch --watch-timeout 900
echo "== dataset: $WORK/data"; ls "$WORK/data" "$WORK/data/_runs"
