"""Train the bundled `tiny-shapes` CLIP model from scratch, on the CPU, reproducibly.

    .venv/bin/python tools/train_tiny_model.py            # writes photosearch/resources/models/
    .venv/bin/python tools/train_tiny_model.py --steps 50 --out /tmp/m   # a quick smoke run
    python tools/train_tiny_model.py --device cuda --out /tmp/m          # recipe experiments on a GPU

The model is a real open_clip CLIP (architecture registered from
`photosearch/resources/models/tiny-shapes.json`: a small ResNet image tower with attention
pooling, because convolutions tell a small square from a small triangle where 8-px ViT patches
could not), trained contrastively on synthetic pictures
from `photosearch.synthetic`, preprocessed by the same code the indexer uses. Captions that mean
the same thing ("red above blue", "blue below red") are all positives for each other, so the
loss never pushes apart two phrasings of one meaning. Weights are stored as float16
safetensors (the 49408-token embedding table dominates the size).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from photosearch.core.images import fit_square  # noqa: E402
from photosearch.core.models.registry import TINY_MODEL_DIR, TINY_MODEL_NAME  # noqa: E402
from photosearch.samples import synthetic  # noqa: E402

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def build_pool(count: int, seed: int, size: int, layout_share: float) -> tuple[np.ndarray, np.ndarray]:
    """`count` preprocessed pictures (uint8, N×S×S×3) and the index of each one's label."""
    labels = synthetic.all_labels()
    index_of = {label: i for i, label in enumerate(labels)}
    pictures = np.empty((count, size, size, 3), dtype=np.uint8)
    label_ids = np.empty(count, dtype=np.int64)
    stream = synthetic.training_stream(seed, size, layout_share=layout_share)
    for i in range(count):
        image, label = next(stream)
        pictures[i] = np.asarray(fit_square(image, size))
        label_ids[i] = index_of[label]
    return pictures, label_ids


def to_tensor(pictures: np.ndarray):  # -> torch.Tensor
    import torch

    x = torch.from_numpy(pictures).permute(0, 3, 1, 2).float().div_(255.0)
    return (x - torch.from_numpy(MEAN).view(1, 3, 1, 1)) / torch.from_numpy(STD).view(1, 3, 1, 1)


def evaluate(model, tokenizer, pictures: np.ndarray, label_ids: np.ndarray) -> dict[str, float]:
    """Precision@10 per family on held-out pictures (text→image) and top-1 image→image."""
    import torch

    labels = synthetic.all_labels()
    with torch.inference_mode():
        feats = torch.cat(
            [model.encode_image(to_tensor(pictures[i : i + 256]), normalize=True) for i in range(0, len(pictures), 256)]
        )
        keys = [label.captions()[1 if isinstance(label, synthetic.ShapeLabel) else 0] for label in labels]
        text = model.encode_text(tokenizer(keys), normalize=True)
    scores = (text @ feats.T).numpy()
    result: dict[str, list[float]] = {"shape": [], "layout": []}
    worst: list[tuple[float, str]] = []
    for li, label in enumerate(labels):
        if not (label_ids == li).any():
            continue
        top = np.argsort(-scores[li])[:10]
        family = "shape" if isinstance(label, synthetic.ShapeLabel) else "layout"
        result[family].append(float((label_ids[top] == li).mean()))
        worst.append((result[family][-1], label.key))
    sim = (feats @ feats.T).numpy()
    np.fill_diagonal(sim, -2)
    nn_ok = float((label_ids[sim.argmax(1)] == label_ids).mean())
    print("weakest queries:", ", ".join(f"{key} {p:.1f}" for p, key in sorted(worst)[:5]))
    metrics: dict[str, float] = {}
    for family, values in result.items():
        if values:
            metrics[f"text→image P@10 {family}s (mean)"] = float(np.mean(values))
            metrics[f"text→image P@10 {family}s (worst)"] = float(np.min(values))
    metrics["image→image top-1 same label"] = nn_ok
    return metrics


