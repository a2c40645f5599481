from buildnet.master._cli import main

raise SystemExit(main())
