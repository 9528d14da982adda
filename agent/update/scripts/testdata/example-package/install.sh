#!/bin/sh
# install: prepare the new slot. It runs in the slot being written
# ($CLOUDPILLAR_SLOT_DIR) while the device still runs
# $CLOUDPILLAR_ACTIVE_SLOT, which it must not touch. A real package would
# unpack an image here or write it to the slot's partition. Safe to repeat:
# the handler empties the slot and copies the package in before each run.
set -eu
: "${EXAMPLE_DEVICE_DIR:?set EXAMPLE_DEVICE_DIR in the handler's Config.Env}"
printf '%s\n' "$CLOUDPILLAR_UPDATE_VERSION" > VERSION
sh ./app.sh --self-test || { echo "the new application does not pass its self-test" >&2; exit 1; }
