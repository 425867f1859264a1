#!/usr/bin/env bash
# Brings the Linux that tests boot on the AArch64 machine:
#   tools/linux-test-data.sh [CACHE_DIR]        (default: build/linux-data)
# Fetches Debian 12's own arm64 kernel (the version linux-image-arm64 points at) and
# busybox-static:arm64 through apt from the system's Debian archive entries, extracts the
# kernel Image and the virtio modules, packs tests/linux/init into an initramfs, and
# prints the paths of CACHE_DIR/Image and CACHE_DIR/initrd.gz on its last two lines.
#
# Changes nothing on the system: apt runs with a private state, cache, sources list and
# architecture list under CACHE_DIR/apt (the system's lists, dpkg database and
# foreign-architecture list are not touched; the script checks the last one). The
# system's apt.conf.d still applies, so a configured proxy is used.
#
# Cached: with CACHE_DIR filled the run makes no network access and takes 0.1 s.
# Delete CACHE_DIR to fetch a newer kernel. When apt cannot fetch, exit status 77 (the
# usual "skipped" code) with one line starting "linux-test-data: cannot reach the Debian
# archive", so tests skip; any other failure is status 1.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "${1:-$repo/build/linux-data}"
cache=$(cd "${1:-$repo/build/linux-data}" && pwd)
init_script=$repo/tests/linux/init
# Loaded in this order by the init script; their own dependencies are added before them.
wanted_modules=(virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_rng)

die() { echo "linux-test-data: $*" >&2; exit 1; }
unreachable() { echo "linux-test-data: cannot reach the Debian archive through apt (see $1)" >&2; exit 77; }
log() { echo "linux-test-data: $*" >&2; }

# Tests may run this concurrently on one cache.
exec 9>"$cache/.lock"
flock 9

foreign_before=$(dpkg --print-foreign-architectures)
host_arch=$(dpkg --print-architecture)

apt_dir=$cache/apt
apt_opts=(
  -o "Dir::State=$apt_dir/state" -o "Dir::State::status=$apt_dir/state/status"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=$apt_dir/empty"
  -o "Dir::Etc::preferences=$apt_dir/empty/none" -o "Dir::Etc::preferencesparts=$apt_dir/empty"
  -o "APT::Architectures=$host_arch,arm64"
  # apt-get update otherwise exits 0 with stale or no lists when the archive is unreachable.
  -o APT::Update::Error-Mode=any
)

# One "deb" line per Debian archive suite the system already uses (Origin "Debian" once
# its lists exist, else a .../debian or .../debian-security URI), so the mirror and
# release are the user's own. Signed by Debian's keyring only.
private_sources() {
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg opt=""
  [[ -r $keyring ]] && opt="[signed-by=$keyring] "
  # shellcheck disable=SC2016 # $(FIELD) is apt's own template syntax
  apt-get indextargets --format '$(TARGET_OF) $(CREATED_BY) $(ORIGIN)|$(REPO_URI) $(RELEASE) $(COMPONENT)' |
    awk -F'|' -v opt="$opt" '
      $1 ~ /^deb Packages (Debian)?$/ && ($1 ~ /Debian$/ || $2 ~ /\/debian(-security)?\/? /) &&
        !seen[$2]++ { print "deb " opt $2 }'
}

fetch_debs() {
  log "fetching through apt (private state in $apt_dir)"
  mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/empty" \
           "$apt_dir/download" "$cache/debs"
  : >"$apt_dir/state/status"
  private_sources >"$apt_dir/sources.list"
  [[ -s $apt_dir/sources.list ]] || die "no Debian archive entry in the system's apt sources"
  apt-get "${apt_opts[@]}" update >"$apt_dir/update.log" 2>&1 || unreachable "$apt_dir/update.log"

  local kernel
  kernel=$(apt-cache "${apt_opts[@]}" depends linux-image-arm64:arm64 |
           sed -n 's/^ *Depends: \(linux-image-[0-9].*-arm64\)\(:arm64\)\?$/\1/p' | head -n1)
  [[ -n $kernel ]] || die "cannot resolve linux-image-arm64:arm64 (see $apt_dir/sources.list)"

  # cpio is only used when the host has none: fetching it keeps the host unchanged.
  local pkgs=("$kernel:arm64" busybox-static:arm64 "cpio:$host_arch")
  # Downloads are done as the unprivileged _apt user when apt runs as root.
  rm -f "$apt_dir/download"/*.deb
  if ((EUID == 0)) && id _apt >/dev/null 2>&1; then chown _apt "$apt_dir/download"; fi
  (cd "$apt_dir/download" && apt-get "${apt_opts[@]}" download "${pkgs[@]}") \
    >"$apt_dir/download.log" 2>&1 || unreachable "$apt_dir/download.log"
  rm -f "$cache/debs"/*.deb
  mv "$apt_dir/download"/*.deb "$cache/debs/"
  local debs=("$cache/debs/${kernel}"_*.deb "$cache"/debs/busybox-static_*.deb "$cache"/debs/cpio_*.deb)
  # Written last: its presence means every .deb is complete.
  printf 'kernel %s\nbusybox %s\ncpio %s\n' "${debs[@]##*/}" >"$cache/debs/manifest"
}

deb_of() { echo "$cache/debs/$(sed -n "s/^$1 //p" "$cache/debs/manifest")"; }

# A module's own "depends=" list (its .modinfo section): what depmod writes into
# modules.dep, which the package does not ship (depmod runs at install time).
module_depends() {
  case $1 in
    *.ko.xz) xz -dc "$1" ;;
    *.ko.zst) zstd -dcq "$1" ;;
    *) cat "$1" ;;
  esac | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '
}

