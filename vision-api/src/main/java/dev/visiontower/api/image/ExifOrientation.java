package dev.visiontower.api.image;

/**
 * EXIF orientation (tag 274): the transposition that turns the stored pixels upright, as PIL's
 * {@code ImageOps.exif_transpose} applies it (2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise,
 * 7 transverse, 8 rotate 90 counter-clockwise; 1 and unknown values leave the image as it is).
 */
final class ExifOrientation {
    private ExifOrientation() {
    }

    static RgbImage apply(RgbImage in, int orientation) {
        if (orientation < 2 || orientation > 8) {
            return in;
        }
        int w = in.width();
        int h = in.height();
        boolean swap = orientation >= 5;
        int ow = swap ? h : w;
        int oh = swap ? w : h;
        byte[] src = in.rgb();
        byte[] out = new byte[src.length];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sx;
                int sy;
                switch (orientation) {
                    case 2 -> { sx = w - 1 - x; sy = y; }
                    case 3 -> { sx = w - 1 - x; sy = h - 1 - y; }
                    case 4 -> { sx = x; sy = h - 1 - y; }
                    case 5 -> { sx = y; sy = x; }
                    case 6 -> { sx = y; sy = h - 1 - x; }
                    case 7 -> { sx = w - 1 - y; sy = h - 1 - x; }
                    default -> { sx = w - 1 - y; sy = x; }
                }
                int s = (sy * w + sx) * 3;
                int o = (y * ow + x) * 3;
                out[o] = src[s];
                out[o + 1] = src[s + 1];
                out[o + 2] = src[s + 2];
            }
        }
        return new RgbImage(ow, oh, out);
    }
}
