"""One container's row of the connectivity matrix: docker exec -i NAME python3 - REQUEST_JSON < connectivity.py

REQUEST_JSON is {"timeout": seconds, "registered": [names], "tries": [{"target", "way", "host", "port"}]}
with way "dns", "ip", "name" or "port". Every try runs at once in its own thread;
prints {"results": [{"target", "way", "outcome", "detail"}]} with outcome "ok",
"nxdomain", "timeout", "refused" or "error".

Names go to a resolver only when it is Docker's embedded DNS and the name is
registered on this container's network (REQUEST "registered", from docker
network inspect): the embedded DNS forwards every other name, and any other
resolver is the host's, outside the machine's containers. Those names are
looked up in /etc/hosts only, as getaddrinfo's "files" step would.
"""

import errno
import http.client
import json
import socket
import sys
import threading

EMBEDDED_DNS = "127.0.0.11"
# Refused, or no route at all (the none container): nothing is there to answer.
REFUSED = (errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNRESET)


def read_resolver():
    with open("/etc/resolv.conf") as resolv:
        nameservers = [line.split()[1] for line in resolv if line.startswith("nameserver")]
    by_name = {}
    with open("/etc/hosts") as hosts:
        for fields in (line.split("#")[0].split() for line in hosts):
            # Tries are IPv4, and the first line for a name wins, as in getaddrinfo.
            if fields and "." in fields[0]:
                for name in fields[1:]:
                    by_name.setdefault(name, fields[0])
    return nameservers, by_name


def resolve(name, registered, nameservers, hosts):
    """Returns (address, detail); address None when the name does not resolve."""
    if nameservers == [EMBEDDED_DNS] and name in registered:
        try:
            return socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0], "embedded DNS"
        except socket.gaierror as error:
            return None, f"getaddrinfo: {error.strerror}"
    if name in hosts:
        return hosts[name], "/etc/hosts"
    if nameservers == [EMBEDDED_DNS]:
        return None, "not on this network's embedded DNS nor in /etc/hosts (forwarding not asked)"
    return None, f"no embedded DNS (resolver {', '.join(nameservers) or 'none'}, not asked); not in /etc/hosts"


def http_get(host, port, timeout):
    try:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        connection.request("GET", "/")
        response = connection.getresponse()
        return "ok", f"{host}:{port} HTTP {response.status} {response.read(40).decode(errors='replace')!r}"
    except socket.timeout:
        return "timeout", f"{host}:{port} no answer in {timeout} s"
    except OSError as error:
        outcome = "refused" if error.errno in REFUSED else "error"
        return outcome, f"{host}:{port} {type(error).__name__}: {error.strerror or error}"


def run(attempt, request, nameservers, hosts):
    way, host = attempt["way"], attempt["host"]
    try:
        if way in ("dns", "name"):
            address, detail = resolve(host, request["registered"], nameservers, hosts)
            if address is None:
                return "nxdomain", detail
            if way == "dns":
                return "ok", f"{address} ({detail})"
            host = address
        return http_get(host, attempt["port"], request["timeout"])
    except Exception as error:  # one broken try must not hide the others
        return "error", f"{type(error).__name__}: {error}"


def main():
    request = json.loads(sys.argv[1])
    nameservers, hosts = read_resolver()
    results = [None] * len(request["tries"])

    def work(index, attempt):
        outcome, detail = run(attempt, request, nameservers, hosts)
        results[index] = {"target": attempt["target"], "way": attempt["way"], "outcome": outcome, "detail": detail}

    threads = [threading.Thread(target=work, args=item) for item in enumerate(request["tries"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
