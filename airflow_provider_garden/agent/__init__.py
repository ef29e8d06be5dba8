"""Verbs run inside operator pods by `garden-agent`; no Airflow here."""

import os
import signal
import sys

# As PID 1 of its container the agent ignores SIGTERM until it has a handler, and the
# verb modules take seconds to import on a busy node: a pod deleted meanwhile lingered
# for its whole grace period (the kill matrix's first pods, 32 s). The handler is set
# here, before those imports; `agent.main` sets the same one again.
if os.getpid() == 1:
    signal.signal(signal.SIGTERM, lambda signum, _: sys.exit(128 + signum))
