#!/bin/sh
# The installed kvmshimd@.service under a real systemd (PID 1 in the lab VM,
# run.sh systemd): sysusers, start with Type=notify, the unit's sandbox and
# user, STATUS=, native journal fields, the watchdog both ways, stop.
# Runs as kvmshim-labvm.service; prints TAP lines and the result line.
exec >/dev/console 2>&1

inst=s390x
unit=kvmshimd@$inst.service
node=/dev/kvmshim-$inst
client_uid=1000
n=0
fails=0

ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}

not_ok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n - $*"
}

# check DESCRIPTION COMMAND...
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# is GOT WANT
is() {
	[ "$1" = "$2" ] && return 0
	echo "#   got '$1', want '$2'"
	return 1
}

prop() {
	systemctl show -P "$1" "$unit"
}

# within SECONDS COMMAND...: true once COMMAND succeeds
within() {
	tries=$(($1 * 10))
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

finish() {
	echo "# $fails of $n failed"
	[ "$fails" = 0 ] || {
		systemctl status --no-pager "$unit"
		journalctl --no-pager -o short-monotonic -n 60
	}
	echo "KVMSHIM-RESULT: rc=$((fails ? 1 : 0))"
	poweroff -f
}

# journal FIELD=VALUE...: the unit's entries that have all of them
journal() {
	journalctl --no-pager -o cat -u "$unit" "$@"
}

run_client() {
	out=$(unit-client "$node" kvm "$client_uid")
	rc=$?
	echo "$out" | sed 's/^/    /'
	client_pid=$(echo "$out" | sed -n 's/^client pid //p')
	return $rc
}

restarted() {
	[ "$(prop NRestarts)" = 1 ] && [ "$(prop ActiveState)" = active ] &&
		[ "$(prop MainPID)" != 0 ] && [ "$(prop MainPID)" != "$pid" ]
}

echo "KVMSHIM-BOOTED: $(uname -r), $(systemctl --version | head -n 1)"
check "PID 1 is systemd" is "$(cat /proc/1/comm)" systemd

# the users come from the package's sysusers.d file, as on a host
check "systemd-sysusers" systemd-sysusers
check "it declares user kvmshim" grep -q '^kvmshim:' /etc/passwd
check "and group kvm" grep -q '^kvm:' /etc/group

# EnvironmentFile= of the instance, and a watchdog short enough to watch
mkdir -p /etc/kvmshim "/run/systemd/system/$unit.d"
echo 'KVMSHIM_OPTS=--trace' >"/etc/kvmshim/$inst.conf"
printf '[Service]\nWatchdogSec=3s\n' >"/run/systemd/system/$unit.d/labvm.conf"
systemctl daemon-reload

check "systemctl start $unit" systemctl start "$unit"
# Type=notify: start returns once the daemon said READY=1
check "both nodes exist when start returns" test -c "$node" -a -c "$node-vm"
check "nodes are root:kvm, mode 660" \
	is "$(stat -c '%U:%G %a' "$node") $(stat -c '%U:%G %a' "$node-vm")" \
	"root:kvm 660 root:kvm 660"
pid=$(prop MainPID)
check "MainPID is kvmshimd" is "$(cat "/proc/$pid/comm")" kvmshimd
uid=$(id -u kvmshim)
check "it runs as kvmshim" \
	is "$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status")" "$uid"
check "without capabilities" \
	is "$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$pid/status")" 0000000000000000
check "with no_new_privs" \
	is "$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' "/proc/$pid/status")" 1
check "under the unit's seccomp filter" \
	is "$(sed -n 's/^Seccomp:[[:space:]]*//p' "/proc/$pid/status")" 2
status=$(prop StatusText)
check "STATUS= reached systemd: $status" test -n "$status"

check "a client in group kvm" run_client
# PrivateNetwork= and RestrictAddressFamilies= leave the socket reachable
check "kvmshimctl status over the control socket" \
	test -n "$(kvmshimctl --name "kvmshim-$inst" status | grep "^instance: kvmshim-$inst$")"
check "the start message is in the journal, natively" \
	test -n "$(journal SYSLOG_IDENTIFIER=kvmshimd KVMSHIM_INSTANCE=kvmshim-$inst |
		grep "^serving $node and $node-vm ")"
check "--trace from /etc/kvmshim: the client's GET_API_VERSION, by pid" \
	test -n "$(journal KVMSHIM_PID="$client_pid" KVMSHIM_IOCTL=KVM_GET_API_VERSION)"
check "and its failed call with ERRNO=" \
	test -n "$(journal KVMSHIM_PID="$client_pid" ERRNO=22)"

sleep 7
check "pinging: active after 7 s with a 3 s watchdog, same pid, no restart" \
	is "$(prop ActiveState) $(prop MainPID) $(prop NRestarts)" "active $pid 0"

# a daemon that hangs misses its pings: systemd aborts and restarts it
kill -STOP "$pid"
check "a hung daemon is restarted by the watchdog" within 30 restarted
check "systemd logged the watchdog timeout" \
	test -n "$(journalctl --no-pager -o cat -u "$unit" | grep -i 'watchdog timeout')"
check "the new daemon serves the nodes" within 10 test -c "$node-vm"
check "a client again" run_client

check "systemctl stop" systemctl stop "$unit"
check "inactive, exit status 0" \
	is "$(prop ActiveState) $(prop Result) $(prop ExecMainStatus)" \
	"inactive success 0"
check "the nodes are gone" within 10 test ! -e "$node"
check "the control socket is gone, its directory kept" \
	test ! -e "/run/kvmshim/kvmshim-$inst.sock" -a -d /run/kvmshim

finish
