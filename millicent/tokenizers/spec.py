"""A model's tokenizer as its manifest names it: the name, the case, the version, the limit.

Training and serving must agree on it; :func:`millicent.tokenizers.make_tokenizer` builds
the tokenizer from a spec and the artifact directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from millicent.errors import ArtifactError
from millicent.tokenizers import TOKENIZERS, version_of


@dataclass(frozen=True)
class TokenizerSpec:
    """How the model's texts are split into tokens (training and serving must agree).

    :func:`millicent.tokenizers.make_tokenizer` builds the tokenizer from this spec
    and the artifact directory (where a tokenizer keeps its own files).
    """

    name: str = "ptb"  #: a name of :data:`~millicent.tokenizers.TOKENIZERS`
    lowercase: bool = True
    version: str = "ptb-1"
    #: the model's sequence limit, special tokens included (None: the service's limit only)
    max_tokens: int | None = None

    @classmethod
    def of(cls, name: str = "ptb", lowercase: bool = True, max_tokens: int | None = None) -> TokenizerSpec:
        """The current version of tokenizer ``name``."""
        version = version_of(name)
        if version is None:
            raise ArtifactError(f"unknown tokenizer {name!r} (known: {sorted(TOKENIZERS)})")
        return cls(name, lowercase, version, max_tokens)

    @classmethod
    def from_dict(cls, d: Any, where: str) -> TokenizerSpec:
        if not isinstance(d, dict):
            raise ArtifactError(f"{where}: 'tokenizer' must be an object")
        version = d.get("version", "ptb-1")
        name = d.get("name") or str(version).split("-")[0]
        if version_of(name) != version:
            known = {n: v for n, (_, v) in TOKENIZERS.items()}
            raise ArtifactError(f"{where}: unknown tokenizer {name!r} version {version!r}; this "
                                f"runtime has {known}")
        lowercase = d.get("lowercase", True)
        if not isinstance(lowercase, bool):
            raise ArtifactError(f"{where}: 'tokenizer.lowercase' must be true or false")
        max_tokens = d.get("max_tokens")
        if max_tokens is not None and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool)
                                       or max_tokens < 1):
            raise ArtifactError(f"{where}: 'tokenizer.max_tokens' must be a positive integer")
        return cls(name, lowercase, version, max_tokens)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "lowercase": self.lowercase, "version": self.version}
        if self.max_tokens is not None:
            out["max_tokens"] = self.max_tokens
        return out
