#!/usr/bin/env bash
# Install the Debian packages of .ci/system-packages that are missing.
#   .ci/system-packages.sh ci test   # the packages needed by these groups ("all": every one)
#   .ci/system-packages.sh --list    # print them (package and what for)
# Without root (or password-less sudo) it says what is missing and exits 0 with --soft.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
list="$here/system-packages"
soft=false
list_only=false
groups=()
for arg in "$@"; do
  case "$arg" in
    --soft) soft=true ;;
    --list) list_only=true ;;
    *) groups+=("$arg") ;;
  esac
done
[ ${#groups[@]} -gt 0 ] || groups=(all)

missing=()
# Columns: package, group, a three-word check ("test -d PATH", "command -v NAME"), what for.
while read -r package group c1 c2 c3 purpose; do
  [[ -z "$package" || "$package" == \#* ]] && continue
  if $list_only; then printf '%-16s %-5s %s\n' "$package" "$group" "$purpose"; continue; fi
  wanted=false
  for g in "${groups[@]}"; do [[ "$g" == all || "$g" == "$group" ]] && wanted=true; done
  $wanted || continue
  if ! "$c1" "$c2" "$c3" >/dev/null 2>&1; then missing+=("$package"); fi
done <"$list"
$list_only && exit 0

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then sudo=(); elif sudo -n true 2>/dev/null; then sudo=(sudo); else
  echo "missing system packages: ${missing[*]} (apt-get install -y ${missing[*]}, as root)" >&2
  $soft && exit 0 || exit 1
fi
echo "installing system packages: ${missing[*]}"
"${sudo[@]}" apt-get update -qq || true
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
