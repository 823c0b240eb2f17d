"""`ModelRef` (what a source lists) and `Source` (how it lists and builds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Iterator

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class ModelRef:
    """One buildable model: a registry entry or a Hub repo. Picklable, so it can go to a worker."""

    source: str  # registry name of the source ("timm", "transformers", "hf", ...)
    name: str  # name within the source ("resnet50", "BertForMaskedLM", "org/repo")
    library: str = ""  # timm | torchvision | transformers | sentence-transformers | ...
    revision: str = ""  # library version, or the Hub sha
    task: str = ""  # head / pipeline task if known
    config: dict[str, Any] | None = None  # architecture config the model is built from (JSON-able)
    meta: dict[str, Any] = field(default_factory=dict)  # extra hints: tags, base_model, family, ...
    config_hash: str = ""  # filled by the source; identical configs share it

    @property
    def model_id(self) -> str:
        return f"{self.source}:{self.name}"


@dataclass
class Built:
    """A model built on the meta device, with example inputs to trace it with."""

    module: "torch.nn.Module"
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    builder: str = ""  # e.g. "timm.create_model"


class Source:
    """Base class of a model source. Subclasses set ``name`` and implement the two methods.

    ``iter_refs`` must be cheap (no model is built); ``build`` runs inside a tracing worker.
    """

    name: ClassVar[str] = ""
    #: Sources whose build runs repository code set this; the pool then insists on isolation.
    runs_remote_code: ClassVar[bool] = False

    def iter_refs(self, limit: int | None = None, **filters: Any) -> Iterator[ModelRef]:
        raise NotImplementedError

    def build(self, ref: ModelRef) -> Built:
        raise NotImplementedError

    def labels(self, ref: ModelRef) -> dict[str, str]:
        """``{"family", "coarse", "task"}`` for a ref; the default uses the catalog rules."""
        from ..labels import labels_for

        return labels_for(ref)
