"""``millicent bench --compare`` and ``millicent demo``: deployments prepared, served and measured here.

:mod:`.prepare` (stores and packs a rerun reuses), :mod:`.deployments` (each configuration
served by a process on a loopback port), :mod:`.coldprobe` (cold starts from zero),
:mod:`.compare` (the configurations side by side, their ratios), :mod:`.targets` (the
project's targets) and :mod:`.demo` (the whole story on the embedded default). It composes
the harness, the baselines and the economics; nothing below imports it.
"""
