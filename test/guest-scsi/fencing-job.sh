#!/bin/bash
# Guest job for test/integration/scsi-guest.test.ts: one boot, every scenario. One LIO iSCSI target with two
# LUNs; two node identities (iSCSI initiators node1, node2) in this one guest, each running its agents in its
# own mount namespace whose /run holds that node's key and device files (/var/run/cluster.key, .dev), as two
# machines would. A third LUN is seen by node1 through two sessions (two I_T nexuses) under dm-multipath. Each step NAME leaves NAME.rc, NAME.out, NAME.err and NAME.ms in $FK_OUT/results.
. "$FK_REPO/test/guest/lio-iscsi.sh"
R=$FK_OUT/results
mkdir -p "$R" /tmp/nodes/node1 /tmp/nodes/node2
# The agents as built (bin/ + dist/), from a snapshot the test took so that a concurrent build cannot move them
AGENTS=${FK_AGENTS:-$FK_REPO}
OURS=$AGENTS/bin/fence_kit_scsi
OURS_CHECK=$AGENTS/bin/fence_kit_scsi_check
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
export NODE_EXTRA_CA_CERTS= # costs every Node start ~90 ms, more under TCG

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# on NODE CMD...: run CMD as that node would, with its own /run
on() {
  local node=$1; shift
  unshare -m bash -c 'mount --bind "$0" /run && exec "$@"' "/tmp/nodes/$node" "$@"
}
# step NAME NODE CMD...: NAME.ms is the command's own time, inside the node's namespace (not the unshare)
step() {
  local name=$1 node=$2; shift 2
  on "$node" bash -c 't0=$(date +%s%N); "$@"; rc=$?; echo $((($(date +%s%N) - t0) / 1000000)) > "$0"; exit $rc' "/tmp/ms.$name" "$@" \
    > "$R/$name.out" 2> "$R/$name.err"
  echo $? > "$R/$name.rc"
  mv "/tmp/ms.$name" "$R/$name.ms"
}
# pr NAME DEV: the LUN's registrations and holder, read through DEV
pr() { sg_persist -n -i -s -d "$2" > "$R/$1.out" 2> "$R/$1.err"; echo $? > "$R/$1.rc"; }
write() { step "$1" "$2" dd if=/dev/urandom of="$3" bs=4096 count=1 oflag=direct; }
read_() { step "$1" "$2" dd if="$3" of=/dev/null bs=4096 count=1 iflag=direct; }

# corosync as fence_scsi sees it: cluster fkcluster, node1 at position 0, node2 at position 1; each node's
# corosync names itself (local_node_pos), read from the node's own /run
cat > /tmp/cmapctl << 'CMAP'
#!/bin/bash
case "$1" in
  totem.cluster_name) echo "totem.cluster_name (str) = fkcluster" ;;
  nodelist) printf 'nodelist.local_node_pos (u32) = %s\nnodelist.node.0.name (str) = node1\nnodelist.node.0.nodeid (u32) = 1\nnodelist.node.1.name (str) = node2\nnodelist.node.1.nodeid (u32) = 2\n' "$(cat /run/fk-local-node-pos)" ;;
  *) exit 1 ;;
esac
CMAP
chmod +x /tmp/cmapctl
echo 0 > /tmp/nodes/node1/fk-local-node-pos
echo 1 > /tmp/nodes/node2/fk-local-node-pos

t0=$(now_ms)
fk_lio_target 3 16 node1 node2 || exit 10
fk_iscsi_login node1 node2 node1b:node1 || exit 11
fk_multipath mpatha "$(fk_disk node1 2)" "$(fk_disk node1b 2)" || exit 12
echo $(($(now_ms) - t0)) > "$R/setup.ms"
D1="$(fk_disk node1 0),$(fk_disk node1 1)" # node1's view of the two LUNs
D2="$(fk_disk node2 0),$(fk_disk node2 1)"
N2_LUN0=$(fk_disk node2 0) N2_LUN1=$(fk_disk node2 1) N1_LUN0=$(fk_disk node1 0) N1_LUN1=$(fk_disk node1 1)
echo "$D1 $D2" > "$R/devices"
printf '#!/bin/sh\nexec %s --corosync-cmap-path=/tmp/cmapctl "$@"\n' "$OURS" > /tmp/ours
printf '#!/bin/sh\nexec fence_scsi --corosync-cmap-path=/tmp/cmapctl "$@"\n' > /tmp/theirs
chmod +x /tmp/ours /tmp/theirs

