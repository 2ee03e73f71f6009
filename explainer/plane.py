"""The loss of a model at many points θ + α·d₁ + β·d₂ of a plane of weights — fast, and exactly.

The first layer with weights is *linear* in them, so for a convolution

    conv1(x; W + α·D₁ + β·D₂) = conv1(x; W) + α·conv1(x; D₁) + β·conv1(x; D₂)

(and the same for its bias): :class:`Plane` computes the three convolutions of the batch
once, and each point only adds them up before running the rest of the network on
combined weights. The model itself is never touched: the layers are called as plain
functions, and the exact reference (:func:`plain_losses`, ``torch.func.functional_call``
per point) runs on a private copy — ``functional_call`` swaps the module's tensors while it
runs, which another student's forward pass on the shared model must never see.

    >>> plane = Plane(model, x, y, d1, d2)
    >>> loss, accuracy = plane.evaluate(torch.tensor([0.0, 0.5]), torch.tensor([0.0, -0.5]))
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

Params = dict[str, torch.Tensor]


def parameters_of(model: nn.Module) -> Params:
    """The model's weights by name, detached (read-only views: nothing here writes to them)."""
    return {name: p.detach() for name, p in model.named_parameters()}


def _combine(base: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor, a: float, b: float) -> torch.Tensor:
    return torch.add(base, d1, alpha=a).add_(d2, alpha=b)


# The activations the fast path applies in place. Each never decreases, so it commutes with a
# max-pooling: pool(f(x)) = f(pool(x)), and applying it after the pooling is ¼ of the work.
_ACTIVATIONS: dict[type[nn.Module], Callable[[torch.Tensor], torch.Tensor]] = {
    nn.ReLU: torch.relu_, nn.Sigmoid: torch.sigmoid_, nn.Tanh: torch.tanh_}
_SIMPLE_LAYERS = (nn.Conv2d, nn.Linear, *_ACTIVATIONS, nn.MaxPool2d, nn.AvgPool2d, nn.Flatten)


def _is_2x2(pool: nn.Module) -> bool:
    """A max-pooling over disjoint 2×2 windows (kernel 2, stride 2, no padding or dilation)."""
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)  # noqa: E731
    return (isinstance(pool, nn.MaxPool2d) and pair(pool.kernel_size) == (2, 2) and pair(pool.stride) == (2, 2)
            and pair(pool.padding) == (0, 0) and pair(pool.dilation) == (1, 1) and not pool.ceil_mode)


