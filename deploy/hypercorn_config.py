"""Hypercorn settings of the production image, read from the environment at start-up.

Used as `hypercorn --config file:deploy/hypercorn_config.py "app:create_app()"`. Hypercorn
copies every public name of this file into its settings, so helpers start with `_`.
"""

import logging as _logging
import os as _os
import shutil as _shutil

bind = [f"0.0.0.0:{_os.environ.get('PORT') or '5000'}"]
workers = int(_os.environ.get("WEB_CONCURRENCY") or _os.environ.get("WORKERS") or "2")
# Answers stream for a while: on SIGTERM, give open streams this long to finish.
graceful_timeout = float(_os.environ.get("GRACEFUL_TIMEOUT") or "120")
# A burst of visitors past the default queue of 100 waits seconds for TCP to retry.
backlog = 2048
# The app logs each request itself, as JSON, with its id and duration.
accesslog = None
# uvloop runs the event loop's own work at a fraction of asyncio's cost.
worker_class = "uvloop"
errorlog = _logging.getLogger("hypercorn.error")

# Each worker writes its metrics into this folder; start with it empty so that
# figures of an earlier run of the container are not added in.
if _metrics := _os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _shutil.rmtree(_metrics, ignore_errors=True)
    _os.makedirs(_metrics)
