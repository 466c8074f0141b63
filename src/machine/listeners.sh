#!/bin/sh
# Run on the engine's machine (ssh ... sh -s, or a one-shot container in its
# network and pid namespaces) by src/machine/hostPorts.ts: prints
# /proc/net/tcp and tcp6, then "--- holders", then for each listening socket
# "inode pid container-id argv0" ("-" for no container). POSIX sh: the far
# machine may have no bash.
cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
echo "--- holders"
listening=" $(awk '$4 == "0A" { printf "%s ", $10 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null)"
seen=" "
find /proc/[0-9]*/fd -lname 'socket:*' -printf '%p %l\n' 2>/dev/null | while read -r fd link; do
  inode=${link#socket:[}
  inode=${inode%]}
  case "$listening" in *" $inode "*) ;; *) continue ;; esac
  case "$seen" in *" $inode "*) continue ;; esac
  seen="$seen$inode "
  pid=${fd#/proc/}
  pid=${pid%%/*}
  argv0=$(tr '\0' '\n' <"/proc/$pid/cmdline" | head -n 1)
  cid=$(grep -oE '[0-9a-f]{64}' "/proc/$pid/cgroup" | head -n 1)
  echo "$inode $pid ${cid:--} ${argv0:-?}"
done
