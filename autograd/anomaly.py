"""``detect_anomaly``: remember where each op was created; fail loudly on NaN/Inf in backward."""
import os
import traceback

from . import grad_mode

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _creation_trace():
    """The user's stack frames (outside the autograd package) that created a node."""
    frames = [f for f in traceback.extract_stack()[:-1]
              if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)]
    return traceback.format_list(frames[-4:])


class detect_anomaly:
    """Context manager: during backward, a node producing NaN/Inf raises an error
    that names the op and shows the line of user code that created it."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = grad_mode._anomaly
        grad_mode._anomaly = self.check_nan

    def __exit__(self, *exc):
        grad_mode._anomaly = self._prev
        return False
