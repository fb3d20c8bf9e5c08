from facefarm.render_farm.cli import main

raise SystemExit(main())
