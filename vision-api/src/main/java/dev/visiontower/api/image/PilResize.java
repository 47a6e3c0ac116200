package dev.visiontower.api.image;

/**
 * Resizes 8-bit RGB images exactly like Pillow's {@code Image.resize(size, filter)} (no reducing gap): separable
 * convolution with the filter stretched by the downscale factor (antialiasing), coefficients normalised to sum 1 and
 * converted to 22-bit fixed point, a horizontal pass then a vertical pass, each rounded and clipped to 8 bits.
 */
public final class PilResize {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PilResize() {
    }

    /** Fixed-point coefficients for one axis: per output pixel the first input index, tap count and weights. */
    private record Coefficients(int[] first, int[] count, int[] weights, int kernelSize) {
    }

    /** Coefficients of outputs {@code from <= xx < to} of an {@code inSize -> outSize} axis (index 0 is {@code from}). */
    private static Coefficients coefficients(int inSize, int outSize, ResampleFilter filter, int from, int to) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filter.support() * filterScale;
        int kernelSize = (int) Math.ceil(support) * 2 + 1;
        int n = to - from;
        int[] first = new int[n];
        int[] count = new int[n];
        int[] weights = new int[Math.multiplyExact(n, kernelSize)];
        double[] k = new double[kernelSize];
        for (int xx = from; xx < to; xx++) {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) {
                xmin = 0;
            }
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) {
                xmax = inSize;
            }
            xmax -= xmin;
            double ww = 0.0;
            for (int x = 0; x < xmax; x++) {
                double w = filter.weight((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++) {
                double v = ww != 0.0 ? k[x] / ww : k[x];
                weights[(xx - from) * kernelSize + x] = v < 0
                        ? (int) (-0.5 + v * (1 << PRECISION_BITS))
                        : (int) (0.5 + v * (1 << PRECISION_BITS));
            }
            first[xx - from] = xmin;
            count[xx - from] = xmax;
        }
        return new Coefficients(first, count, weights, kernelSize);
    }

    private static int clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    /** Resizes to {@code outWidth x outHeight}. Returns the input itself when the size is unchanged (as PIL copies). */
    public static RgbImage resize(RgbImage in, int outWidth, int outHeight, ResampleFilter filter) {
        if (outWidth <= 0 || outHeight <= 0) {
            throw new IllegalArgumentException("target size must be positive, got " + outWidth + "x" + outHeight);
        }
        if (outWidth == in.width() && outHeight == in.height()) {
            return in;
        }
        return resizeWindow(in, outWidth, outHeight, filter, 0, 0, outWidth, outHeight);
    }

    /**
     * The {@code width x height} window at {@code (left, top)} of what {@link #resize} would return, computing only
     * the pixels in it (a window reaching outside the resized image is padded with zeros). Resize-then-crop with
     * memory and time bounded by the crop, whatever the image's aspect ratio: every output pixel depends only on its
     * own coefficients, so the values are those of the full resize.
     */
    public static RgbImage resizeWindow(RgbImage in, int outWidth, int outHeight, ResampleFilter filter, int left,
                                        int top, int width, int height) {
        if (outWidth <= 0 || outHeight <= 0 || width <= 0 || height <= 0) {
            throw new IllegalArgumentException("sizes must be positive, got " + outWidth + "x" + outHeight
                    + " and a " + width + "x" + height + " window");
        }
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
        int x0 = Math.max(left, 0);
        int x1 = (int) Math.min((long) left + width, outWidth);
        int y0 = Math.max(top, 0);
        int y1 = (int) Math.min((long) top + height, outHeight);
        if (x0 >= x1 || y0 >= y1) {
            return new RgbImage(width, height, out);
        }
        boolean horizontal = outWidth != in.width();
        boolean vertical = outHeight != in.height();
        Coefficients vert = vertical ? coefficients(in.height(), outHeight, filter, y0, y1) : null;
        // source rows the window needs (first and first + count grow with the output index)
        int rowFirst = vertical ? vert.first()[0] : y0;
        int rowLast = vertical ? vert.first()[y1 - y0 - 1] + vert.count()[y1 - y0 - 1] : y1;

        // horizontal pass (or a copy, when the width is unchanged: PIL then skips the pass and its rounding)
        byte[] src = in.rgb();
        int srcW = in.width();
        int tw = x1 - x0;
        int th = rowLast - rowFirst;
        byte[] tmp = new byte[Math.multiplyExact(Math.multiplyExact(tw, th), 3)];
        Coefficients hor = horizontal ? coefficients(srcW, outWidth, filter, x0, x1) : null;
        for (int y = 0; y < th; y++) {
            int srcRow = (y + rowFirst) * srcW * 3;
            int dstRow = y * tw * 3;
            if (!horizontal) {
                System.arraycopy(src, srcRow + x0 * 3, tmp, dstRow, tw * 3);
                continue;
            }
            for (int xx = 0; xx < tw; xx++) {
                int xmin = hor.first()[xx];
                int n = hor.count()[xx];
                int kOff = xx * hor.kernelSize();
                int r = 1 << (PRECISION_BITS - 1);
                int g = r;
                int b = r;
                for (int x = 0; x < n; x++) {
                    int w = hor.weights()[kOff + x];
                    int p = srcRow + (x + xmin) * 3;
                    r += (src[p] & 0xFF) * w;
                    g += (src[p + 1] & 0xFF) * w;
                    b += (src[p + 2] & 0xFF) * w;
                }
                int d = dstRow + xx * 3;
                tmp[d] = (byte) clip8(r);
                tmp[d + 1] = (byte) clip8(g);
                tmp[d + 2] = (byte) clip8(b);
            }
        }

        // vertical pass (or a copy), into the window
        for (int yy = y0; yy < y1; yy++) {
            int dstRow = ((yy - top) * width + (x0 - left)) * 3;
            if (!vertical) {
                System.arraycopy(tmp, (yy - rowFirst) * tw * 3, out, dstRow, tw * 3);
                continue;
            }
            int ymin = vert.first()[yy - y0] - rowFirst;
            int n = vert.count()[yy - y0];
            int kOff = (yy - y0) * vert.kernelSize();
            for (int xx = 0; xx < tw; xx++) {
                int r = 1 << (PRECISION_BITS - 1);
                int g = r;
                int b = r;
                for (int y = 0; y < n; y++) {
                    int w = vert.weights()[kOff + y];
                    int p = ((y + ymin) * tw + xx) * 3;
                    r += (tmp[p] & 0xFF) * w;
                    g += (tmp[p + 1] & 0xFF) * w;
                    b += (tmp[p + 2] & 0xFF) * w;
                }
                int d = dstRow + xx * 3;
                out[d] = (byte) clip8(r);
                out[d + 1] = (byte) clip8(g);
                out[d + 2] = (byte) clip8(b);
            }
        }
        return new RgbImage(width, height, out);
    }
}
