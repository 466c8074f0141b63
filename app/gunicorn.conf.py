"""gunicorn settings, read from the environment so one image serves every network mode."""

import os
import selectors

# Host mode shares the host's ports, so the port and address must be settable per container.
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"
# Threaded workers keep connections alive; on 2 cores they served 3-4x the
# tutorial's dev server where 2 sync workers served less than it (bench/).
# One worker by default: it served as much as two (3155-3400 vs 2954-3030
# req/s under wrk on 2 cores, alternating) in 33 MiB instead of 37 (44 vs 61
# after load). WORKERS raises it where there are cores to spare.
worker_class = "gthread"
workers = int(os.environ.get("WORKERS", "1"))
threads = int(os.environ.get("THREADS", "4"))
# Import the app once, then fork: less CPU when 8 containers start together.
preload_app = True
# The root filesystem is read-only; /dev/shm is always writable and RAM-backed.
worker_tmp_dir = "/dev/shm"
# SIGTERM lets in-flight requests finish, but never for Docker's full 10 s.
graceful_timeout = 3
accesslog = None


def post_worker_init(worker):
    """Wake a gthread worker as soon as a signal arrives.

    Its loop polls for 1 s at a time and only then sees SIGTERM, so every
    `docker stop` took 1.1-1.5 s. gunicorn already points Python's signal
    wakeup fd at worker.PIPE; watching that pipe ends the wait at once.
    """
    poller = getattr(worker, "poller", None)
    if poller is None:  # sync workers already select on the pipe
        return
    poller.register(worker.PIPE[0], selectors.EVENT_READ, _drain)


def _drain(fd):
    try:
        os.read(fd, 512)
    except BlockingIOError:
        pass
