#!/bin/sh
# commit (optional): mark the new slot good, e.g. clear the bootloader's
# boot counter so it no longer falls back by itself. Safe to repeat.
set -eu
: "${EXAMPLE_DEVICE_DIR:?set EXAMPLE_DEVICE_DIR in the handler's Config.Env}"
printf '%s\n' "$CLOUDPILLAR_SLOT" > "$EXAMPLE_DEVICE_DIR/committed.tmp"
mv -f "$EXAMPLE_DEVICE_DIR/committed.tmp" "$EXAMPLE_DEVICE_DIR/committed"
