"""The bundled demo model: built from scratch by our own code on procedural materials
(docs/demo-model.md).

- `build_demo_model(DemoBuildOptions(...))`: tokenizers, text encoders, VAE, base transformer,
  stage 1 and stage 2 (CLI: `intrinsix train demo --out DIR`).
- `evaluate(model_dir, ...)`: held-out prompts and the quality criteria (CLI: `intrinsix eval demo`).
- `DEMO`, `TINY`, `DemoSizes`: the model sizes.
"""

from .architecture import DEMO, TINY, DemoSizes
from .build import DemoBuildOptions, build_demo_model, parse_minutes
from .evaluate import evaluate

__all__ = ["DEMO", "TINY", "DemoSizes", "DemoBuildOptions", "build_demo_model", "evaluate", "parse_minutes"]
