"""Docker HEALTHCHECK: exits 0 when the app answers on its own port.

Written in Python because slim images have no curl.
"""

import os
import sys
import urllib.request

port = os.environ.get("PORT", "5000")
# A host-mode container may bind one address only; 0.0.0.0 answers on loopback.
host = os.environ.get("HOST", "0.0.0.0")
target = "127.0.0.1" if host in ("", "0.0.0.0") else host
try:
    with urllib.request.urlopen(f"http://{target}:{port}/", timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as error:  # noqa: BLE001 - any failure means unhealthy
    print(f"unhealthy: {error}", file=sys.stderr)
    sys.exit(1)