def _max_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """``max_pool2d(x, 2)`` of a channels-last map with even sides, as the maximum of its four 2×2 offsets.

    Three element-wise maxima over strided views: about half the time of ``max_pool2d`` on
    these small maps. The result is channels last too.
    """
    n, c, h, w = x.shape
    v = x.permute(0, 2, 3, 1).reshape(n, h // 2, 2, w // 2, 2, c)
    out = torch.maximum(v[:, :, 0, :, 0], v[:, :, 0, :, 1])
    torch.maximum(out, v[:, :, 1, :, 0], out=out)
    torch.maximum(out, v[:, :, 1, :, 1], out=out)
    return out.permute(0, 3, 1, 2)


class Plane:
    """The loss and accuracy of ``model`` with weights ``base + α·d₁ + β·d₂``, on one batch.

    ``base`` defaults to the model's own weights, ``d2`` to no direction (a line). With
    ``method="auto"`` the fast path is used where the model is a chain of Conv2d / Linear /
    ReLU, sigmoid or tanh / pooling / Flatten layers that ``forward`` calls in order (the app's three models):
    the first weighted layer's output is precomputed for base, d₁ and d₂ and combined per
    point, the rest runs as functions of the combined weights. Several points go through
    each pass: the first layer and the linear layers as single batched operations, the
    convolutions point by point on channels-last maps — few, large operations, which also
    keeps it fast when other programs compete for the cores. The answer is checked against
    the plain path at the first point; any other model, or a mismatch, uses
    ``method="plain"`` (``functional_call`` per point on a private copy of the model).
    """

    def __init__(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, d1: Mapping[str, torch.Tensor],
                 d2: Mapping[str, torch.Tensor] | None = None, base: Mapping[str, torch.Tensor] | None = None,
                 method: str = "auto") -> None:
        if method not in ("auto", "fast", "plain"):
            raise ValueError("method must be 'auto', 'fast' or 'plain'.")
        own = parameters_of(model)
        self.device = next(iter(own.values())).device if own else torch.device("cpu")
        self.base = {k: v.to(self.device) for k, v in (base or own).items()}
        self.d1 = {k: v.to(self.device) for k, v in d1.items()}
        self.d2 = {k: v.to(self.device) for k, v in (d2 or {k: torch.zeros_like(v) for k, v in self.base.items()}).items()}
        if not (set(self.base) == set(self.d1) == set(self.d2) == set(own)):
            raise ValueError("The directions must have one tensor per weight of the model.")
        self.images = images.to(self.device, torch.float32)
        self.labels = labels.to(self.device)
        # functional_call swaps tensors in place: never on the shared model. The landscape is the
        # trained model's loss, in evaluation mode (no dropout), whatever mode the model is in.
        self._model = copy.deepcopy(model).eval()
        self._layers = self._chain(self._model) if method != "plain" else None
        self._first: list[torch.Tensor] | None = None
        self.method = "plain"
        if self._layers is not None:
            with torch.inference_mode():
                self._prepare()
                zero = torch.zeros(1, device=self.device)
                try:
                    fast = self._pass(zero, zero)[0]
                except (RuntimeError, ValueError, StopIteration):  # layers that do not chain as the fast path assumes
                    fast = None
                exact = self.logits(0.0, 0.0)
            if fast is not None and fast.shape == exact.shape and torch.allclose(fast, exact, rtol=1e-4, atol=1e-4):
                self.method = "fast"
            elif method == "fast":
                raise ValueError("The fast path does not reproduce this model's forward pass.")
        elif method == "fast":
            raise ValueError("The fast path does not apply to this model.")

    # --- the exact reference ---------------------------------------------------------------------

    def params_at(self, a: float, b: float) -> Params:
        return {k: _combine(self.base[k], self.d1[k], self.d2[k], a, b) for k in self.base}

    def logits(self, a: float, b: float) -> torch.Tensor:
        """The model's own forward pass at ``base + a·d₁ + b·d₂`` (``functional_call``): ``[N, classes]``."""
        with torch.inference_mode():
            return functional_call(self._model, self.params_at(float(a), float(b)), (self.images,))

    # --- the fast path -------------------------------------------------------------------------------

    @staticmethod
    def _chain(model: nn.Module) -> list[tuple[str, nn.Module]] | None:
        """The model's layers in order when it is a plain chain the fast path understands, else None."""
        layers = list(model.named_children())
        if not layers or not all(isinstance(m, _SIMPLE_LAYERS) for _, m in layers):
            return None
        weighted = [name for name, m in layers if isinstance(m, (nn.Conv2d, nn.Linear))]
        if not weighted or {n.rsplit(".", 1)[0] for n, _ in model.named_parameters()} != set(weighted):
            return None
        if any(isinstance(m, nn.Conv2d) and (m.padding_mode != "zeros" or isinstance(m.padding, str)) for _, m in layers):
            return None
        if any(isinstance(m, nn.Flatten) and (m.start_dim, m.end_dim) != (1, -1) for _, m in layers):
            return None
        return layers

    def _prepare(self) -> None:
        """Run the layers before the first weighted one, then that layer for base, d₁ and d₂ (bias included).

        The three outputs are kept shaped so that broadcast multiply-adds make a whole pass of
        points at once. When the first layer is a convolution followed by an activation and a 2×2
        max-pooling (SimpleCNN's conv1 → relu1 → pool1) they are stored by pooling offset,
        ``[4, 1, N·H/2·W/2, C]``: the four pixels of every 2×2 window in four contiguous blocks.
        The pooling is then the maximum of the four blocks, the activation comes after it (max
        and ReLU, sigmoid or tanh commute, as none of them ever decreases), and each point's
        result is already the channels-last input of the next convolution.
        """
        x = self.images
        layers = self._layers
        for i, (name, module) in enumerate(layers):
            if not isinstance(module, (nn.Conv2d, nn.Linear)):
                x = module(x)
                continue
            outputs = [self._apply(module, x, w[f"{name}.weight"], w.get(f"{name}.bias")) for w in (self.base, self.d1, self.d2)]
            start = i + 1
            following = layers[i + 1:i + 3]
            if outputs[0].dim() == 4 and len(following) == 2 and type(following[0][1]) in _ACTIVATIONS \
                    and _is_2x2(following[1][1]) and outputs[0].shape[2] % 2 == 0 and outputs[0].shape[3] % 2 == 0:
                n, c, h, w = outputs[0].shape
                self._first_kind, self._maps, start = "pooled", (n, h // 2, w // 2, c), i + 3
                self._first_activation = _ACTIVATIONS[type(following[0][1])]
                outputs = [o.view(n, c, h // 2, 2, w // 2, 2).permute(3, 5, 0, 2, 4, 1).reshape(4, 1, -1, c).contiguous()
                           for o in outputs]
            elif outputs[0].dim() == 4:
                n, c, h, w = outputs[0].shape
                self._first_kind, self._maps = "conv", (n, h, w, c)
                outputs = [o.permute(0, 2, 3, 1).unsqueeze(0).contiguous() for o in outputs]  # [1, N, H, W, C]
            else:
                self._first_kind = "flat"
                outputs = [o.unsqueeze(0) for o in outputs]  # [1, N, F]: points go in dimension 0
            self._first = outputs
            self._steps = self._program(layers[start:])
            per_point = outputs[0].numel() + sum(self.base[f"{n}.weight"].numel() for n, m in layers if isinstance(m, nn.Conv2d))
            self.points_per_pass = max(1, min(8, (1 << 23) // per_point))  # about 32 MB of first-layer maps per pass
            return

    @staticmethod
    def _program(layers: list[tuple[str, nn.Module]]) -> list[tuple[str, str | None, nn.Module]]:
        """The remaining layers as steps; an activation right before a max-pooling is done after it (same result, ¼ the work)."""
        steps: list[tuple[str, str | None, nn.Module]] = []
        i = 0
        while i < len(layers):
            name, module = layers[i]
            if type(module) in _ACTIVATIONS and i + 1 < len(layers) and isinstance(layers[i + 1][1], nn.MaxPool2d):
                steps += [("module", None, layers[i + 1][1]), ("activation", None, module)]
                i += 2
                continue
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                steps.append(("weighted", name, module))
            elif type(module) in _ACTIVATIONS:
                steps.append(("activation", None, module))
            elif isinstance(module, nn.Flatten):
                steps.append(("flatten", None, module))
            else:
                steps.append(("module", None, module))
            i += 1
        return steps

    @staticmethod
    def _apply(module: nn.Module, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if isinstance(module, nn.Conv2d):
            return F.conv2d(x, weight, bias, module.stride, module.padding, module.dilation, module.groups)
        return F.linear(x, weight, bias)

    def _weights(self, key: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``base + a·d₁ + b·d₂`` of one tensor for every point of the pass: ``[P, *shape]``."""
        base, d1, d2 = self.base[key], self.d1[key], self.d2[key]
        shape = (len(a),) + (1,) * base.dim()
        return torch.addcmul(base.unsqueeze(0), d1.unsqueeze(0), a.view(shape)).addcmul_(d2.unsqueeze(0), b.view(shape))

    def _pass(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The logits ``[P, N, classes]`` at P points at once (``a``, ``b``: float32 ``[P]``).

        The first layer is one broadcast multiply-add for all P points; the convolutions run
        point by point on contiguous channels-last maps (oneDNN's fastest case); after the
        flatten, every linear layer is one batched matrix product over the P points.
        """
        count = len(a)
        c0, c1, c2 = self._first
        steps = self._steps
        if self._first_kind == "pooled":  # one 2×2 offset at a time, keeping the running maximum: [P, M, C]
            view = (count, 1, 1)
            same_b = bool((b == b[0]).all())  # a row of the grid: c0 + β·c2 once for the whole pass

            def offset(j: int) -> torch.Tensor:
                if same_b:
                    return torch.addcmul(torch.add(c0[j], c2[j], alpha=float(b[0])), c1[j], a.view(view))
                return torch.addcmul(c0[j], c1[j], a.view(view)).addcmul_(c2[j], b.view(view))

            maps = offset(0)
            for j in (1, 2, 3):
                torch.maximum(maps, offset(j), out=maps)
            self._first_activation(maps)
        else:
            view = (count,) + (1,) * (c0.dim() - 1)
            z = torch.addcmul(c0, c1, a.view(view)).addcmul_(c2, b.view(view))
        if self._first_kind in ("pooled", "conv"):
            flat = next(i for i, (kind, _, _) in enumerate(steps) if kind == "flatten")
            convs, steps = steps[:flat], steps[flat + 1:]
            weights = {name: (self._weights(f"{name}.weight", a, b),
                              self._weights(f"{name}.bias", a, b) if module.bias is not None else None)
                       for kind, name, module in convs if kind == "weighted"}
            maps = maps.view(count, *self._maps) if self._first_kind == "pooled" else z
            x = None
            for p in range(count):
                h = maps[p].permute(0, 3, 1, 2)  # [N, C, H, W], channels last
                for kind, name, module in convs:
                    if kind == "weighted":
                        weight, bias = weights[name]
                        h = self._apply(module, h, weight[p], None if bias is None else bias[p])
                    elif kind == "activation":
                        h = _ACTIVATIONS[type(module)](h)
                    elif _is_2x2(module) and h.shape[2] % 2 == 0 and h.shape[3] % 2 == 0:
                        h = _max_pool_2x2(h)
                    else:
                        h = module(h)
                if x is None:
                    x = torch.empty((count, h.shape[0], h[0].numel()), dtype=h.dtype, device=h.device)
                x[p].view(h.shape).copy_(h)  # flatten in PyTorch's C·H·W order
        else:
            x = z  # [P, N, F]
        for kind, name, module in steps:
            if kind == "weighted" and isinstance(module, nn.Linear):
                weight = self._weights(f"{name}.weight", a, b)
                if module.bias is None:
                    x = torch.bmm(x, weight.transpose(1, 2))
                else:
                    x = torch.baddbmm(self._weights(f"{name}.bias", a, b).unsqueeze(1), x, weight.transpose(1, 2))
            elif kind == "activation":
                x = _ACTIVATIONS[type(module)](x)
            else:
                raise ValueError("After the flatten the fast path expects only linear layers and activations.")
        return x

    # --- many points ---------------------------------------------------------------------------------

    def evaluate(self, alphas: torch.Tensor, betas: torch.Tensor,
                 on_point: Callable[[int], None] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy and accuracy on the batch at each point (α[p], β[p]): two float64 tensors ``[P]``."""
        alphas = torch.as_tensor(alphas, dtype=torch.float64).flatten()
        betas = torch.as_tensor(betas, dtype=torch.float64).flatten()
        losses = torch.empty(len(alphas), dtype=torch.float64)
        accuracies = torch.empty(len(alphas), dtype=torch.float64)
        with torch.inference_mode():
            if self.method == "fast":
                step = self.points_per_pass
                for s in range(0, len(alphas), step):
                    a = alphas[s:s + step].to(self.device, torch.float32)
                    b = betas[s:s + step].to(self.device, torch.float32)
                    logits = self._pass(a, b)
                    count, n, classes = logits.shape
                    loss = F.cross_entropy(logits.reshape(-1, classes), self.labels.repeat(count), reduction="none")
                    losses[s:s + count] = loss.view(count, n).mean(1).double().cpu()
                    accuracies[s:s + count] = (logits.argmax(-1) == self.labels).float().mean(1).double().cpu()
                    if on_point is not None:
                        on_point(s + count)
            else:
                for p, (a, b) in enumerate(zip(alphas.tolist(), betas.tolist())):
                    logits = self.logits(a, b)
                    losses[p] = float(F.cross_entropy(logits, self.labels))
                    accuracies[p] = float((logits.argmax(1) == self.labels).float().mean())
                    if on_point is not None:
                        on_point(p + 1)
        return losses, accuracies


def plain_losses(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, d1: Mapping[str, torch.Tensor],
                 d2: Mapping[str, torch.Tensor], alphas: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    """The reference: ``functional_call`` on the batch at every (α[p], β[p]), one forward each (on a copy, in eval mode)."""
    private = copy.deepcopy(model).eval()
    base = parameters_of(private)
    out = torch.empty(len(alphas), dtype=torch.float64)
    with torch.inference_mode():
        for p, (a, b) in enumerate(zip(torch.as_tensor(alphas).tolist(), torch.as_tensor(betas).tolist())):
            params = {k: base[k] + a * d1[k] + b * d2[k] for k in base}
            out[p] = float(F.cross_entropy(functional_call(private, params, (images,)), labels))
    return out
