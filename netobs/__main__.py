"""`python -m netobs` is the netobs command."""

from netobs.cli import main

raise SystemExit(main())
