"""``python -m deepfake_detector.cli``: the same as the ``deepfake-detector`` command."""

import sys

from deepfake_detector.cli import main

sys.exit(main())