# Unfencing: node1 with ours, node2 with fence_scsi; keys derived from corosync by each
step our-on-node1 node1 /tmp/ours -o on -n node1 -d "$D1"
step fs-on-node2 node2 /tmp/theirs -o on -n node2 -d "$D2"
cp /tmp/nodes/node1/cluster.key "$R/node1.key"; cp /tmp/nodes/node2/cluster.key "$R/node2.key"
cp /tmp/nodes/node1/cluster.dev "$R/node1.dev"
cp /tmp/nodes/node1/cluster/fence_scsi.key "$R/node1.upstream.key"; cp /tmp/nodes/node1/cluster/fence_scsi.dev "$R/node1.upstream.dev"
# Debian's watchdog script reads the files our on wrote: node1's key is registered
step fs-check-node1 node1 /usr/share/cluster/fence_scsi_check
# on for node2 run on node1 is refused before any device is touched; node1's key file keeps node1's key
step our-on-node2-on-node1 node1 /tmp/ours -o on -n node2 -d "$D1"
cp /tmp/nodes/node1/cluster.key "$R/node1.key-after-wrong-on"
pr pr-after-on-lun0 "$N1_LUN0"; pr pr-after-on-lun1 "$N1_LUN1"
write write-node2-unfenced node2 "$N2_LUN0"

# Fencing node2 from node1 with ours
step our-off-node2 node1 /tmp/ours -o off -n node2 -d "$D1"
pr pr-after-our-off-lun0 "$N1_LUN0"; pr pr-after-our-off-lun1 "$N1_LUN1"
write write-node2-fenced-lun0 node2 "$N2_LUN0"
write write-node2-fenced-lun1 node2 "$N2_LUN1"
read_ read-node2-fenced node2 "$N2_LUN0"
write write-node1-survivor node1 "$N1_LUN0"
dmesg | grep -c 'reservation conflict' > "$R/dmesg-conflicts"
step our-status-node2 node1 /tmp/ours -o status -n node2 -d "$D1"
step our-status-node1 node1 /tmp/ours -o status -n node1 -d "$D1"
step fs-status-node2 node1 /tmp/theirs -o status -n node2 -d "$D1"
# Devices discovered from shared LVM volume groups (vgs stands in: lvm2 and lvmlockd are not in the lab)
printf '#!/bin/sh\necho "$@" > /tmp/vgs.args\nprintf "  wz--ns:%%s\\n  wz--n-:/dev/vda2\\n  wz--ns:%%s\\n" %s %s\n' "$N1_LUN0" "$N1_LUN1" > /tmp/vgs
chmod +x /tmp/vgs
step our-status-node1-discovered node1 /tmp/ours -o status -n node1 --vgs-path=/tmp/vgs -v
cp /tmp/vgs.args "$R/vgs.args"
step our-check-node2 node2 "$OURS_CHECK"
step our-check-node1 node1 "$OURS_CHECK"
step fs-check-node2 node2 /usr/share/cluster/fence_scsi_check
step our-off-again node1 /tmp/ours -o off -n node2 -d "$D1"

# Fencing oneself is refused, and touches nothing
step our-off-self node1 /tmp/ours -o off -n node1 -d "$D1"
pr pr-after-self "$N1_LUN0"

# Unfencing node2 again with ours: its first command meets "registrations preempted"
step our-on-node2 node2 /tmp/ours -o on -n node2 -d "$D2"
write write-node2-unfenced-again node2 "$N2_LUN0"
step our-check-node2-unfenced node2 "$OURS_CHECK"
pr pr-after-our-on-node2 "$N1_LUN0"

