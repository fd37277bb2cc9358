#!/usr/bin/env bash
# Measures the Log's append and read throughput beside the disk's own speed, in one run:
#
#  0. Builds ferry-core and ferry-bench from this checkout (-pl ferry-bench -am), so the jar measures
#     this tree's Log and not whatever ferry-core another build left in ~/.m2.
#  1. dd, the baseline: 512 MiB written sequentially with one fdatasync at the end (the disk's raw
#     sequential bandwidth), then 256 MiB in blocks of exactly one append's frame with O_DSYNC (a
#     flush per block: the ceiling for fsync per batch).
#  2. JMH: LogAppendBenchmark and LogReadBenchmark from ferry-bench/target/benchmarks.jar (their
#     Javadoc says what each case measures).
#  3. dd again: the machine is shared, so the disk's speed before and after shows how much it drifted.
#  4. A table with the ratio Ferry append MB/s ÷ dd MB/s, and one dated row per event size appended
#     to docs/benchmarks.md. MB is 10^6 bytes, as dd counts.
#
# Usage (from anywhere; about five minutes):
#   ferry-bench/run-log-bench.sh [more JMH options, e.g. -p eventBytes=200]
# Environment:
#   FERRY_BENCH_DIR      where the Log, the raw files and dd.bin go (default ferry-bench/target/bench-data);
#                        keep it on the file system you want to measure
#   FERRY_BENCH_NO_DOCS  set to 1 to print the table without touching docs/benchmarks.md
#   FERRY_BENCH_NO_BUILD set to 1 to use ferry-bench/target/benchmarks.jar as it is
# Needs bash, dd, java 17 and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

JAR=ferry-bench/target/benchmarks.jar
DIR=${FERRY_BENCH_DIR:-ferry-bench/target/bench-data}
DOC=docs/benchmarks.md
OUT=ferry-bench/target/bench-results/$(date -u +%Y%m%dT%H%M%SZ)

if [ "${FERRY_BENCH_NO_BUILD:-0}" != 1 ]; then
  ./mvnw -q -B -DskipTests -pl ferry-bench -am package
fi
mkdir -p "$DIR" "$OUT"
trap 'rm -f "$DIR/dd.bin"' EXIT

fs_type=$(df -PT "$DIR" | awk 'NR==2 {print $2}')
fs_dev=$(df -PT "$DIR" | awk 'NR==2 {print $1}')
machine="$(nproc) cpu, $(free -g | awk '/^Mem:/ {print $2}') GiB, $fs_type on $fs_dev"
load=$(cut -d' ' -f1 /proc/loadavg)
commit=$(git describe --always --dirty 2>/dev/null || echo unknown)
echo "files under $DIR ($machine); load average $load; commit $commit; results in $OUT"

# The bytes one append of each event size puts on disk, so dd's blocks match Ferry's batches.
java -Dferry.bench.dir="$DIR" -cp "$JAR" dev.ferry.bench.Workload > "$OUT/frames.txt"

# MB/s of one dd run, from dd's own byte count and elapsed seconds (more digits than its summary).
dd_mbps() {
  rm -f "$DIR/dd.bin"
  local line
  line=$(dd if=/dev/zero of="$DIR/dd.bin" "$@" 2>&1 | tail -1)
  rm -f "$DIR/dd.bin"
  echo "$line" | awk '{ for (i = 1; i <= NF; i++) if ($i == "copied,") s = $(i + 1); printf "%.1f\n", $1 / s / 1e6 }'
}

# Writes "seq <MB/s>" and "dsync <eventBytes> <frameBytes> <MB/s>" lines to $1.
baseline() {
  local out=$1 mbps
  mbps=$(dd_mbps bs=1M count=512 conv=fdatasync)
  echo "seq $mbps" > "$out"
  echo "dd bs=1M count=512 conv=fdatasync: $mbps MB/s"
  while read -r event frame; do
    mbps=$(dd_mbps bs="$frame" count=$(( 256 * 1024 * 1024 / frame )) oflag=dsync)
    echo "dsync $event $frame $mbps" >> "$out"
    echo "dd bs=$frame (one ${event}-byte-event append) oflag=dsync, 256 MiB: $mbps MB/s"
  done < "$OUT/frames.txt"
}

echo "== disk baseline, before"
baseline "$OUT/dd-before.txt"

echo "== JMH"
java -jar "$JAR" 'dev\.ferry\.bench\.Log(Append|Read)Benchmark' \
  -rf json -rff "$OUT/jmh.json" -jvmArgsAppend "-Dferry.bench.dir=$DIR" "$@" | tee "$OUT/jmh.txt"

echo "== disk baseline, after"
baseline "$OUT/dd-after.txt"

