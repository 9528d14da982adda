#!/bin/sh
# activate: make the device run the new slot. The example device is a
# directory whose file "current" names the slot it runs; a real device
# would set its bootloader's next slot or switch a symlink and restart a
# service. Write-then-rename keeps the switch atomic. Must be safe to run
# again after a power loss cut it short.
set -eu
: "${EXAMPLE_DEVICE_DIR:?set EXAMPLE_DEVICE_DIR in the handler's Config.Env}"
printf '%s\n' "$CLOUDPILLAR_SLOT" > "$EXAMPLE_DEVICE_DIR/current.tmp"
mv -f "$EXAMPLE_DEVICE_DIR/current.tmp" "$EXAMPLE_DEVICE_DIR/current"
