#!/bin/sh
# Starts the daemons the demo talks to, runs it, stops them.
# Usage: run-demo.sh DIR   (DIR holds kvmshimd and kvmshim-demo, or bin/)
dir=${1:?usage: run-demo.sh DIR}
if [ -x "$dir/kvmshimd" ]; then bindir=$dir; else bindir=$dir/bin; fi
demo=$bindir/kvmshim-demo
[ -x "$demo" ] || demo=$dir/test/kvmshim-demo
export KVMSHIMD="$bindir/kvmshimd"
exec "$demo"