def train(args: argparse.Namespace) -> None:
    import open_clip
    import torch
    from safetensors.torch import save_file

    started = time.time()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    # bit-for-bit reproducible on the CPU; on a GPU (for quick recipe experiments) only as far as CUDA allows
    torch.use_deterministic_algorithms(True, warn_only=args.device != "cpu")
    device = torch.device(args.device)

    config_src = Path(args.config)
    open_clip.add_model_config(config_src)
    model = open_clip.create_model(TINY_MODEL_NAME, pretrained=None).to(device)
    tokenizer = open_clip.get_tokenizer(TINY_MODEL_NAME)
    size = model.visual.image_size[0] if isinstance(model.visual.image_size, tuple) else model.visual.image_size

    pictures, label_ids = build_pool(args.pool, args.seed, size, args.layout_share)
    held_out, held_ids = build_pool(3000, args.seed + 1_000_003, size, 0.5)
    print(
        f"generated {len(pictures)} training and {len(held_out)} held-out pictures in {time.time() - started:.0f} s", flush=True
    )

    labels = synthetic.all_labels()
    # every phrasing of every label, tokenised once; each step uses one random phrasing per label
    phrasings = [label.captions() for label in labels]
    caption_tokens = tokenizer([text for texts in phrasings for text in texts]).to(device)
    first_caption = torch.tensor(np.cumsum([0] + [len(t) for t in phrasings[:-1]]))
    caption_count = torch.tensor([len(t) for t in phrasings])
    caption_label_t = torch.arange(len(labels), device=device)

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    optimiser = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98)
    )
    warmup = max(1, args.steps // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return args.lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, args.steps - warmup)
        return args.lr * 0.5 * (1 + math.cos(math.pi * progress))

    generator = torch.Generator().manual_seed(args.seed)
    model.train()
    for step in range(args.steps):
        for group in optimiser.param_groups:
            group["lr"] = lr_at(step)
        batch = torch.randint(0, len(pictures), (args.batch,), generator=generator)
        images = to_tensor(pictures[batch.numpy()]).to(device)
        if torch.rand((), generator=generator) < 0.5:  # brightness jitter: robust to exposure
            images = images * (0.85 + 0.3 * torch.rand((images.shape[0], 1, 1, 1), generator=generator)).to(device)
        image_features = model.encode_image(images, normalize=True)
        choice = first_caption + (torch.rand(len(labels), generator=generator) * caption_count).long()
        text_features = model.encode_text(caption_tokens[choice.to(device)], normalize=True)
        scale = model.logit_scale.exp().clamp(max=100)
        logits = scale * image_features @ text_features.T  # batch × captions
        batch_labels = torch.from_numpy(label_ids[batch.numpy()]).to(device)
        positive = (batch_labels[:, None] == caption_label_t[None, :]).float()
        loss_i2t = -(positive / positive.sum(1, keepdim=True) * logits.log_softmax(1)).sum(1).mean()
        present = positive.sum(0) > 0
        logits_t = logits.T[present]
        pos_t = positive.T[present]
        loss_t2i = -(pos_t / pos_t.sum(1, keepdim=True) * logits_t.log_softmax(1)).sum(1).mean()
        # image↔image: photos of the same label attract (tight clusters make "more like this" work)
        same = (batch_labels[:, None] == batch_labels[None, :]).float()
        same.fill_diagonal_(0)
        has_pair = same.sum(1) > 0
        image_logits = (scale * image_features @ image_features.T).masked_fill(
            torch.eye(len(batch_labels), dtype=torch.bool, device=device), -1e4
        )
        loss_i2i = -(same[has_pair] / same[has_pair].sum(1, keepdim=True) * image_logits[has_pair].log_softmax(1)).sum(1).mean()
        loss = (loss_i2t + loss_t2i) / 2 + args.image_loss * loss_i2i
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step:5d}  loss {loss.item():.3f}  scale {scale.item():.1f}  {time.time() - started:.0f} s", flush=True)

    model.eval()
    model.to("cpu")
    metrics = evaluate(model, tokenizer, held_out, held_ids)
    print("\nheld-out evaluation (64 px renders, not the shipped-pipeline test):")
    for name, value in metrics.items():
        print(f"  {name:34s} {value:.3f}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / f"{TINY_MODEL_NAME}.safetensors"), metadata={"seed": str(args.seed), "steps": str(args.steps)})
    if config_src.resolve() != (out / config_src.name).resolve():
        shutil.copy(config_src, out / config_src.name)
    (out / f"{TINY_MODEL_NAME}.metrics.txt").write_text(json.dumps(metrics, indent=2) + "\n")
    total = sum(f.stat().st_size for f in out.glob(f"{TINY_MODEL_NAME}*"))
    print(f"\nwrote {out} ({total / 1e6:.1f} MB) in {time.time() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--steps", type=int, default=2600)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--pool", type=int, default=30000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu (the shipped weights) or cuda (recipe experiments)")
    parser.add_argument("--out", default=str(TINY_MODEL_DIR))
    parser.add_argument("--config", default=str(TINY_MODEL_DIR / f"{TINY_MODEL_NAME}.json"), help="architecture JSON")
    parser.add_argument("--layout-share", type=float, default=0.4, help="share of two-colour layout pictures")
    parser.add_argument("--image-loss", type=float, default=0.5, help="weight of the image-image contrastive term")
    train(parser.parse_args())


if __name__ == "__main__":
    main()
