# Sourced by guest jobs (bash): an LIO iSCSI target configured through configfs, and open-iscsi initiators
# logged in under several node identities, all on the guest's loopback. Traps (docs/guest-lab.md): /etc/target/pr
# must exist before target_core_mod loads or every PR OUT answers "not ready" while still changing the state;
# discover once with every iface (per-iface discovery deletes the other ifaces' records); the sdX order of
# sessions is random, so map disks to identities through `iscsiadm -m session -P3`.

FK_IQN_BASE=${FK_IQN_BASE:-iqn.2026-11.org.fencekit}
FK_TARGET_IQN=${FK_TARGET_IQN:-$FK_IQN_BASE:shared}
FK_PORTAL=127.0.0.1:3260
FK_CFS=/sys/kernel/config/target

# fk_lio_target LUNS SIZE_MB IDENTITY...   e.g. fk_lio_target 2 64 node1 node2
# One iSCSI target with LUNS fileio LUNs (files on the guest's tmpfs) mapped to an ACL per identity.
fk_lio_target() {
  local luns=$1 size=$2; shift 2
  mkdir -p /etc/target/pr
  modprobe target_core_mod && modprobe target_core_file && modprobe iscsi_target_mod || return 1
  mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
  local tpg=$FK_CFS/iscsi/$FK_TARGET_IQN/tpgt_1 i id
  mkdir -p "$tpg" || return 1
  for ((i = 0; i < luns; i++)); do
    local dev=$FK_CFS/core/fileio_$i/lun$i
    mkdir -p "$dev"
    truncate -s "${size}M" /tmp/lun$i.img
    echo "fd_dev_name=/tmp/lun$i.img,fd_dev_size=$((size * 1024 * 1024))" > "$dev/control"
    echo "fencekit-lun$i" > "$dev/wwn/vpd_unit_serial"
    echo 1 > "$dev/enable" || return 1
    mkdir -p "$tpg/lun/lun_$i"
    ln -s "$dev" "$tpg/lun/lun_$i/storage"
  done
  mkdir -p "$tpg/np/$FK_PORTAL"
  for id in "$@"; do
    for ((i = 0; i < luns; i++)); do
      mkdir -p "$tpg/acls/$FK_IQN_BASE:$id/lun_$i"
      ln -s "$tpg/lun/lun_$i" "$tpg/acls/$FK_IQN_BASE:$id/lun_$i/map"
    done
  done
  echo 0 > "$tpg/attrib/authentication"
  echo 1 > "$tpg/enable"
}

# fk_iscsi_login IDENTITY[:INITIATOR]...   logs every identity in; then fk_disk IDENTITY LUN prints /dev/sdX.
# IDENTITY:INITIATOR logs in iface IDENTITY with the initiator name of INITIATOR: a second session (another
# ISID, another I_T nexus) of the same node, i.e. a second path for multipath.
fk_iscsi_login() {
  modprobe iscsi_tcp && modprobe sd_mod && modprobe sg || return 1
  mkdir -p /etc/iscsi /var/lib/iscsi /run/lock/iscsi
  echo "InitiatorName=$FK_IQN_BASE:default" > /etc/iscsi/initiatorname.iscsi
  iscsid || return 1
  local arg id ifaces=()
  for arg in "$@"; do
    id=${arg%%:*}
    iscsiadm -m iface -I "$id" -o new > /dev/null || return 1
    iscsiadm -m iface -I "$id" -o update -n iface.initiatorname -v "$FK_IQN_BASE:${arg#*:}" > /dev/null || return 1
    ifaces+=(-I "$id")
  done
  iscsiadm -m discovery -t st -p "$FK_PORTAL" "${ifaces[@]}" > /dev/null || return 1
  for arg in "$@"; do
    iscsiadm -m node -T "$FK_TARGET_IQN" -p "$FK_PORTAL,1" -I "${arg%%:*}" --login > /dev/null || return 1
  done
  udevadm settle 2> /dev/null
  local tries want=$(($# * $(ls -d $FK_CFS/core/fileio_* 2> /dev/null | wc -l)))
  for tries in $(seq 100); do
    [ "$(iscsiadm -m session -P3 | grep -cE 'Attached scsi disk .*State: running')" -ge "$want" ] && return 0
    sleep 0.1
  done
  echo "fk_iscsi_login: fewer than $want disks attached" >&2
  return 1
}

# fk_disk IDENTITY LUN  -> /dev/sdX of that identity's session (LUN number as on the target)
fk_disk() {
  iscsiadm -m session -P3 | awk -v id="$1" -v lun="$2" '
    /Iface Name:/ { cur = $3 }
    /scsi[0-9]+ Channel [0-9]+ Id [0-9]+ Lun:/ { l = $NF }
    /Attached scsi disk/ { if (cur == id && l == lun) { print "/dev/" $4; exit } }'
}

# fk_iscsi_relogin IDENTITY: end that identity's session and start a new one (a new ISID: a new I_T nexus)
fk_iscsi_relogin() {
  local luns tries
  luns=$(ls -d $FK_CFS/core/fileio_* 2> /dev/null | wc -l)
  iscsiadm -m node -T "$FK_TARGET_IQN" -p "$FK_PORTAL,1" -I "$1" --logout > /dev/null || return 1
  iscsiadm -m node -T "$FK_TARGET_IQN" -p "$FK_PORTAL,1" -I "$1" --login > /dev/null || return 1
  for tries in $(seq 100); do
    local n=0 l
    for ((l = 0; l < luns; l++)); do [ -n "$(fk_disk "$1" $l)" ] && [ -b "$(fk_disk "$1" $l)" ] && n=$((n + 1)); done
    [ "$n" -ge "$luns" ] && return 0
    sleep 0.1
  done
  return 1
}

# fk_multipath NAME PATH...   a dm-multipath device /dev/mapper/NAME over PATHs of one LUN (no multipathd)
fk_multipath() {
  local name=$1 p table; shift
  modprobe dm_multipath && modprobe dm_round_robin || return 1
  table="0 $(blockdev --getsz "$1") multipath 0 0 1 1 round-robin 0 $# 1"
  for p in "$@"; do table+=" $p 1"; done
  # No udev in the guest: dmsetup makes the /dev/mapper node itself.
  dmsetup create --noudevsync "$name" --table "$table" > /dev/null && dmsetup mknodes "$name" && [ -b "/dev/mapper/$name" ]
}

# fk_iscsi_logout: end every session (before powering off keeps the console free of connection errors)
fk_iscsi_logout() {
  iscsiadm -m node --logoutall=all > /dev/null 2>&1
}
