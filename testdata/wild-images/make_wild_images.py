"""Makes the wild-image fixtures: one photo-like scene encoded the ways files arrive from cameras and the web, and
what Hugging Face's loader makes of each (transformers.image_utils.load_image: PIL open, ImageOps.exif_transpose,
convert("RGB")), saved as <file>.rgb.npy (uint8 [H, W, 3]).

Run with Pillow and transformers installed (made with Pillow 12.3.0, transformers 5.18.0):
    python make_wild_images.py OUTDIR
The scene is drawn here from a seeded generator (a gradient sky, the shipped red-triangle sample pasted in, film-like
noise), so no third-party photo's licence is involved.
"""
import io
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from transformers.image_utils import load_image
from transformers import CLIPImageProcessorPil

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
here = Path(__file__).resolve().parent
rng = np.random.default_rng(20261203)

W, H = 96, 64  # landscape, so that a wrong rotation changes the shape
y, x = np.mgrid[0:H, 0:W].astype(np.float32)
sky = np.stack([40 + 150 * y / H, 90 + 100 * x / W, 220 - 120 * y / H], axis=-1)
scene = sky + rng.normal(0, 9, size=(H, W, 3))
shape = Image.open(here / ".." / ".." / "samples" / "images" / "07-red-triangle.png").convert("RGB").resize((40, 40))
scene[12:52, 40:80] = 0.5 * scene[12:52, 40:80] + 0.5 * np.asarray(shape, dtype=np.float32)
rgb = Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8), "RGB")
alpha = Image.fromarray((np.clip(x * 255 / W + 30, 0, 255)).astype(np.uint8), "L")

made = []


def save(name, im, **kw):
    im.save(out / name, **kw)
    made.append(name)


def exif(orientation):
    e = Image.Exif()
    e[0x0112] = orientation
    return e.tobytes()


# JPEG as cameras and the web write it
save("jpeg-420.jpg", rgb, quality=90, subsampling=2)
save("jpeg-422.jpg", rgb, quality=90, subsampling=1)
save("jpeg-444.jpg", rgb, quality=95, subsampling=0)
save("jpeg-progressive.jpg", rgb, quality=85, progressive=True)
save("jpeg-grey.jpg", rgb.convert("L"), quality=90)
cmyk = np.asarray(rgb.convert("CMYK")).copy()
cmyk[..., 3] = (y * 90 / H).astype(np.uint8)  # some black ink too, so that K takes part in the conversion
save("jpeg-cmyk.jpg", Image.fromarray(cmyk, "CMYK"), quality=95)  # Adobe APP14, inverted CMYK, as Photoshop writes it
for o in range(1, 9):  # a phone stores the sensor's pixels and says how to turn them
    save(f"jpeg-exif-{o}.jpg", rgb, quality=90, exif=exif(o))

# PNG in each colour type
save("png-rgb.png", rgb)
save("png-rgba.png", Image.merge("RGBA", (*rgb.split(), alpha)))
save("png-grey-alpha.png", Image.merge("LA", (rgb.convert("L"), alpha)))
pal = rgb.quantize(colors=64)
save("png-palette.png", pal)
pal_t = pal.copy()
pal_t.info["transparency"] = 3
save("png-palette-transparent.png", pal_t, transparency=3)
save("png-1bit.png", rgb.convert("1"))
save("png-exif-6.png", rgb, exif=exif(6))
grey16 = (np.asarray(rgb.convert("L"), dtype=np.uint32) * 257).astype(np.uint16)
save("png-grey16.png", Image.fromarray(grey16))  # Pillow reads it as I;16: convert("RGB") clips at 255


def raw_png(name, arr, colour_type):
    """A 16-bit PNG written chunk by chunk (Pillow writes 16 bits only for grey)."""
    h, w = arr.shape[:2]
    rows = b"".join(b"\0" + arr[i].astype(">u2").tobytes() for i in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    (out / name).write_bytes(data)
    made.append(name)


a16 = np.asarray(rgb, dtype=np.uint32) * 257 + rng.integers(0, 256, size=(H, W, 3))
raw_png("png-rgb16.png", a16, 2)
raw_png("png-rgba16.png", np.concatenate([a16, np.full((H, W, 1), 40000)], axis=-1), 6)
raw_png("png-grey-alpha16.png", np.stack([a16[..., 1], np.full((H, W), 50000)], axis=-1), 4)

# the other formats load_image meets
save("webp-lossy.webp", rgb, quality=90)
save("webp-lossless.webp", rgb, lossless=True)
save("webp-alpha-lossless.webp", Image.merge("RGBA", (*rgb.split(), alpha)), lossless=True)
frames = [rgb.quantize(colors=128), ImageOps.invert(rgb).quantize(colors=128)]
frames[0].save(out / "gif-animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
made.append("gif-animated.gif")
save("bmp-rgb.bmp", rgb)
save("tiff-rgb.tif", rgb)
save("tiff-lzw.tif", rgb, compression="tiff_lzw")

for name in made:
    pixels = np.asarray(load_image(str(out / name)), dtype=np.uint8)
    np.save(out / (name + ".rgb.npy"), pixels)

# pixel_values as transformers' CLIP processor makes them (64 px), for two files whose decoding differs most
proc = CLIPImageProcessorPil(size={"shortest_edge": 64}, crop_size={"height": 64, "width": 64})
for name in ["jpeg-exif-6.jpg", "jpeg-cmyk.jpg"]:
    pv = proc(images=load_image(str(out / name)), return_tensors="np")["pixel_values"]
    np.save(out / (name + ".pixel_values.npy"), pv.astype(np.float32))
print(len(made), "files")
