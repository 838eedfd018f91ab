#!/usr/bin/env bash
# Chromium for scripts/check_book_browser.py (make test): Debian's package, headless use only.
# Playwright drives it from pip (resnet-lib[browser]); no browser is downloaded by Playwright.
# Does nothing when a Chromium is already there ($RESNET_BROWSER, or chromium on the PATH).
set -euo pipefail
if [ -n "${RESNET_BROWSER:-}" ] && [ -x "$RESNET_BROWSER" ]; then
  echo "browser: $RESNET_BROWSER"; exit 0
fi
for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then
    echo "browser: $(command -v "$name") ($("$name" --version 2>/dev/null || echo 'version unknown'))"; exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser.sh: no Chromium and no apt-get: install Chromium or Chrome and set RESNET_BROWSER" \
       "to its binary (scripts/check_book_browser.py needs one)" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install_browser.sh: installing Chromium needs root (apt-get install chromium); or set RESNET_BROWSER" >&2
    exit 1
  fi
fi
echo "installing Debian's chromium (apt-get; about a minute)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "browser: $(command -v chromium) ($(chromium --version))"