# Image and modules/ from the kernel package, into CACHE_DIR.
extract_kernel() {
  local deb tree vmlinuz magic
  deb=$(deb_of kernel)
  log "extracting ${deb##*/}"
  tree=$cache/tmp-kernel
  rm -rf "$tree" "$cache/modules"
  mkdir -p "$tree" "$cache/modules"
  dpkg-deb -x "$deb" "$tree"

  vmlinuz=$(ls "$tree"/boot/vmlinuz-*)
  # Debian's signed arm64 package ships the Image itself (an EFI PE file); an
  # unsigned one may ship it gzip-compressed.
  if [[ $(od -An -tx1 -N2 "$vmlinuz" | tr -d ' ') == 1f8b ]]; then
    gzip -dc "$vmlinuz" >"$cache/Image.tmp"
  else
    cp "$vmlinuz" "$cache/Image.tmp"
  fi
  magic=$(od -An -c -j $((0x38)) -N4 "$cache/Image.tmp" | tr -d ' ')
  [[ $magic == ARMd ]] || die "${vmlinuz##*/} is not an arm64 Image (no \"ARM\\x64\" at 0x38)"
  mv "$cache/Image.tmp" "$cache/Image"

  local -A path_of=() added=()
  local f n order=()
  while IFS= read -r -d '' f; do
    n=${f##*/}
    n=${n%%.ko*}
    path_of[${n//-/_}]=$f
  done < <(find "$tree"/lib/modules -name '*.ko*' -print0)

  add_module() {
    local name=$1 dep file
    [[ -z ${added[$name]:-} ]] || return 0
    added[$name]=1
    file=${path_of[$name]:-}
    [[ -n $file ]] || die "module $name is not in ${deb##*/}"
    for dep in $(module_depends "$file"); do add_module "$dep"; done
    # busybox insmod gets plain .ko files whatever the package's compression.
    case $file in
      *.ko.xz) xz -dc "$file" >"$cache/modules/$name.ko" ;;
      *.ko.zst) zstd -dcq "$file" >"$cache/modules/$name.ko" ;;
      *) cp "$file" "$cache/modules/$name.ko" ;;
    esac
    order+=("$name")
  }
  for n in "${wanted_modules[@]}"; do add_module "$n"; done
  printf '%s\n' "${order[@]}" >"$cache/modules/order"
  rm -rf "$tree"
}

build_initramfs() {
  local root=$cache/initramfs cpio_bin
  log "building initrd.gz"
  rm -rf "$root"
  mkdir -p "$root/bin" "$root/lib/modules"
  install -m 0755 "$init_script" "$root/init"
  dpkg-deb --fsys-tarfile "$(deb_of busybox)" | tar -xO ./bin/busybox >"$root/bin/busybox"
  chmod 0755 "$root/bin/busybox"
  # ELF class 64, little-endian, e_machine 183 (AArch64): not a host binary by mistake.
  [[ $(od -An -tx1 -j4 -N2 "$root/bin/busybox" | tr -d ' ') == 0201 &&
     $(od -An -tu2 -j18 -N2 "$root/bin/busybox" | tr -d ' ') == 183 ]] ||
    die "busybox from $(deb_of busybox) is not an arm64 ELF"
  cp "$cache"/modules/*.ko "$cache/modules/order" "$root/lib/modules/"

  cpio_bin=$(command -v cpio || true)
  if [[ -z $cpio_bin ]]; then
    mkdir -p "$cache/tools"
    dpkg-deb --fsys-tarfile "$(deb_of cpio)" | tar -xO ./bin/cpio >"$cache/tools/cpio"
    chmod 0755 "$cache/tools/cpio"
    cpio_bin=$cache/tools/cpio
  fi
  # Fixed times and owners: the same inputs give the same initrd.gz byte for byte.
  find "$root" -exec touch -h -d @0 {} +
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
     "$cpio_bin" -o -H newc -R 0:0 --reproducible --quiet) | gzip -9n >"$cache/initrd.gz.tmp"
  mv "$cache/initrd.gz.tmp" "$cache/initrd.gz"
}

# What each stage was made from; a stage whose inputs are unchanged is skipped.
kernel_key() { { cat "$0" "$cache/debs/manifest"; printf '%s\n' "${wanted_modules[@]}"; } | sha256sum | cut -d' ' -f1; }
initrd_key() {
  cat "$0" "$init_script" "$cache/modules/order" "$cache/debs/manifest" "$cache"/modules/*.ko |
    sha256sum | cut -d' ' -f1
}

[[ -s $cache/debs/manifest ]] || fetch_debs
if [[ ! -s $cache/Image || $(cat "$cache/kernel.stamp" 2>/dev/null) != "$(kernel_key)" ]]; then
  extract_kernel
  kernel_key >"$cache/kernel.stamp"
fi
if [[ ! -s $cache/initrd.gz || $(cat "$cache/initrd.stamp" 2>/dev/null) != "$(initrd_key)" ]]; then
  build_initramfs
  initrd_key >"$cache/initrd.stamp"
fi

[[ $(dpkg --print-foreign-architectures) == "$foreign_before" ]] ||
  die "dpkg's foreign architectures changed during the run (was: '${foreign_before}')"
log "kernel $(basename "$(deb_of kernel)"), $(basename "$(deb_of busybox)")"
echo "$cache/Image"
echo "$cache/initrd.gz"
