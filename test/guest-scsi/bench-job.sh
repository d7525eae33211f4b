#!/bin/bash
# Guest job for bench/scsi.ts: fence_kit_scsi and Debian's fence_scsi fencing the same node on the same two
# LIO LUNs in the same boot, alternating, each given its configuration on stdin as Pacemaker does. Before
# every timed off the victim (node2) is unfenced again, untimed. Writes ours-N.ms, theirs-N.ms (and .rc) and
# status-ours-N.ms / status-theirs-N.ms to $FK_OUT/bench.
. "$FK_REPO/test/guest/lio-iscsi.sh"
B=/tmp/bench # inside a node's namespace /run, and so $FK_OUT, is out of sight: copied out at the end
mkdir -p "$B" /tmp/nodes/node1 /tmp/nodes/node2
AGENTS=${FK_AGENTS:-$FK_REPO}
OURS=$AGENTS/bin/fence_kit_scsi
ROUNDS=${BENCH_ROUNDS:-5}
export NODE_EXTRA_CA_CERTS=
fk_lio_target 2 16 node1 node2 > /dev/null || exit 10
fk_iscsi_login node1 node2 || exit 11
D1="$(fk_disk node1 0),$(fk_disk node1 1)"
D2="$(fk_disk node2 0),$(fk_disk node2 1)"
K1=5a110001 K2=5a110002
on() { local node=$1; shift; unshare -m bash -c 'mount --bind "$0" /run && exec "$@"' "/tmp/nodes/$node" "$@"; }
# timed NAME NODE STDIN AGENT: the agent's own time, measured inside the node's namespace
timed() {
  local name=$1 node=$2 input=$3 agent=$4
  on "$node" bash -c 't0=$(date +%s%N); printf "$1" | "$2" > /dev/null 2>> "$0.err"; rc=$?; echo $((($(date +%s%N) - t0) / 1000000)) > "$0.ms"; echo $rc > "$0.rc"' \
    "$B/$name" "$input" "$agent"
}
# Hand-chosen keys and no corosync: each node's key file declares its key, as fence_kit_scsi on requires
printf '%s\n' "$K1" > /tmp/nodes/node1/cluster.key
printf '%s\n' "$K2" > /tmp/nodes/node2/cluster.key
printf "action=on\nkey=$K1\ndevices=$D1\n" | on node1 "$OURS" > /dev/null || exit 12
for i in $(seq "$ROUNDS"); do
  for who in ours theirs; do
    agent=$OURS; [ $who = theirs ] && agent=/usr/sbin/fence_scsi
    printf "action=on\nkey=$K2\ndevices=$D2\n" | on node2 "$OURS" > /dev/null || exit 13
    timed "status-$who-$i" node1 "action=status\nkey=$K2\ndevices=$D1\n" "$agent"
    timed "$who-$i" node1 "action=off\nkey=$K2\ndevices=$D1\n" "$agent"
  done
done
fk_iscsi_logout
cp -r "$B" "$FK_OUT/bench"
