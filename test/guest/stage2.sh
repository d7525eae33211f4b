#!/bin/bash
# Stage 2 of a lab guest (see lab.ts): the root is the host's / (9p, read-only) under a tmpfs overlay.
# Mount the pseudo filesystems, make the extracted kernel modules loadable, run the job, hand back its
# output through the "out" share and power off. Whatever happens, the guest must end: qemu runs -no-reboot.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs shm /dev/shm
mount -t tmpfs run /run
# /tmp stays the overlay's (writes land in its tmpfs upper layer): the checkout running the tests may itself
# live under the host's /tmp (a CI clone), and a fresh tmpfs there would hide the job scripts.
mkdir -p /run/fk/out /run/lock
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /run/fk/out
export FK_OUT=/run/fk/out
if grep -qw 'fk\.shared=1' /proc/cmdline; then
  mkdir -p /run/fk/shared && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 shared /run/fk/shared && export FK_SHARED=/run/fk/shared
fi
cut -d' ' -f1 /proc/uptime > "$FK_OUT/stage2-uptime"
modules=$(sed -n 's/.*fk\.modules=\([^ ]*\).*/\1/p' /proc/cmdline)
# Module auto-loading (modprobe, request_module) looks under /lib/modules/$(uname -r).
mkdir -p /lib/modules && ln -sfn "$modules" "/lib/modules/$(uname -r)"
echo /sbin/modprobe > /proc/sys/kernel/modprobe
# No udev here to load drivers for the devices found: a shared disk (GuestSpec.disk) needs virtio_blk for /dev/vda.
modprobe -q virtio_blk
ip link set lo up
hostname fk-guest
export HOME=/root FK_REPO=$(sed -n "s/.*fk\.repo=\([^ ]*\).*/\1/p" /proc/cmdline)
cd /
bash "$FK_OUT/job.sh" > "$FK_OUT/job.log" 2>&1
echo $? > "$FK_OUT/exit"
cut -d' ' -f1 /proc/uptime > "$FK_OUT/end-uptime"
sync
umount /run/fk/out 2>/dev/null
/bin/busybox poweroff -f
