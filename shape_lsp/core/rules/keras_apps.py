"""keras.applications backbones as opaque but known layers.

The output follows include_top / input_shape / pooling: with the top, (B, classes); without it,
(B, h, w, features) where each spatial side is divided by 32 as the backbone's stride-2 stages
do (families differ in how odd sizes round), or (B, features) with pooling='avg' / 'max'.
Parameter counts were measured with Keras 3.15 (`weights=None`, 1000 classes); another class
count changes only the classifier.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shape_lsp.core.rules.base import Args, RuleCall, ShapeError, fmt_shape, ok, unknown_like
from shape_lsp.core.rules.keras_base import KW, B, keras_layer, out
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape


@dataclass(frozen=True)
class Backbone:
    """What Keras builds: default side, feature channels, params with / without the top."""

    keras_name: str
    side: int
    features: int
    top: int
    notop: int
    family: str
    head: int = 0  # width of the layer feeding the classifier (features when 0)


TABLE: dict[str, Backbone] = {
    "VGG16": Backbone("vgg16", 224, 512, 138357544, 14714688, "vgg", 4096),
    "VGG19": Backbone("vgg19", 224, 512, 143667240, 20024384, "vgg", 4096),
    "ResNet50": Backbone("resnet50", 224, 2048, 25636712, 23587712, "resnet"),
    "ResNet101": Backbone("resnet101", 224, 2048, 44707176, 42658176, "resnet"),
    "ResNet152": Backbone("resnet152", 224, 2048, 60419944, 58370944, "resnet"),
    "ResNet50V2": Backbone("resnet50v2", 224, 2048, 25613800, 23564800, "resnet"),
    "MobileNet": Backbone("mobilenet_1.00_224", 224, 1024, 4253864, 3228864, "mobilenet"),
    "MobileNetV2": Backbone("mobilenetv2_1.00_224", 224, 1280, 3538984, 2257984, "ceil"),
    "DenseNet121": Backbone("densenet121", 224, 1024, 8062504, 7037504, "densenet"),
    "EfficientNetB0": Backbone("efficientnetb0", 224, 1280, 5330571, 4049571, "ceil"),
    "InceptionV3": Backbone("inception_v3", 299, 2048, 23851784, 21802784, "fixed"),
    "Xception": Backbone("xception", 299, 2048, 22910480, 20861480, "fixed"),
}
_FIXED_OUT = {"InceptionV3": 8, "Xception": 10}

APPLICATIONS: dict[str, str] = {}
"""Qualified name → the backbone's Keras model name (e.g. 'resnet50')."""


def _side(name: str, family: str, x: Dim) -> Dim:
    """Spatial size after the backbone's five stride-2 stages."""
    if not isinstance(x, int):
        return S.floordiv(x, 32) if family != "fixed" else UNKNOWN
    if family == "fixed":
        return _FIXED_OUT[name] if x == TABLE[name].side else UNKNOWN
    for i in range(5):
        if family == "vgg":
            x //= 2
        elif family == "resnet":
            x = (x - 1) // 2 + 1
        elif family == "ceil":
            x = -(-x // 2)
        elif family == "densenet":
            x = -(-x // 2) if i < 2 else x // 2
        elif x % 32 == 0:
            x //= 2
        else:
            return UNKNOWN
    return x


def _params(name: str) -> object:
    def count(a: Args) -> Dim | None:
        bb = TABLE[name]
        if a.bool("include_top") is False:
            return bb.notop
        classes = a.int("classes")
        if classes is None:
            return None
        width = bb.head or bb.features
        return bb.top - (width * 1000 + 1000) + width * classes + classes

    return count


def _template(name: str) -> object:
    def template(a: Args) -> Shape | None:
        shape = a.get("input_shape")
        if isinstance(shape, tuple | list):
            return (B, *(d if isinstance(d, int) else UNKNOWN for d in shape))
        side = TABLE[name].side
        if a.bool("include_top") is not False:
            return (B, side, side, 3)
        return (B, S.sym("H"), S.sym("W"), 3)

    return template


def _validate(a: Args) -> None:
    shape = a.get("input_shape")
    if (
        a.get("weights") == "imagenet"
        and isinstance(shape, tuple | list)
        and len(shape) == 3
        and isinstance(shape[-1], int)
        and shape[-1] != 3
    ):
        raise ShapeError(
            "SH112",
            f"ImageNet weights need 3 input channels, input_shape={tuple(shape)} has {shape[-1]}",
            at_constructor=True,
        )


def _forward(name: str) -> Callable[[RuleCall], Value]:
    def forward(c: RuleCall) -> Value:
        x = c.tensor()
        a = c.args
        bb = TABLE[name]
        if x is None or x.shape is None:
            return unknown_like(x)
        if len(x.shape) != 4:
            c.fail(
                "SH109",
                f"{name} expects a 4D image batch "
                f"(batch, height, width, 3), got {fmt_shape(x.shape)}",
            )
        if a.bool("include_top") is not False:
            return out(x, (x.shape[0], a.dim("classes")))
        h = _side(name, bb.family, x.shape[1])
        w = _side(name, bb.family, x.shape[2])
        pooling = a.str("pooling")
        if pooling in ("avg", "max"):
            return out(x, (x.shape[0], bb.features))
        c.note(f"{name}: /32 → ({S.render(h)}, {S.render(w)}) x {bb.features} features")
        return out(x, (x.shape[0], h, w, bb.features))

    return forward


_SIG = (
    "include_top=True, weights='imagenet', input_tensor=None, input_shape=None, "
    "pooling=None, classes=1000, classifier_activation='softmax', " + KW
)
_MODULES = {
    "VGG16": "vgg16",
    "VGG19": "vgg19",
    "ResNet50": "resnet50",
    "ResNet101": "resnet",
    "ResNet152": "resnet",
    "ResNet50V2": "resnet_v2",
    "MobileNet": "mobilenet",
    "MobileNetV2": "mobilenet_v2",
    "DenseNet121": "densenet",
    "EfficientNetB0": "efficientnet",
    "InceptionV3": "inception_v3",
    "Xception": "xception",
}

for _name, _bb in TABLE.items():
    _names = (f"keras.applications.{_name}", f"keras.applications.{_MODULES[_name]}.{_name}")
    for _q in _names:
        APPLICATIONS[_q] = _bb.keras_name
    keras_layer(
        *_names,
        sig=_SIG,
        params=_params(_name),
        template=_template(_name),
        validate=_validate,
        examples=[
            ok(
                f"applications.{_name}(weights=None, include_top=False, "
                f"input_shape=({_bb.side}, {_bb.side}, 3))",
                (1, _bb.side, _bb.side, 3),
            ),
            ok(
                f"applications.{_name}(weights=None, include_top=False, "
                f"pooling='avg', input_shape=({_bb.side}, {_bb.side}, 3))",
                (1, _bb.side, _bb.side, 3),
            ),
        ]
        if _name in ("ResNet50", "VGG16", "MobileNetV2")
        else [],
    )(_forward(_name))
