"""gunicorn settings, read from the environment so one image serves every network mode."""

import os

# Host mode shares the host's ports, so the port and address must be settable per container.
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"
# Threaded workers keep connections alive; on 2 cores they served 3-4x the
# tutorial's dev server where 2 sync workers served less than it (bench/).
worker_class = "gthread"
workers = int(os.environ.get("WORKERS", "2"))
threads = int(os.environ.get("THREADS", "4"))
# Import the app once, then fork: less CPU when 8 containers start together.
preload_app = True
# The root filesystem is read-only; /dev/shm is always writable and RAM-backed.
worker_tmp_dir = "/dev/shm"
# SIGTERM lets in-flight requests finish, but never for Docker's full 10 s.
graceful_timeout = 3
accesslog = None
