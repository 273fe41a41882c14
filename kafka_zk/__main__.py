"""``python -m kafka_zk`` runs the ``kafka-zk`` command line."""

from kafka_zk.admin.cli import main

raise SystemExit(main())
