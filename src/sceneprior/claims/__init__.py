"""Experiments, apart from the library: the lecture's claims (shared/design/FRAMEWORK.md), each one command,
``sceneprior bench claim NAME``, that produces a number, a verdict and a plot (see :mod:`.common`). The library
core never imports this package (``tests/test_architecture.py`` checks it); only the command's entry point,
:mod:`sceneprior.cli.bench_claims`, does."""
