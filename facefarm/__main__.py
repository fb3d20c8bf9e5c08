from facefarm.cli.main import main

raise SystemExit(main())
