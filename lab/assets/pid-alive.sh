# Sourced (not run) by the lab's power hooks: node-power.sh and ipmi_sim's chassis script (test/peers/ipmi-sim.ts).
# pid_file_alive FILE: whether the process whose PID FILE holds still runs. A zombie counts as gone, as in
# lib/proc's isAlive: it has stopped running and only waits for its parent to reap it.
pid_file_alive() {
  local pid st
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ -n $pid ]] || return 1
  st=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $st && $st != Z ]]
}
