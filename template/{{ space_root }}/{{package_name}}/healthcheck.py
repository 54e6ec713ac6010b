# Owned by the template: `copier update` keeps this file current; don't edit it.
"""Docker HEALTHCHECK: exit 0 when /health/live answers, without curl in the image."""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '7860')}/health/live"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
