#!/usr/bin/env bash
# Load test of `gavel serve` on loopback with wrk (Debian's package): samples/s and latency for
# the `format` plugin and the R1 policy in batches of 64, a run past saturation (503s only),
# and a soak that checks the daemon's memory does not grow. Bounded in count and time.
#
#   tests/load/daemon.sh [soak seconds, default 120]
set -euo pipefail
cd "$(dirname "$0")/../.."
soak="${1:-120}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gavel/target}"
command -v wrk >/dev/null || { apt-get install -y -q wrk >/dev/null || sudo apt-get install -y -q wrk >/dev/null; }
cargo build --release --locked -q -p gavel
gavel="$CARGO_TARGET_DIR/release/gavel"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

printf 'version = 1\nreward = "format"\n[sources.format]\nkind = "wasm"\nplugin = "format"\n' > "$work/format.toml"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
lines = [json.loads(l) for l in open("examples/grpo-rollouts.jsonl")]
batch = [dict(lines[i % 8], id=str(i), group=f"g{i // 8}") for i in range(64)]
open(f"{work}/body.json", "w").write(json.dumps(batch))
open(f"{work}/post.lua", "w").write(
    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
    f'wrk.body = io.open("{work}/body.json"):read("*a")\n'
    'done = function(summary, latency, requests)\n'
    '  io.write(string.format("RESULT requests=%d errors_status=%d p50_ms=%.2f p99_ms=%.2f secs=%.2f\\n",\n'
    '    summary.requests, summary.errors.status, latency:percentile(50)/1000, latency:percentile(99)/1000, summary.duration/1e6))\n'
    'end\n')
PY

serve() { # policy port extra-args...
    local policy=$1 port=$2; shift 2
    "$gavel" serve --policy "$policy" --listen "127.0.0.1:$port" "$@" 2>"$work/serve-$port.log" &
    for _ in $(seq 100); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
    echo "the daemon did not start" >&2; cat "$work/serve-$port.log" >&2; exit 1
}
load() { # name url connections seconds
    local out; out=$(wrk -t2 -c"$3" -d"$4"s -s "$work/post.lua" "$2" | grep RESULT)
    local req secs; req=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$out"); secs=$(sed 's/.*secs=\([0-9.]*\).*/\1/' <<<"$out")
    printf '%-28s samples/s %9.0f  %s\n' "$1" "$(python3 -c "print($req * 64 / $secs)")" "$out"
}
codes() { curl -s "127.0.0.1:$1/metrics" | grep gavel_requests_total | grep -v '^#' | tr '\n' ' '; echo; }

serve "$work/format.toml" 18401
load "format, 4 connections" http://127.0.0.1:18401/v1/score 4 10
codes 18401
serve examples/policies/r1_sum.toml 18402
load "R1 policy, 4 connections" http://127.0.0.1:18402/v1/score 4 10
codes 18402
serve examples/policies/r1_sum.toml 18403 --max-in-flight 2 --max-queued 2
echo "R1 past saturation (2 in flight, 2 queued, 64 connections): responses by code:"
wrk -t2 -c64 -d10s -s "$work/post.lua" http://127.0.0.1:18403/v1/score | grep RESULT
codes 18403

pid=$(pgrep -f "listen 127.0.0.1:18402")
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
load "R1 warm-up" http://127.0.0.1:18402/v1/score 4 10 >/dev/null
before=$(rss)
load "R1 soak, ${soak}s" http://127.0.0.1:18402/v1/score 4 "$soak"
after=$(rss)
echo "soak RSS: ${before} kB after warm-up, ${after} kB after ${soak}s"
