"""``python -m hanode``: the same as the ``hanode`` command."""

from hanode.cli import main

raise SystemExit(main())
