"""Per-component size report of a function package and AWS Lambda's package limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from millicent.errors import MillicentError

MB = 1024 * 1024
#: AWS Lambda quotas for a .zip deployment package (direct upload / unzipped incl. layers).
LAMBDA_MAX_ZIPPED = 50 * MB
LAMBDA_MAX_UNZIPPED = 250 * MB


class PackageTooLarge(MillicentError):
    """The package is over one of Lambda's size limits."""

    exit_code = 1
    code = "package_too_large"


@dataclass(frozen=True)
class SizeLimits:
    """Limits a package must stay under (bytes); Lambda's by default."""

    max_zipped: int = LAMBDA_MAX_ZIPPED
    max_unzipped: int = LAMBDA_MAX_UNZIPPED


#: Through S3 — ``millicent deploy`` uploads the zip to its code bucket — the 50 MB
#: direct-upload quota does not apply, only the 250 MB unzipped one (a zip is never larger
#: than what it holds, plus headers): ``millicent package --via-s3``.
S3_UPLOAD = SizeLimits(max_zipped=LAMBDA_MAX_UNZIPPED)


@dataclass
class ComponentSize:
    """Files, unzipped bytes and compressed bytes of one component (e.g. ``numpy 2.2.6``)."""

    name: str
    files: int = 0
    unzipped: int = 0
    zipped: int = 0


@dataclass
class SizeReport:
    """Sizes of a package by component; ``zip_bytes`` is the whole file (headers included)."""

    components: dict[str, ComponentSize] = field(default_factory=dict)
    zip_bytes: int = 0

    def add(self, component: str, unzipped: int, zipped: int = 0) -> None:
        c = self.components.setdefault(component, ComponentSize(component))
        c.files += 1
        c.unzipped += unzipped
        c.zipped += zipped

    @property
    def unzipped(self) -> int:
        return sum(c.unzipped for c in self.components.values())

    @property
    def zipped(self) -> int:
        """The zip file's size once written, else the sum of compressed members."""
        return self.zip_bytes or sum(c.zipped for c in self.components.values())

    def largest(self, key: str = "unzipped", n: int = 3) -> list[ComponentSize]:
        return sorted(self.components.values(), key=lambda c: getattr(c, key), reverse=True)[:n]

    def to_dict(self) -> dict[str, object]:
        return {
            "zipped_bytes": self.zipped,
            "unzipped_bytes": self.unzipped,
            "components": {
                c.name: {"files": c.files, "unzipped_bytes": c.unzipped, "zipped_bytes": c.zipped}
                for c in self.components.values()
            },
        }

    def format(self, limits: SizeLimits | None = None) -> str:
        """A table: one line per component, largest first, then the totals and the limits."""
        rows = sorted(self.components.values(), key=lambda c: c.unzipped, reverse=True)
        width = max([len("component"), *(len(c.name) for c in rows)])
        lines = [f"{'component':<{width}}  {'files':>6}  {'unzipped':>10}  {'zipped':>10}"]
        for c in rows:
            lines.append(f"{c.name:<{width}}  {c.files:>6}  {_mb(c.unzipped):>10}  {_mb(c.zipped):>10}")
        files = sum(c.files for c in rows)
        lines.append(f"{'total':<{width}}  {files:>6}  {_mb(self.unzipped):>10}  {_mb(self.zipped):>10}")
        if limits is not None:
            lines.append(
                f"{'Lambda limit':<{width}}  {'':>6}  {_mb(limits.max_unzipped):>10}  "
                f"{_mb(limits.max_zipped):>10}"
            )
        return "\n".join(lines)


def _mb(n: int) -> str:
    return f"{n / MB:.2f} MB"


def check_limits(report: SizeReport, limits: SizeLimits, zipped_known: bool = True) -> None:
    """Raise :class:`PackageTooLarge` naming the biggest components if a limit is passed.

    ``zipped_known=False`` checks only the unzipped size (before the zip is written).
    """
    problems = []
    if report.unzipped > limits.max_unzipped:
        big = ", ".join(f"{c.name} {_mb(c.unzipped)}" for c in report.largest("unzipped"))
        problems.append(
            f"unzipped size {_mb(report.unzipped)} is over the limit of {_mb(limits.max_unzipped)}; "
            f"biggest components: {big}"
        )
    if zipped_known and report.zipped > limits.max_zipped:
        big = ", ".join(f"{c.name} {_mb(c.zipped)}" for c in report.largest("zipped"))
        problems.append(
            f"zipped size {_mb(report.zipped)} is over the limit of {_mb(limits.max_zipped)}; "
            f"biggest components: {big}"
        )
    if problems:
        raise PackageTooLarge(
            "the function package is too large for AWS Lambda: " + "; ".join(problems)
            + " (use a smaller frequent-word pack, fewer models, or the container image"
            + ("; or --via-s3: `millicent deploy` uploads through S3, where only the unzipped "
               "limit applies)" if limits.max_zipped < LAMBDA_MAX_UNZIPPED else ")"),
            sizes=report.to_dict(),
        )
