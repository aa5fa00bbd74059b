"""Imported last by the fork server: moves everything imported so far out of the garbage
collector's reach (``gc.freeze``), so a forked worker's collections do not write to, and so
copy, the pages it shares with the server."""

import gc

gc.freeze()
