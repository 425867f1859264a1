#!/usr/bin/env bash
# bench_storm.sh [BUILD_DIR] [REPS] — the doorbell storm of issue 11, timed on irqremap and
# on QEMU 7.2 in the same script: guest-fw arm64/doorbell-storm stores a mapped EventID to
# GITS_TRANSLATER 2,000,000 times with IRQs masked; arm64/doorbell-storm-unmapped stores an
# unmapped one (every write dropped). Boot is subtracted with arm64/uart-hello run the
# same way; each figure is the best of REPS runs (default 3) of wall time. Prints ns per
# write for both and irqremap's time as a fraction of QEMU's (the goal: at most 0.5).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
reps=${2:-3}
writes=2000000
irq=$build/irqremap
command -v qemu-system-aarch64 >/dev/null || { echo "bench_storm: qemu-system-aarch64 not installed"; exit 1; }
[ -x "$irq" ] || { echo "bench_storm: $irq not built"; exit 1; }

# best wall time in seconds of REPS runs of "$@"
best() {
  local b="" t out
  out=$(mktemp)
  for ((i = 0; i < reps; i++)); do
    /usr/bin/time -o "$out" -f %e "$@" >/dev/null 2>&1
    t=$(tail -1 "$out")
    if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; fi
  done
  rm -f "$out"
  echo "$b"
}
on_irqremap() { best "$irq" run --arch arm64 --firmware "arm64/$1"; }
on_qemu() {
  best qemu-system-aarch64 -nodefaults -M virt,gic-version=3,its=on -cpu cortex-a57 -display none \
    -serial stdio -kernel "$build/guest-fw/arm64-$1.elf"
}

irq_boot=$(on_irqremap uart-hello)
qemu_boot=$(on_qemu uart-hello)
printf '%-26s %12s %12s %10s\n' stub "irqremap" "QEMU 7.2" "irqremap/QEMU"
for stub in doorbell-storm doorbell-storm-unmapped; do
  a=$(on_irqremap "$stub")
  b=$(on_qemu "$stub")
  awk -v a="$a" -v ab="$irq_boot" -v b="$b" -v bb="$qemu_boot" -v n="$writes" -v s="$stub" 'BEGIN {
    x = (a - ab) * 1e9 / n; y = (b - bb) * 1e9 / n
    printf "%-26s %9.0f ns %9.0f ns %10.2fx\n", s, x, y, x / y }'
done
echo "(per write, boot subtracted: uart-hello took ${irq_boot} s on irqremap, ${qemu_boot} s on QEMU; best of $reps)"
