"""The bundle's program (packaging/threadloom.spec): app.entry answers the helper processes' `-m MODULE`, else runs
the `threadloom` command."""

from app.entry import main

raise SystemExit(main())
