#!/bin/bash
# The power model of one simulated lab node: a real process that runs only while its chassis is on (the
# BMC's view) AND at least one of its two power supplies has power (the PDUs' view). The BMC's power
# model (nodePowerModel in lab/lab.ts) and both PDU outlet hooks call this script, so fencing through either
# path is observable on the same process. Each supply also has a BMC sensor (the BMC simulator reads
# psu-a.sensor and psu-b.sensor): Power Supply state bits, 1 = presence detected, 9 = presence + input lost.
#   node-power.sh NODEDIR set chassis|psu-a|psu-b 0|1
#   node-power.sh NODEDIR get chassis            -> power:0|1 (an ipmi_sim chassis_control answer)
#   node-power.sh NODEDIR running                -> exit 0 while the node process runs
#   node-power.sh NODEDIR stop                   -> kill the node process (lab teardown)
set -u
dir=$1
shift
exec 9>>"$dir/lock"
flock 9

state() { cat "$dir/$1" 2>/dev/null || echo 1; }

# shellcheck source=pid-alive.sh
source "$(dirname "${BASH_SOURCE[0]}")/pid-alive.sh"
alive() { pid_file_alive "$dir/pid"; }

node_stop() {
  local pid
  alive || return 0
  pid=$(cat "$dir/pid")
  kill -KILL "$pid" 2>/dev/null
  for _ in $(seq 1 500); do alive || return 0; sleep 0.01; done
}

sensor() { # write the whole file at once: the BMC may read it at any moment
  local v=1
  [[ $(state "$1") == 1 ]] || v=9
  echo "$v" > "$dir/$1.sensor.tmp" && mv -f "$dir/$1.sensor.tmp" "$dir/$1.sensor"
}

reconcile() {
  sensor psu-a
  sensor psu-b
  if [[ $(state chassis) == 1 && ( $(state psu-a) == 1 || $(state psu-b) == 1 ) ]]; then
    if ! alive; then
      # Fully detached (own session, no inherited fds): the BMC waits for this script's output to end.
      setsid sleep 2147483647 </dev/null >/dev/null 2>&1 9>&- &
      echo $! > "$dir/pid"
    fi
  else
    node_stop
  fi
  echo "$(date +%s.%N) chassis=$(state chassis) psu-a=$(state psu-a) psu-b=$(state psu-b) running=$(alive && echo 1 || echo 0)" >> "$dir/events.log"
}

case "${1:-}" in
  set)
    echo "$3" > "$dir/$2"
    reconcile
    ;;
  get)
    # A BMC reports its chassis on only while the node really has power.
    if [[ $(state chassis) == 1 ]] && alive; then echo "power:1"; else echo "power:0"; fi
    ;;
  running) alive ;;
  stop) node_stop ;;
  *) echo "usage: $0 NODEDIR set|get|running|stop ..." >&2; exit 2 ;;
esac
