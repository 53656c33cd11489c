#!/usr/bin/env bash
# binfmt.sh: makes foreign-architecture code runnable for the lab's pods:
# mounts binfmt_misc if needed and registers qemu-user-static's interpreter
# for the other architecture (arm64 on amd64, amd64 on arm64) with the F flag
# (binfmt-support's registration of Debian's qemu-user-static has it), which
# opens the interpreter at registration, so it works inside a sandbox whose
# root filesystem lacks it. Needs root; otherwise it says so and fails.
#
# Exit status 0 when the interpreter is registered with F, 1 otherwise (with
# one line on stderr saying why and what to do).
set -euo pipefail

log() { printf '[lab binfmt %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

dir=${KBUILD_LAB_BINFMT_DIR:-/proc/sys/fs/binfmt_misc}
case $(dpkg --print-architecture 2>/dev/null || uname -m) in
  amd64 | x86_64) name=qemu-aarch64 foreign=arm64 ;;
  arm64 | aarch64) name=qemu-x86_64 foreign=amd64 ;;
  *)
    log "no foreign architecture is emulated on $(uname -m)"
    exit 1
    ;;
esac

registered() { [[ -f $dir/$name ]] && head -n 1 "$dir/$name" | grep -qx enabled && grep -q '^flags: .*F' "$dir/$name"; }

if registered; then
  exit 0
fi
if [[ $(id -u) != 0 ]]; then
  log "$foreign pods cannot run: $name is not registered in $dir with flag F, and registering it needs root (run lab/scripts/binfmt.sh as root)"
  exit 1
fi
if [[ ! -f $dir/register ]]; then
  mount -t binfmt_misc binfmt_misc "$dir" 2>/dev/null || {
    log "$foreign pods cannot run: cannot mount binfmt_misc on $dir (mount -t binfmt_misc binfmt_misc $dir failed)"
    exit 1
  }
fi
if ! update-binfmts --enable "$name" >/dev/null 2>&1 && ! registered; then
  log "$foreign pods cannot run: update-binfmts --enable $name failed (is qemu-user-static installed? lab/scripts/prereqs.sh installs it)"
  exit 1
fi
if ! registered; then
  log "$foreign pods cannot run: $name is registered without flag F ($(grep '^flags' "$dir/$name")); remove it (echo -1 > $dir/$name) and run this again"
  exit 1
fi
log "$name registered in $dir ($(grep '^flags' "$dir/$name"))"
