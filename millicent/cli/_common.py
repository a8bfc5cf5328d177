"""Argument helpers shared by the verbs."""

from __future__ import annotations

import argparse

from millicent import config


def add_data_dir(p: argparse.ArgumentParser) -> None:
    """``--data-dir D`` (defaults to ``$MILLICENT_DATA_DIR``, else the download cache)."""
    p.add_argument(
        "--data-dir",
        default=None,
        help=f"local copy of the datasets (default: ${config.DATA_DIR}, else the download cache)",
    )


def add_model_specs(p: argparse.ArgumentParser, required: bool = True) -> None:
    """Repeatable ``--model NAME=ARTIFACT_DIR``."""
    p.add_argument(
        "--model",
        action="append",
        default=[],
        required=required,
        metavar="NAME=DIR",
        help="a function NAME served from the artifact in DIR (repeatable)",
    )
