#!/usr/bin/env bash
# Vendors the pinned htmx builds from the npm registry into crates/web/static/vendor/ and
# records their sha256 in SHA256SUMS (a unit test recomputes them from the embedded files).
# `npm pack` checks each tarball against the registry's integrity hash before we unpack it.
# To update: change the versions below, run this script, review the diff, commit.
set -euo pipefail
cd "$(dirname "$0")/.."

HTMX_VERSION=2.0.11
HTMX_SSE_VERSION=2.2.4
DEST=crates/web/static/vendor

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "htmx.org@$HTMX_VERSION" "htmx-ext-sse@$HTMX_SSE_VERSION" >/dev/null)
mkdir -p "$work/htmx" "$work/sse"
tar -xzf "$work/htmx.org-$HTMX_VERSION.tgz" -C "$work/htmx"
tar -xzf "$work/htmx-ext-sse-$HTMX_SSE_VERSION.tgz" -C "$work/sse"

rm -rf "$DEST"
mkdir -p "$DEST"
cp "$work/htmx/package/dist/htmx.min.js" "$DEST/htmx.min.js"
cp "$work/htmx/package/LICENSE" "$DEST/htmx.LICENSE"
cp "$work/sse/package/dist/sse.min.js" "$DEST/htmx-ext-sse.min.js"
cp "$work/sse/package/LICENSE" "$DEST/htmx-ext-sse.LICENSE"
cat > "$DEST/VERSIONS" <<VERSIONS
htmx.org $HTMX_VERSION
htmx-ext-sse $HTMX_SSE_VERSION
VERSIONS

(cd "$DEST" && sha256sum htmx.min.js htmx.LICENSE htmx-ext-sse.min.js htmx-ext-sse.LICENSE VERSIONS > SHA256SUMS)
cat "$DEST/SHA256SUMS"
