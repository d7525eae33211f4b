#!/bin/bash
# Guest job for test/integration/scsi-guest.test.ts, run beside the main one: fence_kit_scsi_check_hardreboot
# on a node whose key is registered (exit 0, nothing happens), then on the same node once preempted: it must
# reboot the guest at once (qemu, run with -no-reboot, then exits), so the job never reaches its end.
. "$FK_REPO/test/guest/lio-iscsi.sh"
R=$FK_OUT/results
mkdir -p "$R"
AGENTS=${FK_AGENTS:-$FK_REPO}
export NODE_EXTRA_CA_CERTS=
fk_lio_target 1 16 node1 node2 > /dev/null || exit 10
fk_iscsi_login node1 node2 || exit 11
A=$(fk_disk node1 0) B=$(fk_disk node2 0)
# This guest is node2: its key and device as its own unfencing would have recorded them
sg_persist -n -o -I -S a1 -d "$A" > /dev/null && sg_persist -n -o -R -T 5 -K a1 -d "$A" > /dev/null || exit 12
sg_persist -n -o -I -S b2 -d "$B" > /dev/null || exit 13
printf 'b2\n' > /var/run/cluster.key
printf '%s\n' "$B" > /var/run/cluster.dev
"$AGENTS/bin/fence_kit_scsi_check_hardreboot"
echo $? > "$R/registered.rc"
sg_persist -n -o -A -T 5 -K a1 -S b2 -d "$A" > /dev/null || exit 14
"$AGENTS/bin/fence_kit_scsi_check"
echo $? > "$R/preempted.rc"
sync
echo yes > "$R/about-to-hardreboot"
sync
"$AGENTS/bin/fence_kit_scsi_check_hardreboot"
echo $? > "$R/hardreboot-returned.rc"
sleep 30
exit 0
