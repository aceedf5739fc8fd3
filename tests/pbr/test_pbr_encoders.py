"""PNG (8/16-bit) and EXR (half/float) encoders: exact round trips through independent decoders."""

import io

import numpy as np
import pytest
from PIL import Image

from intrinsix.pbr.exr import decode_exr, encode_exr
from intrinsix.pbr.png import encode_png8, encode_png16, quantize

from pbr_testing import read_png


def test_png16_grey_round_trip_exact_through_pillow():
    values = np.random.default_rng(0).integers(0, 65536, size=(37, 53), dtype=np.uint16)
    values[0, :4] = [0, 1, 65534, 65535]  # both ends and a byte-order-sensitive pair
    data = encode_png16(values)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "I;16" and image.size == (53, 37)
        np.testing.assert_array_equal(np.array(image), values)
    np.testing.assert_array_equal(read_png(data)[..., 0], values)


@pytest.mark.parametrize("channels", [3, 4])
def test_png16_colour_round_trip_exact(channels):
    values = np.random.default_rng(channels).integers(0, 65536, size=(19, 23, channels), dtype=np.uint16)
    data = encode_png16(values)
    np.testing.assert_array_equal(read_png(data), values)
    # Pillow reads 16-bit colour PNGs at 8 bits (the high byte): an independent check of layout and order.
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == ("RGB" if channels == 3 else "RGBA") and image.size == (23, 19)
        np.testing.assert_array_equal(np.array(image), (values >> 8).astype(np.uint8))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_png8_round_trip_exact(channels):
    values = np.random.default_rng(channels).integers(0, 256, size=(11, 13, channels), dtype=np.uint8)
    data = encode_png8(values)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
        np.testing.assert_array_equal(np.array(image).reshape(values.shape), values)
    np.testing.assert_array_equal(read_png(data), values)


def test_quantize_rounds_to_nearest_and_clamps():
    np.testing.assert_array_equal(quantize(np.array([-1.0, 0.0, 0.6 / 255, 0.4 / 255, 1.0, 2.0]), 8),
                                  np.array([0, 0, 1, 0, 255, 255], np.uint8))
    assert quantize(np.array([1 / 65535]), 16)[0] == 1 and quantize(np.array([1.0]), 16)[0] == 65535
    with pytest.raises(ValueError, match="bits must be 8 or 16"):
        quantize(np.zeros(3), 12)
    with pytest.raises(ValueError, match="NaN"):
        quantize(np.array([np.nan]), 8)


def test_png_encoders_reject_bad_arrays():
    with pytest.raises(TypeError, match="uint16"):
        encode_png16(np.zeros((4, 4), np.float32))
    with pytest.raises(TypeError, match="uint8"):
        encode_png8(np.zeros((4, 4), np.uint16))
    with pytest.raises(ValueError, match="C in 1..4"):
        encode_png8(np.zeros((4, 4, 5), np.uint8))


@pytest.mark.parametrize("precision, dtype", [("float", np.float32), ("half", np.float16)])
def test_exr_round_trip(precision, dtype):
    rng = np.random.default_rng(4)
    channels = {name: (rng.standard_normal((17, 29)) * 3).astype(np.float32) for name in ("R", "G", "B")}
    channels["R"][0, 0] = 1e-3
    decoded = decode_exr(encode_exr(channels, precision))
    assert set(decoded) == {"R", "G", "B"}
    for name, values in channels.items():
        assert decoded[name].dtype == dtype and decoded[name].shape == (17, 29)
        # float32 is stored exactly; half keeps the nearest float16 value exactly.
        np.testing.assert_array_equal(decoded[name], values.astype(dtype))


def test_exr_rejects_bad_channels():
    with pytest.raises(ValueError, match="precision must be one of"):
        encode_exr({"Y": np.zeros((2, 2))}, "double")
    with pytest.raises(ValueError, match="one shape"):
        encode_exr({"R": np.zeros((2, 2)), "G": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="NaN"):
        encode_exr({"Y": np.full((2, 2), np.nan)})
    with pytest.raises(ValueError, match="half-float range"):
        encode_exr({"Y": np.full((2, 2), 1e6)}, "half")
