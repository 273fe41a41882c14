"""Study labs: scripted scenarios on a real local cluster, narrated as they happen (``kafka-zk lab``).

See ``docs/labs.md``; :mod:`kafka_zk.labs.runner` has the catalogue and :func:`~kafka_zk.labs.runner.run_lab`.
"""