DOC_PATH=$DOC NO_DOCS=${FERRY_BENCH_NO_DOCS:-0} OUT=$OUT MACHINE=$machine LOAD=$load COMMIT=$commit python3 - <<'EOF'
import datetime, json, os

out = os.environ["OUT"]

def dd(path):
    seq, dsync = None, {}
    for line in open(path, encoding="utf-8"):
        f = line.split()
        if f[0] == "seq":
            seq = float(f[1])
        else:
            dsync[f[1]] = float(f[3])
    return seq, dsync

seq_before, dsync_before = dd(f"{out}/dd-before.txt")
seq_after, dsync_after = dd(f"{out}/dd-after.txt")

results = {}  # (method, eventBytes) -> (events/s, MB/s)
for r in json.load(open(f"{out}/jmh.json", encoding="utf-8")):
    method = r["benchmark"].rsplit(".", 1)[1]
    size = r["params"]["eventBytes"]
    events = r["primaryMetric"]["score"]
    mb = r["secondaryMetrics"]["bytes"]["score"] / 1e6
    results[(method, size)] = (events, mb)

def mean(a, b):
    return (a + b) / 2

def num(x):
    return "–" if x is None else f"{x:,.0f}"

def ratio(a, b):
    return "–" if a is None or not b else f"{a / b:.2f}"

def get(method, size, i):
    v = results.get((method, size))
    return None if v is None else v[i]

rows = []
for size in sorted({s for (_, s) in results} | set(dsync_before), key=int):
    seq = mean(seq_before, seq_after)
    dsync = mean(dsync_before[size], dsync_after[size]) if size in dsync_before and size in dsync_after else None
    append_mb = get("append", size, 1)
    interval_mb = get("appendFsyncInterval", size, 1)
    rows.append({
        "event": size,
        "seq": f"{seq:,.0f} ({seq_before:,.0f}/{seq_after:,.0f})",
        "dsync": "–" if dsync is None else f"{dsync:,.0f} ({dsync_before[size]:,.0f}/{dsync_after[size]:,.0f})",
        "append_ev": num(get("append", size, 0)),
        "append_mb": num(append_mb),
        "vs_seq": ratio(append_mb, seq),
        "vs_dsync": ratio(append_mb, dsync),
        "interval": num(interval_mb),
        "interval_vs_seq": ratio(interval_mb, seq),
        "raw_fsync": num(get("rawWriteFsync", size, 1)),
        "tmpfs": num(get("appendTmpfs", size, 1)),
        "page_cache": num(get("rawWrite", size, 1)),
        "read_ev": num(get("read", size, 0)),
        "read_mb": num(get("read", size, 1)),
        "raw_read": num(get("rawRead", size, 1)),
    })

columns = [("event", "event B"),
           ("seq", "dd seq MB/s (before/after)"),
           ("dsync", "dd dsync/batch MB/s (before/after)"),
           ("append_ev", "append events/s"),
           ("append_mb", "append MB/s"),
           ("vs_seq", "append ÷ dd seq"),
           ("vs_dsync", "append ÷ dd dsync"),
           ("interval", "append fsync interval MB/s"),
           ("interval_vs_seq", "fsync interval ÷ dd seq"),
           ("raw_fsync", "raw write+fsync MB/s"),
           ("tmpfs", "append tmpfs MB/s"),
           ("page_cache", "raw write MB/s"),
           ("read_ev", "read events/s"),
           ("read_mb", "read MB/s"),
           ("raw_read", "raw read MB/s")]

print()
for key, title in columns:
    print(f"{title:>36}  " + "  ".join(f"{r[key]:>22}" for r in rows))
for r in rows:
    for mode, key in (("fsync per batch", "vs_seq"), ("fsync interval", "interval_vs_seq")):
        if r[key] != "–":
            verdict = "met" if float(r[key]) >= 0.5 else "NOT met"
            print(f"{r['event']}-byte events, {mode}: appends at {r[key]} of the disk's sequential bandwidth "
                  f"(target >= 0.50: {verdict})")

if os.environ["NO_DOCS"] != "1":
    if not os.path.exists(os.environ["DOC_PATH"]):
        with open(os.environ["DOC_PATH"], "w", encoding="utf-8") as doc:
            doc.write("# Benchmarks\n\nRows appended by ferry-bench/run-log-bench.sh.\n\n")
            doc.write("| date | commit | machine | load | " + " | ".join(t for _, t in columns) + " |\n")
            doc.write("|" + "---|" * (4 + len(columns)) + "\n")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with open(os.environ["DOC_PATH"], "a", encoding="utf-8") as doc:
        for r in rows:
            cells = [now, os.environ["COMMIT"], os.environ["MACHINE"], os.environ["LOAD"]] + [r[k] for k, _ in columns]
            doc.write("| " + " | ".join(cells) + " |\n")
    print(f"appended {len(rows)} rows to {os.environ['DOC_PATH']}")
EOF
