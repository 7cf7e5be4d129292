"""PyInstaller runtime hook: let torchvision import without its compiled operators.

open_clip imports torchvision for its image transforms, which photosearch does not use (its
own decoder feeds the model). The bundle leaves out torchvision's compiled parts (the PyPI
build beside the CPU torch cannot load them: they are linked to CUDA), but importing
torchvision registers fake kernels for two of those operators and fails when they are not
defined. So, on the first import of torchvision (only the model export and the torch backend
get there), this defines the two schemas, and nothing else.
"""

import importlib.abc
import sys


class _TorchvisionOperators(importlib.abc.MetaPathFinder):
    library: object = None  # must stay alive, or torch forgets the definitions

    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name != "torchvision":
            return None
        sys.meta_path.remove(self)
        import torch

        library = torch.library.Library("torchvision", "DEF")
        for operator in ("nms", "qnms"):
            library.define(f"{operator}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _TorchvisionOperators.library = library
        return None  # the usual finders import torchvision itself


sys.meta_path.insert(0, _TorchvisionOperators())
