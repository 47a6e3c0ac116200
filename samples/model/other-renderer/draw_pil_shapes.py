"""Coloured shapes drawn with Pillow (not Java 2D, which draws the training pictures), to measure how the bundled
model's zero-shot classification carries over to pictures made by another program.

    python3 draw_pil_shapes.py OUT_DIR [--labels 9|30] [--count N] [--size PX] [--seed S]

Writes OUT_DIR/NNNN.png and OUT_DIR/captions.jsonl ({"image", "text", "shape", "color"}). Every picture: a linear
gradient between two random light colours, one shape in a CSS-named colour with a black outline, at a random size
and position, polygons slightly rotated. --labels 9: red/green/blue x circle/square/triangle; 30: every shape and
colour of make-shapes.
"""
import argparse
import json
import math
import os
import random

from PIL import Image, ImageDraw

COLOURS = {"red": (255, 0, 0), "green": (0, 128, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
           "purple": (128, 0, 128), "orange": (255, 165, 0)}
SHAPES = ["circle", "square", "triangle", "star", "cross"]


def polygon(shape, cx, cy, r, angle):
    if shape == "square":
        pts = [(-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)]
    elif shape == "triangle":
        pts = [(math.cos(-math.pi / 2 + k * 2 * math.pi / 3), math.sin(-math.pi / 2 + k * 2 * math.pi / 3))
               for k in range(3)]
    elif shape == "star":
        pts = [((1 if k % 2 == 0 else 0.42) * math.cos(-math.pi / 2 + k * math.pi / 5),
                (1 if k % 2 == 0 else 0.42) * math.sin(-math.pi / 2 + k * math.pi / 5)) for k in range(10)]
    else:  # cross
        t = 0.33
        pts = [(-t, -1), (t, -1), (t, -t), (1, -t), (1, t), (t, t), (t, 1), (-t, 1), (-t, t), (-1, t), (-1, -t),
               (-t, -t)]
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + r * (x * c - y * s), cy + r * (x * s + y * c)) for x, y in pts]


def gradient(size, rnd):
    a = [rnd.randint(150, 240) for _ in range(3)]
    b = [rnd.randint(150, 240) for _ in range(3)]
    img = Image.new("RGB", (size, size))
    px = img.load()
    for y in range(size):
        t = y / (size - 1)
        row = tuple(int(a[i] * (1 - t) + b[i] * t) for i in range(3))
        for x in range(size):
            px[x, y] = row
    return img


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--labels", type=int, choices=[9, 30], default=9)
    p.add_argument("--count", type=int, default=270)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rnd = random.Random(a.seed)
    colours = ["red", "green", "blue"] if a.labels == 9 else list(COLOURS)
    shapes = ["circle", "square", "triangle"] if a.labels == 9 else SHAPES
    labels = [(s, c) for s in shapes for c in colours]
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "captions.jsonl"), "w") as f:
        for i in range(a.count):
            shape, colour = labels[i % len(labels)]
            img = gradient(a.size, rnd)
            d = ImageDraw.Draw(img)
            r = a.size * rnd.uniform(0.18, 0.38)
            cx, cy = rnd.uniform(r, a.size - r), rnd.uniform(r, a.size - r)
            width = rnd.randint(2, 4)
            if shape == "circle":
                d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=COLOURS[colour], outline=(0, 0, 0), width=width)
            else:
                d.polygon(polygon(shape, cx, cy, r, math.radians(rnd.uniform(-15, 15))), fill=COLOURS[colour],
                          outline=(0, 0, 0), width=width)
            name = "%04d.png" % i
            img.save(os.path.join(a.out, name))
            f.write(json.dumps({"image": name, "text": "a %s %s" % (colour, shape), "shape": shape,
                                "color": colour}) + "\n")


if __name__ == "__main__":
    main()
