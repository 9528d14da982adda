#!/bin/sh
# rollback: return the device to $CLOUDPILLAR_PREVIOUS_SLOT. It must
# succeed whether activate ran fully, partly or not at all, and be safe to
# repeat: the handler also uses it to undo a failed or interrupted
# activation.
set -eu
: "${EXAMPLE_DEVICE_DIR:?set EXAMPLE_DEVICE_DIR in the handler's Config.Env}"
printf '%s\n' "$CLOUDPILLAR_PREVIOUS_SLOT" > "$EXAMPLE_DEVICE_DIR/current.tmp"
mv -f "$EXAMPLE_DEVICE_DIR/current.tmp" "$EXAMPLE_DEVICE_DIR/current"
