#!/usr/bin/env bash
# Debian packages the book uses when they can be had: chromium (the browser check of the built
# pages) and dataset-fashion-mnist (a second real image dataset). Installs only what is missing,
# only as root with apt; otherwise says what is missing and carries on (the checks that need them
# then report a visible skip, and `make data` says where to put Fashion-MNIST).
set -u
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    && exit 0
  echo "note: apt-get could not install ${missing[*]}"
else
  echo "note: not installed: ${missing[*]} (as root: apt-get install ${missing[*]})"
fi
exit 0
