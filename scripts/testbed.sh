#!/usr/bin/env bash
# A network-namespace test bed: N "hosts" on one bridge, each its own network namespace with one address, plus a
# link from the root namespace so tests (and you) can reach them. Nothing is routed off the machine: the bridge lives
# in a namespace of its own and the root namespace only gets a route to the test bed's /24 through its own veth.
#   scripts/testbed.sh up N        create hosts h1..hN (10.213.0.11 .. 10.213.0.(10+N)); root side 10.213.0.1
#   scripts/testbed.sh down        remove everything it created
#   scripts/testbed.sh run H CMD…  run CMD as host H: its namespace, its own hostname and a private /dev/shm
#   scripts/testbed.sh cut H       take host H's link down (a partition); heal H brings it back
#   scripts/testbed.sh cut-pair H G   silently drop every packet between hosts H and G only (their frames go to a
#                                  MAC nobody has); heal-pair H G ends it
#   scripts/testbed.sh addr H      print host H's address
# Needs root and iproute2; exits 3 with a reason when namespaces cannot be made here.
set -euo pipefail
PREFIX=${TANDEM_TESTBED_PREFIX:-tdm}
NET=10.213.0
BR_NS=${PREFIX}-br

die_unsupported() { echo "testbed: $*" >&2; exit 3; }

addr() { echo "$NET.$((10 + ${1#h}))"; }

up() {
  local n=$1
  [[ $(id -u) -eq 0 ]] || die_unsupported "needs root (network namespaces)"
  command -v ip >/dev/null || die_unsupported "needs iproute2 (ip)"
  down >/dev/null 2>&1 || true
  ip netns add "$BR_NS" 2>/dev/null || die_unsupported "cannot create network namespaces here"
  ip -n "$BR_NS" link add br0 type bridge
  ip -n "$BR_NS" link set br0 up
  ip -n "$BR_NS" link set lo up
  for i in $(seq 1 "$n"); do
    local ns=${PREFIX}-h$i
    ip netns add "$ns"
    ip link add "${PREFIX}h${i}a" type veth peer name "${PREFIX}h${i}b"
    ip link set "${PREFIX}h${i}a" netns "$ns"
    ip link set "${PREFIX}h${i}b" netns "$BR_NS"
    ip -n "$ns" link set "${PREFIX}h${i}a" name eth0
    ip -n "$ns" addr add "$(addr h$i)/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip -n "$BR_NS" link set "${PREFIX}h${i}b" master br0
    ip -n "$BR_NS" link set "${PREFIX}h${i}b" up
  done
  ip link add "${PREFIX}root" type veth peer name "${PREFIX}rootb"
  ip link set "${PREFIX}rootb" netns "$BR_NS"
  ip -n "$BR_NS" link set "${PREFIX}rootb" master br0
  ip -n "$BR_NS" link set "${PREFIX}rootb" up
  ip addr add "$NET.1/24" dev "${PREFIX}root"
  ip link set "${PREFIX}root" up
  echo "testbed: hosts h1..h$n at $NET.11..$NET.$((10 + n)), root side $NET.1"
}

down() {
  ip link del "${PREFIX}root" 2>/dev/null || true
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^${PREFIX}-(h[0-9]+|br)$" || true); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns"
  done
}

run() {
  local h=$1; shift
  # Own hostname (so Tandem's host id differs per host) and a private /dev/shm (as on separate machines).
  exec ip netns exec "${PREFIX}-$h" unshare --uts --mount --propagation private \
    sh -c 'hostname "$0" && mount -t tmpfs -o mode=1777 tmpfs /dev/shm && exec "$@"' "tandem-$h" "$@"
}

case "${1:-}" in
  up) up "${2:?how many hosts}" ;;
  down) down ;;
  run) shift; run "$@" ;;
  cut) ip -n "$BR_NS" link set "${PREFIX}h${2#h}b" down ;;
  heal) ip -n "$BR_NS" link set "${PREFIX}h${2#h}b" up ;;
  cut-pair)
    ip -n "${PREFIX}-h${2#h}" neigh replace "$(addr "$3")" lladdr 02:00:00:00:de:ad nud permanent dev eth0
    ip -n "${PREFIX}-h${3#h}" neigh replace "$(addr "$2")" lladdr 02:00:00:00:de:ad nud permanent dev eth0 ;;
  heal-pair)
    ip -n "${PREFIX}-h${2#h}" neigh del "$(addr "$3")" dev eth0 2>/dev/null || true
    ip -n "${PREFIX}-h${3#h}" neigh del "$(addr "$2")" dev eth0 2>/dev/null || true ;;
  addr) addr "$2" ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
