#!/bin/sh
# sshd in the background, dockerd in the foreground. dockerd also listens on
# tcp 2376 with TLS when scripts/remote.sh tls has put certificates in /etc/docker/tls.
set -e
# A machine's /run is empty after a reboot; a container's survives a restart
# (`docker restart -t 0` is this machine's hard reboot). dockerd refuses to
# start over its own stale pid file, and would take containerd's for a live one.
rm -rf /run/docker.pid /run/docker.sock /run/docker /run/containerd /run/sshd.pid /run/xtables.lock
mkdir -p /run/sshd
/usr/sbin/sshd -E /var/log/sshd.log
tls=/etc/docker/tls
if [ -f "$tls/server-cert.pem" ]; then
  set -- "$@" --host=tcp://0.0.0.0:2376 --tlsverify \
    "--tlscacert=$tls/ca.pem" "--tlscert=$tls/server-cert.pem" "--tlskey=$tls/server-key.pem"
fi
exec dockerd --host=unix:///var/run/docker.sock "$@"
