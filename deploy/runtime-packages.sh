#!/usr/bin/env bash
# Prints the Debian packages that hold the shared libraries the given
# programs link directly (their ELF NEEDED entries), one per line, sorted.
# The Dockerfile's runtime stage installs exactly these (apt brings their own
# dependencies), so the image carries runtime libraries only and stays in step
# with the build: a library added to CMakeLists.txt needs no Dockerfile edit.
# Usage: runtime-packages.sh PROGRAM...
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: runtime-packages.sh PROGRAM..." >&2; exit 2; }

# The package owning a file; usrmerge means dpkg may know it under /lib or /usr/lib.
owner() {
  local f=$1 real alt
  real=$(readlink -f "$f")
  for p in "$f" "$real" "${f#/usr}" "/usr$f" "${real#/usr}" "/usr$real"; do
    if out=$(dpkg-query -S "$p" 2>/dev/null); then
      echo "${out%%:*}"
      return 0
    fi
  done
  return 1
}

declare -A pkgs=()
for prog in "$@"; do
  [ -x "$prog" ] || { echo "runtime-packages: $prog: not an executable" >&2; exit 1; }
  # soname -> path as the dynamic linker resolves it for this program
  declare -A where=()
  while read -r name _ path _; do
    [ -n "${path:-}" ] && [ "${path:0:1}" = / ] && where[$name]=$path
  done < <(ldd "$prog")
  while read -r soname; do
    path=${where[$soname]:-}
    [ -n "$path" ] || { echo "runtime-packages: $prog: $soname not found by ldd" >&2; exit 1; }
    pkg=$(owner "$path") || { echo "runtime-packages: $prog: no Debian package holds $path" >&2; exit 1; }
    pkgs[$pkg]=1
  done < <(objdump -p "$prog" | awk '$1 == "NEEDED" {print $2}')
  unset where
done
printf '%s\n' "${!pkgs[@]}" | sed 's/:amd64$//; s/:arm64$//' | sort -u
