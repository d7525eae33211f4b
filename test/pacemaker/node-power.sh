#!/bin/bash
# The power model of one cluster node in namespaces: the node (corosync and pacemakerd with all their
# children, inside the node's mount/UTS/network namespaces) runs only while its chassis is on (the BMC's
# view) and at least one of its two power supplies has power (the PDUs' view). ipmi_sim's chassis_control
# and both PDU outlet hooks call this script, so fencing through either path acts on the same node.
# Losing power kills every process of the node's mount namespace except the namespace holder (selected
# by namespace, never by name: there is no PID namespace); regaining it boots the node again.
#   node-power.sh NODEDIR set chassis|psu-a|psu-b 0|1
#   node-power.sh NODEDIR get chassis            -> power:0|1 (what the BMC reports)
#   node-power.sh NODEDIR pids                   -> the node's processes, one PID a line
#   node-power.sh NODEDIR off                    -> kill the node's processes (teardown)
set -u
dir=$1
shift

state() { cat "$dir/$1" 2>/dev/null || echo 1; }
powered() { [[ $(state chassis) == 1 && ( $(state psu-a) == 1 || $(state psu-b) == 1 ) ]]; }
now() { date +%s.%N; }

holder=$(cat "$dir/holder.pid")
mntns=$(readlink "/proc/$holder/ns/mnt") || { echo "node holder $holder is gone" >&2; exit 1; }

node_pids() {
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $p == "$holder" ]] && continue
    [[ $(readlink "/proc/$p/ns/mnt" 2>/dev/null) == "$mntns" ]] && echo "$p"
  done
}

kill_node() {
  local pids n boot
  boot=$(cat "$dir/boot.pid" 2>/dev/null)
  [[ -n $boot ]] && kill -KILL "$boot" 2>/dev/null
  pids=$(node_pids)
  n=$(echo $pids | wc -w)
  [[ -n $pids ]] && kill -KILL $pids 2>/dev/null
  for _ in $(seq 1 500); do [[ -z $(node_pids) ]] && break; sleep 0.01; done
  echo "$(now) power-lost killed=$n left=$(node_pids | wc -l)" >> "$dir/events.log"
}

# set and off change power: one at a time. fd 9 holds the lock and is closed for everything started here.
lock() { exec 9>>"$dir/power.lock"; flock 9; }

case "${1:-}" in
  set)
    lock
    was=0; powered && was=1
    echo "$3" > "$dir/$2"
    is=0; powered && is=1
    echo "$(now) set $2=$3 powered=$is" >> "$dir/events.log"
    if [[ $was == 1 && $is == 0 ]]; then
      kill_node
    elif [[ $was == 0 && $is == 1 ]]; then
      # Detached from every inherited fd, and not waited for: ipmi_sim reads this script through popen
      # and answers the BMC's client only once it returns.
      setsid "$dir/boot.sh" </dev/null >/dev/null 2>&1 9>&- &
      echo "$(now) booting" >> "$dir/events.log"
    fi
    ;;
  get) if powered; then echo "power:1"; else echo "power:0"; fi ;;
  pids) node_pids ;;
  off) lock; kill_node ;;
  *) echo "usage: $0 NODEDIR set|get|pids|off ..." >&2; exit 2 ;;
esac
exit 0
