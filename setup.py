"""Only the C extension lives here; metadata, dependencies and entry points are in setup.cfg.

``kafka_zk.client._fastcodec`` is optional: where no C compiler is found the build goes on without it and
the client uses the pure-Python codec it mirrors (``kafka_zk.client.fastcodec``).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("kafka_zk.client._fastcodec", ["kafka_zk/client/_fastcodec.c"],
                             extra_compile_args=["-O2"], optional=True)])