# monitor proves the devices answer
step our-monitor node1 /tmp/ours -o monitor -d "$D1"
step our-monitor-missing node1 /tmp/ours -o monitor -d "$N1_LUN0,/dev/sdq"
step our-monitor-not-block node1 /tmp/ours -o monitor -d "$N1_LUN0,/tmp/lun0.img"

# Debian's fence_scsi off against the same LUNs, with the key our 'on' stored for node1
step fs-off-node2 node1 /tmp/theirs -o off -n node2 -d "$D1"
pr pr-after-fs-off "$N1_LUN0"
write write-node2-fs-fenced node2 "$N2_LUN0"

# Bench: the same off, same LUNs, same guest, alternating; node2 unfenced by ours before each
for i in $(seq "$BENCH_ROUNDS"); do
  step bench-on-a-$i node2 /tmp/ours -o on -n node2 -d "$D2"
  step bench-ours-$i node1 /tmp/ours -o off -n node2 -d "$D1"
  step bench-on-b-$i node2 /tmp/ours -o on -n node2 -d "$D2"
  step bench-fs-$i node1 /tmp/theirs -o off -n node2 -d "$D1"
done

# aptpl: registrations that persist through a power loss
step our-on-node2-aptpl node2 /tmp/ours -o enable -n node2 -d "$D2" --aptpl
sg_persist -n -i -c -d "$N1_LUN0" > "$R/caps-aptpl.out" 2>&1

# A stale I_T nexus: node2's session ends and a new one (a new ISID) begins; the target keeps the old
# session's registration and the new one has none, so node2 cannot write until on refreshes its key
step stale-on-first node2 /tmp/ours -o on -n node2 -d "$D2"
fk_iscsi_relogin node2 || exit 13
D2="$(fk_disk node2 0),$(fk_disk node2 1)" N2_LUN0=$(fk_disk node2 0) N2_LUN1=$(fk_disk node2 1)
pr pr-stale-before "$N1_LUN0"
write stale-write-before node2 "$N2_LUN0"
step stale-on node2 /tmp/ours -o on -n node2 -d "$D2"
pr pr-stale-after "$N1_LUN0"
write stale-write-after node2 "$N2_LUN0"

# Multipath: node1 reaches LUN 2 through two paths; its key must be registered on both, and preempted on both
MP_PATHS="$(fk_disk node1 2) $(fk_disk node1b 2)" N2_LUN2=$(fk_disk node2 2)
echo "$MP_PATHS" > "$R/mp-paths"
step mp-on-node1 node1 /tmp/ours -o on -n node1 -d /dev/mapper/mpatha -v
pr pr-mp-after-on "$N2_LUN2"
step mp-on-node2 node2 /tmp/ours -o on -n node2 -d "$N2_LUN2"
step mp-off-node1 node2 /tmp/ours -o off -n node1 -d "$N2_LUN2"
pr pr-mp-after-off "$N2_LUN2"
write mp-write-fenced node1 /dev/mapper/mpatha
for p in $MP_PATHS; do write "mp-write-fenced-$(basename "$p")" node1 "$p"; done
step mp-on-node1-again node1 /tmp/ours -o on -n node1 -d /dev/mapper/mpatha
pr pr-mp-after-on-again "$N2_LUN2"
write mp-write-unfenced node1 /dev/mapper/mpatha

# The trap: the target cannot store its PR state (no /etc/target/pr) and answers REGISTER with NOT READY,
# although it registers the key. Unfencing must fail; fence_scsi reports success.
step trap-prep-off node1 /tmp/ours -o off -n node2 -d "$D1"
mv /etc/target/pr /etc/target/pr.hidden
step trap-our-on-node2 node2 /tmp/ours -o on -n node2 -d "$D2"
pr pr-after-trap-our-on "$N1_LUN0"
step trap-our-off-node2 node1 /tmp/ours -o off -n node2 -d "$D1"
pr pr-after-trap-our-off "$N1_LUN0"
step trap-fs-on-node2 node2 /tmp/theirs -o on -n node2 -d "$D2"
pr pr-after-trap-fs-on "$N1_LUN0"
mv /etc/target/pr.hidden /etc/target/pr
dmesg > "$R/dmesg.txt"
fk_iscsi_logout
exit 0
