import sys

from facesync.cli import main

sys.exit(main())
