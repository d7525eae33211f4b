// The BMC's chassis for the fault matrix: ipmi_sim's chassis_control script with the same one-process host
// as test/peers/ipmi-sim.ts (host.pid, delay-on/delay-off, now-on/now-off), plus a `mode` file that turns
// the chassis into a faulty one without restarting the BMC:
//   normal    off kills the host and waits for it (after delay-off seconds, if set)
//   lying     "set power 0" is acknowledged and nothing happens: the host keeps running
//   flapping  a boot-looping host: a detached toggler starts and kills it every 0.3 s until a power
//             command arrives, which stops the toggler first (the command then acts as normal)
export const FAULT_CHASSIS_SCRIPT = `#!/bin/bash
dir="$(cd "$(dirname "$0")" && pwd)"
echo "$(date +%s.%N) $*" >> "$dir/calls.log"
[[ $1 == 0x* ]] && shift
pidfile="$dir/host.pid"
helpers="$dir/helpers.pids"
mode=$(cat "$dir/mode" 2>/dev/null || echo normal)

alive() {
  local pid state
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [[ -n $pid ]] || return 1
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $state && $state != Z ]]
}

delay() { cat "$dir/delay-$1" 2>/dev/null || echo 0; }

host_on() {
  alive && return 0
  setsid sleep 2147483647 </dev/null >/dev/null 2>&1 &
  echo $! > "$pidfile"
}

host_off() {
  local pid i
  pid=$(cat "$pidfile" 2>/dev/null) || return 0
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 300); do alive || break; sleep 0.01; done
  alive && kill -KILL "$pid" 2>/dev/null
  for i in $(seq 1 300); do alive || break; sleep 0.01; done
  : > "$pidfile"
}

stop_flapping() {
  local pid
  pid=$(cat "$dir/flapper.pid" 2>/dev/null) || return 0
  [[ -n $pid ]] && kill -KILL -- "-$pid" 2>/dev/null
  : > "$dir/flapper.pid"
  # the toggler may have been between its two steps: give /proc a moment to settle
  sleep 0.05
}

later() {
  setsid bash -c "sleep $1; exec \\"$0\\" $2" </dev/null >/dev/null 2>&1 &
  echo $! >> "$helpers"
}

case "$1 $2" in
  "get power") if alive; then echo "power:1"; else echo "power:0"; fi ;;
  "set power")
    [[ $mode == flapping ]] && stop_flapping
    if [[ $3 == 1 ]]; then d=$(delay on); if [[ $d == 0 ]]; then host_on; else later "$d" now-on; fi
    elif [[ $mode == lying ]]; then :
    else d=$(delay off); if [[ $d == 0 ]]; then host_off; else later "$d" now-off; fi; fi ;;
  "set reset")
    [[ $mode == flapping ]] && stop_flapping
    [[ $mode == lying ]] || { if alive; then host_off; host_on; fi; } ;;
  "set shutdown")
    [[ $mode == flapping ]] && stop_flapping
    [[ $mode == lying ]] || host_off ;;
  "now-on ") host_on ;;
  "now-off ") host_off ;;
  "flap-start ")
    stop_flapping
    setsid bash -c 'while :; do "$0" now-on; sleep 0.3; "$0" now-off; sleep 0.3; done' "$0" </dev/null >/dev/null 2>&1 &
    echo $! > "$dir/flapper.pid" ;;
  "flap-stop ") stop_flapping ;;
esac
exit 0
`;
