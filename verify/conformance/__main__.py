"""``python -m verify.conformance FD CLOCK``: the worker process (``verify.conformance.worker``)."""

import sys

from verify.conformance.worker import worker_main

worker_main(int(sys.argv[1]), sys.argv[2])
