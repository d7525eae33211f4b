# Sourced by the job of each guest in the sanlock pair (test/integration/sanlock-guest.test.ts): two
# guests share /dev/vda, each runs softdog + wdmd + `sanlock daemon` (watchdog on) and is unfenced with
# `fence_kit_sanlock -o on`. FK_ROLE=survivor (host_id 1) formats the storage and fences host_id 2;
# FK_ROLE=victim (host_id 2) is fenced. FK_SCENARIO says how:
#   frozen  the victim's sanlock daemon hangs (SIGSTOP, as on storage that stops answering); the survivor's
#           off waits for the lease expiry, by which the victim's watchdog must have reset it.
#   live    the victim is healthy: an off with a short power_timeout fails while it renews; its request
#           makes the victim's holder stop the victim's sanlock, so the watchdog resets it, and a second off
#           succeeds after the lease expiry.
# The guests coordinate through $FK_SHARED: `mark NAME` creates $FK_SHARED/<role>.NAME (guest wall clock
# and uptime inside), whose mtime the host reads as the moment of the event on its own clock.
# Env: FK_ROLE, FK_SCENARIO, FK_AGENTS (a snapshot holding bin/ and dist/), FK_IO_TIMEOUT,
# FK_LIVE_TIMEOUT, FK_OFF_TIMEOUT.
set -u
ROLE=$FK_ROLE
IO=${FK_IO_TIMEOUT:-2}
AGENT=$FK_AGENTS/bin/fence_kit_sanlock
R=$FK_OUT/results
S=$FK_SHARED
mkdir -p "$R"
if [ "$ROLE" = survivor ]; then ME=1 PEER=2; else ME=2 PEER=1; fi
LEASES=(--path=/dev/vda "--io-timeout=$IO")

log() { echo "[$(cut -d' ' -f1 /proc/uptime)] $ROLE: $*"; }
mark() { echo "$(date +%s.%N) $(cut -d' ' -f1 /proc/uptime)" > "$S/$ROLE.$1"; log "mark $1"; }
# await ROLE.NAME [seconds]
await() {
  local i
  for ((i = 0; i < ${2:-240} * 10; i++)); do [ -e "$S/$1" ] && return 0; sleep 0.1; done
  log "gave up waiting for $1"
  return 1
}
# step NAME CMD...: output, exit status and duration (ms) of one command, under results/
step() {
  local name=$1 t0
  shift
  t0=$(date +%s%N)
  "$@" > "$R/$name.out" 2> "$R/$name.err"
  echo $? > "$R/$name.rc"
  echo $((($(date +%s%N) - t0) / 1000000)) > "$R/$name.ms"
  log "$name: rc $(cat "$R/$name.rc") in $(cat "$R/$name.ms") ms"
}

# --- watchdog, wdmd, sanlock ---
modprobe softdog || { log 'no softdog'; exit 10; }
mkdir -p /run/wdmd /run/sanlock /var/log
chown sanlock:sanlock /run/sanlock
# devtmpfs without udev makes /dev/vda root-only; sanlock's daemon runs as user sanlock, in group disk.
chown root:disk /dev/vda && chmod 0660 /dev/vda || { log 'no /dev/vda'; exit 10; }
wdmd -D -G sanlock > "$R/wdmd.log" 2>&1 &
for ((i = 0; i < 100; i++)); do [ -S /run/wdmd/wdmd.sock ] && break; sleep 0.1; done
[ -S /run/wdmd/wdmd.sock ] || { log 'wdmd did not start'; exit 11; }
# -R 1: a line per delta-lease renewal; the victim's go to the shared folder, where the host stamps them.
sanlock daemon -D -R 1 -L -1 -S -1 -e "node$ME" 2> "$S/$ROLE-sanlock.log" &
SANLOCK_PID=$!
for ((i = 0; i < 100; i++)); do sanlock client status > /dev/null 2>&1 && break; sleep 0.1; done
sanlock client status -D > "$R/daemon-status.out" 2>&1 || { log 'sanlock daemon did not start'; exit 12; }
grep -q 'use_watchdog=1' "$R/daemon-status.out" || log 'WARNING: sanlock does not use the watchdog'
log "wdmd and sanlock (pid $SANLOCK_PID) up"

# --- storage and unfencing ---
if [ "$ROLE" = survivor ]; then
  step init "$AGENT" -o sanlock_init "${LEASES[@]}" --max-host-id=2
  mark formatted
else
  await survivor.formatted || exit 13
fi
step on "$AGENT" -o on "${LEASES[@]}" "--host-id=$ME" "--debug-file=$R/holder.log" -v
mark on
await "$( [ "$ROLE" = survivor ] && echo victim || echo survivor).on" || exit 14

if [ "$ROLE" = survivor ]; then
  # Each sees the other renewing before anyone is fenced.
  for ((i = 0; i < 60; i++)); do "$AGENT" -o status "${LEASES[@]}" --host-id=2 > /dev/null 2>&1 && break; sleep 1; done
  step status-victim-live "$AGENT" -o status "${LEASES[@]}" --host-id=2
  sanlock client host_status -s fence -D > "$R/host-status-before.out" 2>&1
  mark ready

  if [ "$FK_SCENARIO" = live ]; then
    # The victim keeps renewing: off must fail at its power_timeout.
    step off-live "$AGENT" -o off "${LEASES[@]}" --host-id=2 "--power-timeout=$FK_LIVE_TIMEOUT" "--debug-file=$R/off-live-debug.log"
    mark live-off-done
  else
    await victim.frozen || exit 16
  fi
  # Its debug file (each wait, acquire and verdict, timestamped) explains where the time to success went.
  step off "$AGENT" -o off "${LEASES[@]}" --host-id=2 "--power-timeout=$FK_OFF_TIMEOUT" "--debug-file=$R/off-debug.log"
  [ "$(cat "$R/off.rc")" = 0 ] && mark off-success || mark off-failed
  # host 2's last_live here is when this node's daemon last saw it renew, on this guest's monotonic clock
  sanlock client host_status -s fence -D > "$R/host-status-after.out" 2>&1
  sanlock direct read_leader -r "fence:h2:/dev/vda:$((2 * 1048576))" > "$R/leader-h2-after.out" 2>&1
  step status-victim-after "$AGENT" -o status "${LEASES[@]}" --host-id=2
  exit 0
fi

# victim
await survivor.ready || exit 17
if [ "$FK_SCENARIO" = live ]; then
  await survivor.live-off-done || exit 18
  # This guest still runs when the fence attempt fails.
  mark alive-after-live-off
  kill -0 "$SANLOCK_PID" 2> /dev/null && echo running > "$R/sanlock-after-live-off" || echo stopped > "$R/sanlock-after-live-off"
  sanlock client status > "$R/status-after-live-off.out" 2>&1
else
  # A couple of renewals seen by the survivor, then sanlock hangs: nothing renews the lease; wdmd's check
  # of sanlock fails once the last renewal's expiry passes, it stops petting, softdog resets the guest.
  sleep $((4 * IO))
  mark frozen
  kill -STOP "$SANLOCK_PID"
fi
sleep 240
log 'still running 240 s on: the watchdog never fired'
exit 20
