"""``python -m cdk_kp.runtime.cli``: the ``cdk-kp`` command."""

from cdk_kp.runtime.cli import main

raise SystemExit(main())
