#!/bin/sh
# health: decide whether the new slot is good. Exit 0 commits it; anything
# else rolls the device back. It should only observe, never change, the
# device.
set -eu
: "${EXAMPLE_DEVICE_DIR:?set EXAMPLE_DEVICE_DIR in the handler's Config.Env}"
running=$(cat "$EXAMPLE_DEVICE_DIR/current")
if [ "$running" != "$CLOUDPILLAR_SLOT" ]; then
	echo "the device runs slot $running, not $CLOUDPILLAR_SLOT" >&2
	exit 1
fi
sh ./app.sh --self-test || { echo "self-test of $CLOUDPILLAR_UPDATE_VERSION failed" >&2; exit 1; }
