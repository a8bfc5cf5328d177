"""The AWS Lambda runtime a package is built for: Python version, architecture, glibc.

Wheels with compiled code (numpy) must match the *target* — not this machine — so the
packager asks pip for exactly the manylinux tags the Lambda runtime's glibc can load:
python3.11 runs on Amazon Linux 2 (glibc 2.26), python3.12 and later on Amazon Linux 2023
(glibc 2.34). A wheel tagged ``manylinux_2_28`` imports here but fails on python3.11 Lambda.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from millicent.errors import ConfigError

#: Lambda Python runtime -> (operating system, glibc version) it runs on.
RUNTIME_OS: dict[str, tuple[str, tuple[int, int]]] = {
    "3.11": ("Amazon Linux 2", (2, 26)),
    "3.12": ("Amazon Linux 2023", (2, 34)),
    "3.13": ("Amazon Linux 2023", (2, 34)),
    "3.14": ("Amazon Linux 2023", (2, 34)),
}
#: Lambda's deprecation policy: after this date no *new* function may use the runtime
#: (python3.11 went with Amazon Linux 2). Packages for it still serve the local platform.
CREATE_BLOCKED: dict[str, date] = {"3.11": date(2026, 7, 31)}
ARCHITECTURES = ("x86_64", "arm64")
DEFAULT_PYTHON = "3.12"
DEFAULT_ARCH = "x86_64"
#: The handler string Lambda calls, identical for the zip and the container image.
HANDLER = "millicent.runtime.handler.handler"
#: Public AWS Lambda base images for the container variant.
BASE_IMAGE = "public.ecr.aws/lambda/python"

# manylinux2014 is manylinux_2_17; the oldest tag pip still needs to be offered.
_OLDEST_GLIBC_MINOR = 17


@dataclass(frozen=True)
class LambdaTarget:
    """A Lambda Python runtime on one architecture (``python="3.12"``, ``arch="x86_64"``)."""

    python: str = DEFAULT_PYTHON
    arch: str = DEFAULT_ARCH

    def __post_init__(self) -> None:
        if self.python not in RUNTIME_OS:
            raise ConfigError(
                f"unsupported Lambda Python {self.python!r}; choose one of {', '.join(RUNTIME_OS)}"
            )
        if self.arch not in ARCHITECTURES:
            raise ConfigError(
                f"unsupported architecture {self.arch!r}; choose x86_64 or arm64"
            )

    def check_deployable(self, today: date | None = None) -> None:
        """ConfigError if AWS no longer lets new functions use this runtime."""
        blocked = CREATE_BLOCKED.get(self.python)
        if blocked is not None and (today or date.today()) >= blocked:
            newest = max(RUNTIME_OS, key=lambda v: tuple(int(x) for x in v.split(".")))
            raise ConfigError(
                f"AWS Lambda no longer creates {self.runtime} functions (blocked since "
                f"{blocked.isoformat()}); build the package with --python {newest} or another "
                f"supported version (a {self.runtime} package still runs on the local platform)"
            )

    @property
    def runtime(self) -> str:
        """The Lambda runtime identifier, e.g. ``python3.12``."""
        return f"python{self.python}"

    @property
    def os_name(self) -> str:
        return RUNTIME_OS[self.python][0]

    @property
    def glibc(self) -> tuple[int, int]:
        return RUNTIME_OS[self.python][1]

    @property
    def machine(self) -> str:
        """The machine name in wheel tags: ``x86_64`` or ``aarch64``."""
        return "aarch64" if self.arch == "arm64" else "x86_64"

    @property
    def python_tag(self) -> str:
        """The CPython ABI tag, e.g. ``cp312``."""
        return "cp" + self.python.replace(".", "")

    def pip_platforms(self) -> list[str]:
        """Every manylinux platform tag this runtime's glibc loads, newest first.

        pip does not expand ``manylinux_2_X`` to older versions by itself, so each one is
        listed (plus the legacy ``manylinux2014`` alias).
        """
        major, minor = self.glibc
        tags = [f"manylinux_{major}_{m}_{self.machine}" for m in range(minor, _OLDEST_GLIBC_MINOR - 1, -1)]
        tags.append(f"manylinux2014_{self.machine}")
        return tags

    @property
    def base_image(self) -> str:
        """The public Lambda base image for the container variant."""
        return f"{BASE_IMAGE}:{self.python}"

    @property
    def docker_platform(self) -> str:
        return "linux/arm64" if self.arch == "arm64" else "linux/amd64"

    @property
    def slug(self) -> str:
        """A file-name fragment: ``py3.12-x86_64``."""
        return f"py{self.python}-{self.arch}"
