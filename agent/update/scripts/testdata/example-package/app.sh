#!/bin/sh
# The example application: a stand-in for the device software this package
# delivers. install.sh writes its VERSION file next to it.
here=$(dirname "$0")
case "${1:-}" in
--version) cat "$here/VERSION" ;;
--self-test) [ -s "$here/VERSION" ] ;;
*) echo "example application $(cat "$here/VERSION")" ;;
esac
