#!/usr/bin/env bash
# bench_guest.sh [BUILD_DIR] [REPS] — guest execution speed, irqremap against QEMU 7.2 in
# the same script (issue 36): wall time of the same image run to power-off on both, each
# figure the median of REPS runs (default 3), and irqremap's time as a multiple of QEMU's.
#   compute     guest-fw arm64/compute: a fixed sieve workload (byte stores, loads, branches)
#   uart-hello  boot and power-off alone (what every row above pays once)
#   linux       Debian's arm64 kernel with virtio-rng-pci: /init reads it, moves its
#               interrupt, offlines a CPU, powers off (tools/linux-test-data.sh; skipped
#               when its data is not there)
# and, on irqremap only, instructions per second of kvm-unit-tests' arm64 sieve.flat over
# its first 100 M instructions (QEMU cannot stop at an instruction count; its full run
# takes 70-75 s). The doorbell storm has its own script, tools/bench_storm.sh.
# x86 (when qemu-system-x86_64 is there): kvm-unit-tests' x86 sieve.flat from start to its
# first checkpoint line ("mapped:", after its static and paged sieves) on both, and its
# first 100 M instructions on irqremap. IRQREMAP_BENCH_FULL=1 adds whole sieve.flat runs on
# both machines (minutes each).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
reps=${2:-3}
irq=$build/irqremap
[ -x "$irq" ] || { echo "bench_guest: $irq not built"; exit 1; }
command -v qemu-system-aarch64 >/dev/null || { echo "bench_guest: qemu-system-aarch64 not installed"; exit 1; }
kut=${IRQREMAP_KVM_UNIT_TESTS:-$here/../shared/kvm-unit-tests}
linux=${IRQREMAP_LINUX_DATA:-$build/linux-data}

# median wall time in seconds of REPS runs of "$@"
median() {
  local out times=()
  out=$(mktemp)
  for ((i = 0; i < reps; i++)); do
    /usr/bin/time -o "$out" -f %e "$@" >/dev/null 2>&1 || true
    times+=("$(tail -1 "$out")")
  done
  rm -f "$out"
  printf '%s\n' "${times[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
qemu_virt=(qemu-system-aarch64 -nodefaults -M virt,gic-version=3,its=on -cpu cortex-a57 -display none -serial stdio)
row() {  # name irqremap-seconds qemu-seconds
  awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%-12s %10.2f s %10.2f s %10.1fx\n", n, a, b, a / b }'
}

printf '%-12s %12s %12s %11s\n' row irqremap "QEMU 7.2" irqremap/QEMU
for stub in uart-hello compute; do
  row "$stub" "$(median "$irq" run --arch arm64 --firmware "arm64/$stub")" \
      "$(median "${qemu_virt[@]}" -kernel "$build/guest-fw/arm64-$stub.elf")"
done
if [ -f "$linux/Image" ] && [ -f "$linux/initrd.gz" ]; then
  append="console=ttyAMA0 rdinit=/init"
  row linux "$(median "$irq" run --arch arm64 --smp 4 --mem 512 --kernel "$linux/Image" --initrd "$linux/initrd.gz" --append "$append" --device virtio-rng-pci)" \
      "$(median "${qemu_virt[@]}" -smp 4 -m 512 -no-reboot -nic none -kernel "$linux/Image" -initrd "$linux/initrd.gz" -append "$append" -device virtio-rng-pci)"
else
  echo "linux        skipped: no $linux/Image (bash tools/linux-test-data.sh $linux)"
fi
if [ -f "$kut/arm64/sieve.flat" ]; then
  n=100000000
  t=$(median "$irq" run --arch arm64 --kernel "$kut/arm64/sieve.flat" --max-insns "$n")
  awk -v t="$t" -v n="$n" 'BEGIN { printf "sieve.flat   %10.2f s for %d M instructions on irqremap: %.0f M/s\n", t, n / 1e6, n / t / 1e6 }'
else
  echo "sieve.flat   skipped: no $kut/arm64/sieve.flat"
fi
# median wall time in seconds from the start of "$@" until a line of its output matches
# PATTERN (the run is then ended)
median_until() {
  local pattern=$1 times=() fifo start end pid
  shift
  for ((i = 0; i < reps; i++)); do
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    start=$(date +%s.%N)
    "$@" >"$fifo" 2>/dev/null </dev/null &
    pid=$!
    grep -m1 -q -- "$pattern" <"$fifo" || true
    end=$(date +%s.%N)
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$fifo"
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
if [ -f "$kut/x86/sieve.flat" ] && command -v qemu-system-x86_64 >/dev/null; then
  qemu_q35=(qemu-system-x86_64 -M q35 -nodefaults -display none -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x4)
  row "x86 sieve" "$(median_until mapped: "$irq" run --arch x86 --kernel "$kut/x86/sieve.flat")" \
      "$(median_until mapped: "${qemu_q35[@]}" -kernel "$kut/x86/sieve.flat")"
  n=100000000
  t=$(median "$irq" run --arch x86 --kernel "$kut/x86/sieve.flat" --max-insns "$n")
  awk -v t="$t" -v n="$n" 'BEGIN { printf "x86 sieve    %10.2f s for %d M instructions on irqremap: %.0f M/s\n", t, n / 1e6, n / t / 1e6 }'
else
  echo "x86 sieve    skipped: no $kut/x86/sieve.flat or no qemu-system-x86_64"
fi
# Whole runs of kvm-unit-tests' sieve.flat to power-off on both machines (QEMU takes about a
# minute on each, irqremap several): only with IRQREMAP_BENCH_FULL=1 (REPS=1 is enough).
if [ "${IRQREMAP_BENCH_FULL:-0}" = 1 ]; then
  if [ -f "$kut/arm64/sieve.flat" ]; then
    row "sieve full" "$(median "$irq" run --arch arm64 --kernel "$kut/arm64/sieve.flat")" \
        "$(median "${qemu_virt[@]}" -kernel "$kut/arm64/sieve.flat")"
  fi
  if [ -f "$kut/x86/sieve.flat" ] && command -v qemu-system-x86_64 >/dev/null; then
    row "x86 full" "$(median "$irq" run --arch x86 --kernel "$kut/x86/sieve.flat")" \
        "$(median "${qemu_q35[@]}" -kernel "$kut/x86/sieve.flat")"
  fi
fi
echo "(median of $reps runs, wall time; the machine's other load adds noise: compare rows of one run)"
